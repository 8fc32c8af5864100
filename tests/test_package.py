"""The package and the template are one product with one version: the ml-gitops version a project pins is the
package's own, and the changelog's newest entry names it."""

import re
import tomllib

import yaml

from .conftest import TEMPLATE

PACKAGE = TEMPLATE / "package"


def package_version() -> str:
    return tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]["version"]


def test_the_generated_project_pins_the_package_s_own_version():
    pyproject = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    assert re.findall(r'"ml-gitops==([^"]+)"', pyproject) == [package_version()]


def test_the_package_says_its_version_where_python_reads_it():
    init = (PACKAGE / "src" / "ml_gitops" / "__init__.py").read_text()
    assert re.search(r'^__version__ = "([^"]+)"$', init, re.MULTILINE).group(1) == package_version()


def test_the_changelog_s_newest_entry_is_this_version():
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    assert re.search(r"^## (\S+)", changelog, re.MULTILINE).group(1) == package_version()


SHARED = TEMPLATE / ".github" / "workflows"
PROJECT_WORKFLOWS = TEMPLATE / "{{cookiecutter.project_slug}}" / ".github"
CALLER_USES = re.compile(
    r"^    uses: TEMPLATE_REPOSITORY/\.github/workflows/([\w.-]+\.yml)@TEMPLATE_COMMIT # v(\S+)$",
    re.MULTILINE,
)


def callers() -> dict[str, str]:
    return {
        path.relative_to(PROJECT_WORKFLOWS).as_posix(): path.read_text()
        for path in sorted(PROJECT_WORKFLOWS.glob("workflows*/*.yml"))
        if CALLER_USES.search(path.read_text())
    }


def test_each_caller_is_short_and_calls_a_shared_workflow_of_this_version():
    every = {
        path.relative_to(PROJECT_WORKFLOWS).as_posix() for path in PROJECT_WORKFLOWS.glob("workflows*/*.yml")
    }
    assert set(callers()) == every, f"not callers: {every - set(callers())}"
    for name, text in callers().items():
        assert len(text.splitlines()) <= 40, (
            f"{name}: a caller holds its triggers, permissions and `uses:` only"
        )
        for called, version in CALLER_USES.findall(text):
            assert version == package_version(), f"{name} calls {called} of v{version}"
            shared = SHARED / called
            assert shared.is_file(), f"{name} calls {called}, which .github/workflows does not hold"
            assert "workflow_call" in yaml.safe_load(shared.read_text())[True], f"{called} is not callable"


def test_each_shared_workflow_checks_that_the_project_installs_its_version():
    """A caller bumped without the pin (or the reverse) fails at its first step with one line, never half-runs."""
    for name in {called for text in callers().values() for called, _ in CALLER_USES.findall(text)}:
        jobs = yaml.safe_load((SHARED / name).read_text())["jobs"].values()
        runs = [step.get("run", "") for job in jobs for step in job["steps"]]
        checks = [run for run in runs if "check-workflows" in run]
        assert checks, f"{name} never checks the installed ml-gitops' version"
        assert set(checks) == {f"uv run --locked python -m ml_gitops check-workflows {package_version()}"}, (
            name
        )


def test_each_caller_passes_exactly_the_inputs_its_shared_workflow_declares():
    """actionlint cannot read a workflow in another repository, so this checks what it would: no unknown input, no
    required one missing."""
    for name, text in callers().items():
        for job in yaml.safe_load(text)["jobs"].values():
            called = yaml.safe_load(
                (SHARED / re.search(r"workflows/([\w.-]+\.yml)@", job["uses"])[1]).read_text()
            )
            declared = (called[True]["workflow_call"] or {}).get("inputs") or {}
            given = set(job.get("with") or {})
            assert given <= set(declared), f"{name} passes inputs {given - set(declared)} it does not declare"
            required = {key for key, spec in declared.items() if spec.get("required")}
            assert required <= given, f"{name} leaves out required inputs {required - given}"


# ml_gitops commands that read the checkout and call GitHub, nothing more: a job that runs only these (and `make
# install`) needs neither the pipeline's tools nor the dev ones.
GITHUB_ONLY = {
    "check-workflows",
    "check-artifact",
    "set-status",
    "post-report",
    "check-reviewer",
    "staging-comment",
    "publish-release",
    "attestation-status",
    "shadow-ask",
    "shadow-record",
    "shadow-stop",
}
ML_GITOPS_COMMAND = re.compile(r"uv run --locked python -m ml_gitops ([\w-]+)")
MAKE_TARGETS = re.compile(r"\bmake((?: [\w-]+)+)")


