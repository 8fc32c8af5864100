"""Attacks on a generated project, replayed under GitHub's rules the way an attacker would run them: a fork's pull
request (anyone on GitHub) and a collaborator with write access. Each asserts that the attack fails with a clear
message, changes nothing and leaks nothing; docs/security.md lists each with its defence.

Shown elsewhere: model files that run code when loaded (tests/test_faults.py, package/tests/core/
test_model_files.py); a planted report comment and approvals by non-writers or of an older commit
(test_pr_review.py); a poisoned DVC remote, a fork's `retrain/` branch and tags only the automation's App may
create (test_retrain.py); event values re-expanded by make (tests/test_options.py); a published image tag
overwritten (package/tests/release/test_images.py).
"""

import base64
import json
import re
import shutil

import pytest
import yaml

from ..conftest import TEMPLATE, run
from .conftest import ASSET_HOST, WORSE, give_the_automation_an_app, rendered, set_model
from .people import commit_change, sync_main

pytestmark = pytest.mark.slow

# What a fork author adds to the report their own code writes: a phishing link and an image in raw HTML, a bare
# address, a fence that would swallow the rest of the comment, and mentions that would notify a team and the owner.
INJECTION = (
    '<a href="https://evil.example/login">Sign in again</a> '
    '<picture><source srcset="https://evil.example/p.png"></picture>\n\n'
    "See https://evil.example/bare\n\n"
    "~~~\n<b>unclosed</b>\n\n"
    "Thanks @acme/ml-team and @ada!"
)
# ... and what the artifact check refuses outright: an image from another site (a tracking pixel).
PIXEL = "![pixel](https://evil.example/p.png)"


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def rewrite(path, old, new):
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update the attack"
    path.write_text(text.replace(old, new))


def bring_own_machinery(project):
    """The fork's own copy of ml-gitops, committed beside its model and named as the project's source of it."""
    machinery = project / "vendor" / "ml-gitops"
    shutil.copytree(
        TEMPLATE / "package", machinery, ignore=shutil.ignore_patterns(".venv", "__pycache__", "tests")
    )
    pyproject = project / "pyproject.toml"
    text, named = re.subn(
        r"^ml-gitops = \{ path = .* \}$",
        'ml-gitops = { path = "vendor/ml-gitops" }',
        pyproject.read_text(),
        flags=re.M,
    )
    assert named == 1, "pyproject.toml no longer names ml-gitops' folder: update the attack"
    pyproject.write_text(text)
    return machinery


def cheat(project):
    """A worse model, its own machinery whose gate always passes, a tolerance of 1.0 and a report that injects: one fork commit."""

    def change():
        set_model(project, WORSE)
        params = project / "params.yaml"
        data = yaml.safe_load(params.read_text())
        data["gate"]["tolerance"] = 1.0
        params.write_text(yaml.safe_dump(data, sort_keys=False))
        machinery = bring_own_machinery(project)
        review = machinery / "src" / "ml_gitops" / "review"
        rewrite(  # its gate passes whatever it is given
            review / "gate.py",
            "    metric = config.gate.metric\n    if undefined := _undefined(",
            '    return PASSED, "within the tolerance"\n    metric = config.gate.metric\n    if undefined := _undefined(',
        )
        rewrite(
            review / "report.py",
            "_reproduce_section(head_sha),",
            f"_reproduce_section(head_sha), {INJECTION!r},",
        )
        run(["uv", "lock", "--quiet"], cwd=project)
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)

    return change


@pytest.fixture(scope="module")
def fork_pull(project, fake, github, people):
    """mallory's fork pull request that cheats the gate, once its runs have settled."""
    sync_main(project, people["mallory"])
    head = commit_change(project, "cheat", cheat(project), "Faster model")
    number = fake.open_fork_pull_request("mallory", "mallory/churn", "cheat", project, "Faster model")
    return number, head, github.settle()


