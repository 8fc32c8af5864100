"""The update journey: a project baked at ml-gitops N takes the bump to N+1 as one pull request, the way Dependabot's
`ml-gitops` group proposes it (the pin, its source and uv.lock, and every caller's `uses:`), and nothing else.

N+1 is the template's next commit, served by the fake's Git host beside N: its package and shared workflows say
version N+1, and its report writes one more line. The bump pull request takes the model review path like any
other: its report, written by N+1's code and posted by main's, shows that line. A bump of the pin alone (the callers
left at N) stops at the first step of model-pr.yml with the one line that says what to do.
"""

import os
import re
import subprocess

import pytest

from ..conftest import run
from .people import commit_change
from .shared_workflows import CALLER_LINE, COMMIT_ENV

pytestmark = pytest.mark.slow
NEXT = "0.1.1"
NEW_LINE = "This report was written by ml-gitops 0.1.1."


def git(*args: str, cwd) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **COMMIT_ENV}
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def replace(path, old, new, count=1):
    text = path.read_text()
    assert text.count(old) >= count, f"{path.name} no longer holds {old!r}: update the journey"
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def next_version(tmp_path_factory, fake, template, project):
    """The template's next version, N+1, committed on top of N and served under the same repository; returns the
    checkout (its package is what the bump installs) and the commit."""
    bare, _ = template
    checkout = tmp_path_factory.mktemp("next") / "template"
    subprocess.run(["git", "clone", "--quiet", str(bare), str(checkout)], check=True)
    package = checkout / "package"
    replace(package / "pyproject.toml", 'version = "0.1.0"', f'version = "{NEXT}"')
    replace(package / "src" / "ml_gitops" / "__init__.py", '__version__ = "0.1.0"', f'__version__ = "{NEXT}"')
    report = package / "src" / "ml_gitops" / "review" / "report.py"
    replace(report, "_reproduce_section(head_sha),", f"_reproduce_section(head_sha), {NEW_LINE!r},")
    for shared in (checkout / ".github" / "workflows").glob("*.yml"):
        text = shared.read_text()
        shared.write_text(text.replace("check-workflows 0.1.0", f"check-workflows {NEXT}"))
    git("add", "-A", cwd=checkout)
    git("commit", "--quiet", "-m", f"ml-gitops {NEXT}", cwd=checkout)
    repository = re.search(
        r"uses: ([\w.-]+/[\w.-]+)/\.github/", (project / ".github/workflows/ci.yml").read_text()
    )[1]
    fake.serve_repository(repository, checkout / ".git")
    return checkout, git("rev-parse", "HEAD", cwd=checkout)


def bump(project, checkout, commit, callers=True):
    """What Dependabot's ml-gitops group changes: the pin and its source (then uv lock), and the callers."""

    def change():
        pyproject = project / "pyproject.toml"
        replace(pyproject, '"ml-gitops==0.1.0"', f'"ml-gitops=={NEXT}"')
        text, named = re.subn(
            r"^ml-gitops = \{ path = .* \}$",
            f'ml-gitops = {{ path = "{checkout / "package"}" }}',
            pyproject.read_text(),
            flags=re.M,
        )
        assert named == 1
        pyproject.write_text(text)
        run(["uv", "lock", "--quiet"], cwd=project)
        if callers:
            for caller in (project / ".github" / "workflows").glob("*.yml"):
                text = CALLER_LINE.sub(lambda match: match[1] + commit, caller.read_text())
                caller.write_text(text.replace(" # v0.1.0\n", f" # v{NEXT}\n"))

    return change


def test_the_bump_to_the_next_version_is_one_pull_request_whose_report_shows_what_changed(
    project, fake, github, people, next_version
):
    checkout, commit = next_version
    bob = people["bob"]
    head = commit_change(project, "ml-gitops-next", bump(project, checkout, commit), f"ml-gitops {NEXT}")
    bob.push(project, "ml-gitops-next:refs/heads/ml-gitops-next")
    fake.take_events()
    number = bob.open_pull_request("ml-gitops-next", f"Bump ml-gitops to {NEXT}")
    runs = github.settle()
    assert [(r.workflow, r.conclusion) for r in runs] == [
        ("ci.yml", "not run here"),
        ("model-pr.yml", "success"),
        ("model-report.yml", "success"),
    ], [r.output[-3000:] for r in runs if r.conclusion == "failure"]
    assert (
        f"ml-gitops {NEXT}: the shared workflows and the installed package are one version" in runs[1].output
    )
    changed = set(fake.changed_files(number))
    owners = {name for name in changed if not name.startswith(".github/workflows/")} - {
        "pyproject.toml",
        "uv.lock",
    }
    assert owners == set(), f"the bump changed the owner's files {owners}"
    assert {name for name in changed if name.startswith(".github/workflows/")}, (
        "the callers moved with the pin"
    )
    added = [
        line
        for line in git("diff", "main", head, "--", "pyproject.toml", cwd=project).splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert len(added) == 2, f"pyproject.toml: only the pin and its source move, not {added}"
    (comment,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    assert NEW_LINE in comment["body"], "the new version's report line reaches the comment"
    (status,) = fake.statuses_of(head, "model-gate")
    assert status["state"] == "success", status


def test_a_bump_of_the_pin_alone_stops_at_the_first_step_and_says_so(
    project, fake, github, people, next_version
):
    checkout, commit = next_version
    bob = people["bob"]
    commit_change(project, "pin-only", bump(project, checkout, commit, callers=False), "Pin only")
    bob.push(project, "pin-only:refs/heads/pin-only")
    fake.take_events()
    bob.open_pull_request("pin-only", "Bump the pin alone")
    runs = github.settle()
    assert [(r.workflow, r.conclusion) for r in runs][:2] == [
        ("ci.yml", "not run here"),
        ("model-pr.yml", "failure"),
    ]
    assert (
        f"error: the shared workflows are ml-gitops 0.1.0, but this project installs ml-gitops {NEXT}: move the "
        "workflows' ref and the ml-gitops pin in pyproject.toml to one version, in one pull request "
        "(docs/updates.md)"
    ) in runs[1].output
    assert "model-inputs" not in runs[1].output.split("check-workflows", 1)[1], "nothing ran after the check"