def test_a_job_that_only_calls_github_installs_no_pipeline_or_dev_tools():
    """UV_NO_DEFAULT_GROUPS leaves the pipeline and dev groups (DVC, GTO, matplotlib, pytest, ...) out of exactly
    the jobs whose commands need neither: less third-party code beside their tokens, and a smaller install."""
    for path in sorted(SHARED.glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            runs = "\n".join(step.get("run", "") for step in job.get("steps", []))
            commands = set(ML_GITOPS_COMMAND.findall(runs))
            targets = {target for found in MAKE_TARGETS.findall(runs) for target in found.split()}
            github_only = bool(commands) and commands <= GITHUB_ONLY and targets <= {"install"}
            leaves_out = (job.get("env") or {}).get("UV_NO_DEFAULT_GROUPS") == "1"
            assert leaves_out == github_only, (
                f"{path.name} job {name}: runs {sorted(commands)} and make {sorted(targets)}, "
                f"{'but leaves' if leaves_out else 'yet installs'} the pipeline and dev groups"
            )


EXPRESSION = re.compile(r"\$\{\{\s*([\w.]+)(?:\s*\|\|\s*'([^']*)')?\s*\}\}")


def concurrency_group(workflow: dict, event: dict) -> str:
    """A workflow's concurrency group for an event: each `${{ github.event.<path> }}` or `${{ inputs.<name> }}`
    read from the payload, with `|| '<text>'` for a value the payload lacks or leaves empty (any other expression is
    refused, so the check never passes on what it did not read)."""

    def value(match: re.Match) -> str:
        path = match[1].split(".")
        if path[0] == "inputs":  # a dispatch's inputs are its payload's (github.event.inputs)
            path = ["github", "event", *path]
        assert path[:2] == ["github", "event"], f"the group reads {match[1]}, which this check does not know"
        found = event
        for key in path[2:]:
            found = found.get(key) if isinstance(found, dict) else None
        return str(found) if found not in (None, "") else _fallback(match)

    return EXPRESSION.sub(value, workflow["concurrency"]["group"])


def _fallback(match: re.Match) -> str:
    assert match[2] is not None, f"the payload has no {match[1]}"
    return match[2]


def test_a_review_that_does_not_approve_never_cancels_a_staging_deployment():
    """Every submitted review starts promote; only an approval deploys. With cancel-in-progress, a later comment or
    request for changes (anyone can submit one) in the same group cancelled the approved run's deployment."""
    reviewed = {
        name: yaml.safe_load(text) for name, text in callers().items() if "pull_request_review:" in text
    }
    assert sorted(reviewed) == ["workflows-container/promote.yml", "workflows/promote.yml"]
    for name, workflow in reviewed.items():
        approved, commented = (
            concurrency_group(workflow, {"pull_request": {"number": 7}, "review": {"state": state}})
            for state in ("approved", "commented")
        )
        assert approved != commented, f"{name}: a comment joins the group of the approval's deployment"


def test_a_release_waiting_for_production_never_drops_the_next_version():
    """GitHub's concurrency: "Any existing pending job or workflow in the same concurrency group ... will be
    canceled". One group for every release let a third dispatch cancel the second, pending behind the first's
    production approval: a tagged version never released. Each version has its own group."""
    dispatched = {
        name: yaml.safe_load(text) for name, text in callers().items() if name.endswith("/release.yml")
    }
    assert sorted(dispatched) == ["workflows-container/release.yml", "workflows/release.yml"]
    for name, workflow in dispatched.items():
        groups = {
            concurrency_group(workflow, {"inputs": {"version": v}}) for v in ("v1.2.0", "v1.3.0", "v1.1.0")
        }
        assert len(groups) == 3, f"{name}: two versions share a group"
        assert workflow["concurrency"]["cancel-in-progress"] is False, f"{name}: a release is never cancelled"


def test_only_the_shadow_label_and_a_dispatch_share_the_shadow_group():
    """Every label added or removed on any pull request starts shadow.yml. In one group for them all (GitHub keeps one
    pending run per group), a triage label elsewhere cancelled the pending removal of `shadow`: the candidate went on
    scoring production traffic after its label was gone."""
    workflow = yaml.safe_load(callers()["workflows/shadow.yml"])
    shadow, removed, dispatched, other = (
        concurrency_group(workflow, event)
        for event in (
            {"action": "labeled", "label": {"name": "shadow"}, "pull_request": {"number": 7}},
            {"action": "unlabeled", "label": {"name": "shadow"}, "pull_request": {"number": 8}},
            {"inputs": {"challenger": "v1.2.0"}},
            {"action": "labeled", "label": {"name": "triage"}, "pull_request": {"number": 9}},
        )
    )
    assert shadow == removed == dispatched, "every change of the one challenger waits for the one before"
    assert other != shadow, "a label that asks for nothing never cancels one that does"