def test_a_fork_cannot_pass_the_gate_with_its_own_gate_code_tolerance_or_report(fork_pull, fake):
    number, head, runs = fork_pull
    assert started(runs)[1:] == [("model-pr.yml", "success"), ("model-report.yml", "success")]
    assert "gate passed" in runs[1].output, "the fork's own gate passed its worse model"
    (status,) = fake.statuses_of(head, "model-gate")
    assert (status["state"], status["description"]) == ("failure", "The candidate model failed the gate")
    assert status["app_id"] == 15368, "set by GitHub Actions, from model-report.yml on main"
    (comment,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    body = comment["body"]
    headline = body.split("\n")[1]
    assert headline == "## Model report: ❌ gate failed", "the trusted verdict, not the fork's"
    assert "may drop by at most 0.005 (params.yaml on the default branch)" in body, (
        "main's tolerance, not 1.0"
    )
    assert "✅ gate passed" not in body


def test_a_fork_s_report_carries_no_html_outside_links_or_mentions(fork_pull, fake):
    """The posted comment as GitHub renders it (cmark-gfm with its autolink and tagfilter extensions): what the
    fork's report wrote is there as text, and none of it is a link, an image, raw HTML, a heading or a mention."""
    number, _, _ = fork_pull
    (comment,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    shown = rendered.render(comment["body"])
    assert any('<a href="https://evil.example/login">' in code for code in shown.code), "shown as text"
    assert not [link for link in shown.links if "evil.example" in link], "no link to another site"
    assert not [image for image in shown.images if not image.startswith(ASSET_HOST)], (
        "images are published plots"
    )
    assert set(shown.raw_tags) <= {"details", "summary"}, "no raw HTML of the fork's"
    assert shown.headings[0] == "Model report: ❌ gate failed", "the trusted verdict heads the comment"
    assert set(shown.headings[1:]) <= {"Metrics", "Plots"}, "every heading is the trusted side's"
    assert shown.mentions == [], "nobody is notified"


def test_a_report_with_an_image_from_another_site_is_refused_and_its_status_fails(
    fork_pull, project, fake, github
):
    number, _, _ = fork_pull
    (before,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    report = project / "vendor" / "ml-gitops" / "src" / "ml_gitops" / "review" / "report.py"

    def pixel():
        rewrite(report, f"{INJECTION!r},", f"{INJECTION + PIXEL!r},")
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)

    commit_change(project, "cheat", pixel, "Nicer report", base="cheat")
    head = fake.push_to_fork_pull_request(number, project)
    runs = github.settle()
    assert started(runs)[1:] == [("model-pr.yml", "success"), ("model-report.yml", "failure")]
    refusal = "report.md links to 'https://evil.example/p.png': only the artifact's plots/*.png are allowed"
    assert f"error: {refusal}" in runs[2].output
    (status,) = fake.statuses_of(head, "model-gate")
    assert (status["state"], status["description"]) == ("failure", f"The report was refused: {refusal}"[:140])
    (after,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    assert after == before, "nothing of the refused report is posted"


def test_a_status_posted_by_hand_does_not_satisfy_the_required_check(fork_pull, fake, people):
    number = fork_pull[0]
    head = fake.pulls[number]["head_sha"]
    ada, bob = people["ada"], people["bob"]
    forged = {
        "state": "success",
        "context": "model-gate",
        "description": "The candidate model passed the gate",
    }
    assert bob.api("POST", f"statuses/{head}", forged)[0] == 201, "any writer may post a status"
    assert fake.statuses_of(head, "model-gate")[-1]["state"] == "success"
    assert ada.review(number, "APPROVE")[0] == 200  # the code owner, misled by the green status
    fake.take_events()  # staging is not the point here (test_pr_review.py: a fork's code reaches no environment)
    status, answer = bob.merge(number)
    assert status == 405
    assert "required status model-gate is failure" in answer["message"], answer
    assert fake.pulls[number]["state"] == "open"


def leak_the_remote_key(project):
    """bob's branch: release.yml no longer calls the shared workflow but runs his own job in the automation
    environment, which prints the DVC remote's secret, encoded so that the log's masking misses it."""
    path = project / ".github" / "workflows" / "release.yml"
    text = path.read_text()
    path.write_text(
        text[: text.index("jobs:\n")]
        + "jobs:\n  build:\n    runs-on: ubuntu-latest\n    environment: automation\n    steps:\n"
        + "      - env:\n          LEAK: ${{ secrets.DVC_REMOTE_CREDENTIALS }}\n"
        + '        run: printf %s "$LEAK" | base64\n'
    )


def test_a_tag_on_a_branch_commit_is_never_released(project, fake, github, people):
    bob = people["bob"]
    sync_main(project, bob)
    branch_commit = commit_change(project, "side", lambda: leak_the_remote_key(project), "Unreviewed")
    run(["git", "tag", "model@v9.0.0", branch_commit], cwd=project)
    bob.push(
        project, "side:refs/heads/side", "refs/tags/model@v9.0.0"
    )  # without the App, writers create tags
    fake.take_events()  # the branch's own runs (ci.yml) are not the point
    releases, pushes = dict(fake.releases), len(fake.pushes)
    assert bob.dispatch("release.yml", {"version": "v9.0.0"})[0] == 204
    (release,) = github.settle()
    assert release.jobs == {"build": "failure"}, release.jobs
    assert f"error: model@v9.0.0 points at {branch_commit[:12]}, which is not on main" in release.output
    assert fake.releases == releases
    assert len(fake.pushes) == pushes
    assert fake.ref("refs/tags/model#prod#1") is None


def test_a_release_run_from_a_branch_gets_no_environment_and_no_secret(project, fake, github, people):
    """bob runs release.yml from his branch, whose workflow prints the remote's key: the environment refuses the
    branch, so the job never gets the key."""
    bob = people["bob"]
    github.environment_secrets["automation"] = {"DVC_REMOTE_CREDENTIALS": "s3cr3t-remote-key"}
    try:
        assert bob.dispatch("release.yml", {"version": "v0.1.0"}, ref="side")[0] == 204
        (release,) = github.settle()
    finally:
        del github.environment_secrets["automation"]
    assert release.jobs == {"build": "failure"}, release.jobs
    assert 'Branch "side" is not allowed to deploy to automation due to environment protection rules.' in (
        release.output
    )
    assert base64.b64encode(b"s3cr3t-remote-key").decode() not in release.output
    assert fake.ref("refs/tags/model#prod#1") is None


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("v1.0.0$(GITHUB_TOKEN)", "'v1.0.0$(GITHUB_TOKEN)' is not a version such as v1.2.0"),
        ("v1.0.0;touch PWNED", "'v1.0.0;touch PWNED' is not a version such as v1.2.0"),
        ("v7.7.7", "there is no tag model@v7.7.7: registered versions are tags model@vX.Y.Z"),
    ],
)
def test_a_version_input_is_checked_before_anything_uses_it(project, fake, github, people, version, problem):
    assert people["bob"].dispatch("release.yml", {"version": version})[0] == 204
    (release,) = github.settle()
    assert release.jobs == {"build": "failure"}
    assert f"error: {problem}" in release.output, release.output[-3000:]
    assert not (project / "PWNED").exists()


def test_version_tags_are_never_moved_or_deleted(project, fake, people):
    bob, ada = people["bob"], people["ada"]
    released = fake.ref("refs/tags/model@v0.1.0")
    other = fake.ref("refs/heads/side")
    moved = bob.push(project, f"+{other}:refs/tags/model@v0.1.0", check=False)
    assert moved.returncode != 0
    assert "GH013: Repository rule violations found for refs/tags/model@v0.1.0." in moved.stderr
    assert "Cannot update this protected ref." in moved.stderr
    for person in (bob, ada):  # nobody bypasses it, not even an admin
        deleted = person.push(project, ":refs/tags/model@v0.1.0", check=False)
        assert "Cannot delete this protected ref." in deleted.stderr
    assert fake.ref("refs/tags/model@v0.1.0") == released
    assert json.loads((fake.origin / "e2e-rulesets.json").read_text())["rulesets"]


def forge_the_gate(project, sha):
    """bob's branch: a workflow of his own that, on its push, asks for `statuses: write` (a workflow may, whatever
    the repository's read-only default) and sets `model-gate: success` on commit `sha` with its GITHUB_TOKEN."""
    forge = {
        "name": "forge",
        "on": "push",
        "permissions": {"statuses": "write"},
        "jobs": {
            "forge": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {
                        "env": {"GITHUB_TOKEN": "${{ github.token }}", "SHA": sha},
                        "run": 'curl -fsS -X POST -H "Authorization: Bearer $GITHUB_TOKEN" '
                        '"$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/statuses/$SHA" '
                        '-d \'{"state": "success", "context": "model-gate"}\'',
                    }
                ],
            }
        },
    }
    (project / ".github" / "workflows" / "forge.yml").write_text(yaml.safe_dump(forge, sort_keys=False))


def test_with_the_app_a_workflow_run_s_own_model_gate_does_not_satisfy_the_required_check(
    fork_pull, project, fake, github, harness, people
):
    """Last in this module: it gives the automation its App, which the tests above run without."""
    number = fork_pull[0]
    head = fake.pulls[number]["head_sha"]
    bob, ada = people["bob"], people["ada"]
    setup = give_the_automation_an_app(project, fake, github, harness, people)
    assert "ruleset main: model-gate is required from the automation's App" in setup
    sync_main(project, bob)
    commit_change(project, "forge", lambda: forge_the_gate(project, head), "CI tweaks")
    bob.push(project, "forge:refs/heads/forge")
    runs = github.settle()
    assert started(runs) == [("forge.yml", "success")], [r.output[-3000:] for r in runs]
    forged = fake.statuses_of(head, "model-gate")[-1]
    assert (forged["state"], forged["app_id"]) == ("success", 15368), "the run's token is GitHub Actions'"
    assert ada.review(number, "APPROVE")[0] == 200
    fake.take_events()
    status, answer = bob.merge(number)
    assert status == 405, answer
    assert "required status model-gate is expected: it never reported" in answer["message"], answer
    assert fake.pulls[number]["state"] == "open"
