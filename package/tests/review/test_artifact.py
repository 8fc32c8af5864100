"""The checks model-report.yml makes before it trusts an artifact that pull-request code produced."""

import json

import pytest

from ml_gitops import UserError
from ml_gitops.github import client
from ml_gitops.review import artifact as checks

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAD = "a" * 40
MAIN_REPO = {"full_name": "acme/churn", "default_branch": "main"}


@pytest.fixture
def artifact(tmp_path, monkeypatch):
    """A valid model-report artifact of pull request #7 at HEAD."""
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "roc.png").write_bytes(b"\x89PNG")
    (tmp_path / "report.md").write_text("## Model report\n\n![ROC curve](plots/roc.png)\n")
    (tmp_path / "report.json").write_text(json.dumps({"pull_request": 7, "head_sha": HEAD, "gate": "pass"}))
    pull = {"number": 7, "state": "open", "head": {"sha": HEAD}, "base": {"ref": "main", "repo": MAIN_REPO}}
    monkeypatch.setattr(
        checks.client, "api", lambda method, path, body=None: pull if path == "pulls/7" else {}
    )
    return tmp_path


def test_valid_artifact_gives_its_pull_request_and_verdict(artifact):
    summary = checks.check_artifact(artifact, HEAD)
    assert (summary["pull_request"], summary["gate"], summary["head_sha"]) == (7, "pass", HEAD)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "run.sh").write_text("echo"), "unexpected file run.sh"),
        (lambda d: (d / "report.md").write_text("x" * 60_001), "report.md has 60,001 bytes"),
        (lambda d: (d / "report.json").write_text("{"), "report.json is not valid JSON"),
        (lambda d: (d / "report.json").write_text('{"pull_request": "7"}'), "no valid pull-request number"),
        (lambda d: (d / "report.md").write_text("![x](../secret.png)"), "links to '../secret.png'"),
        (lambda d: (d / "report.md").write_text("[x]: /etc/passwd"), "links to '/etc/passwd'"),
        (lambda d: (d / "report.md").write_text('<img src="/etc/passwd">'), "contains an HTML image"),
        (lambda d: (d / "plots" / "link.png").symlink_to("/etc/passwd"), "is a symbolic link"),
        (lambda d: (d / "report.md").unlink(), "must hold report.md and report.json"),
    ],
)
def test_damaged_artifact_is_refused(artifact, damage, message):
    damage(artifact)
    with pytest.raises(UserError) as caught:
        checks.check_artifact(artifact, HEAD)
    assert message in str(caught.value)


def test_report_for_another_commit_is_refused(artifact):
    with pytest.raises(UserError, match="is for commit a+, but the run built b+"):
        checks.check_artifact(artifact, "b" * 40)


def test_closed_or_moved_pull_request_is_refused(artifact, monkeypatch):
    monkeypatch.setattr(
        checks.client, "api", lambda *args, **kwargs: {"state": "open", "head": {"sha": "c" * 40}}
    )
    with pytest.raises(UserError, match="pull request #7 is not open at commit"):
        checks.check_artifact(artifact, HEAD)


def test_outputs_are_written_for_later_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    client.write_outputs({"pull_request": 7, "gate": "fail"})
    assert (tmp_path / "output").read_text() == "pull_request=7\ngate=fail\n"


@pytest.mark.parametrize("base", [{"ref": "stage", "repo": MAIN_REPO}, {"ref": "main"}, {}])
def test_a_pull_request_not_into_the_default_branch_is_not_judged(artifact, monkeypatch, base):
    pull = {"number": 7, "state": "open", "head": {"sha": HEAD}, "base": base}
    monkeypatch.setattr(checks.client, "api", lambda *args, **kwargs: pull)
    with pytest.raises(
        checks.NotIntoDefaultBranch, match="model-gate judges only pull requests into the default"
    ):
        checks.check_artifact(artifact, HEAD)
