"""Versions under act: a merge that changes the model registers exactly one GTO tag with the labelled bump."""

import pytest

from ..conftest import run
from .conftest import BETTER, REPOSITORY, set_model
from .harness import git

pytestmark = pytest.mark.slow


def remote_tags(harness):
    return sorted(git("tag", "--list", cwd=harness.origin).split())


def merge_to_main(project, message, change):
    """What a merged pull request leaves on main: the change, with dvc.lock and metrics reproduced."""
    change()
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", message, cwd=project)
    git("push", "--quiet", "origin", "main", cwd=project)
    return git("rev-parse", "HEAD", cwd=project)


def push_event(sha):
    return {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": REPOSITORY}}


def register(harness, sha):
    result, _ = harness.act("push", push_event(sha), "register.yml", sha)
    assert result.returncode == 0, result.output[-4000:]
    return result


def test_labelled_merge_registers_one_version_and_a_rerun_adds_none(project, harness, api):
    sha = merge_to_main(project, "Merge pull request #5", lambda: set_model(project, BETTER))
    api.merge_pull_request(5, sha, labels=["model:major", "documentation"])
    register(harness, sha)
    assert remote_tags(harness) == ["model@v1.0.0"]
    assert git("rev-list", "-n", "1", "model@v1.0.0", cwd=harness.origin) == sha
    rerun = register(harness, sha)
    assert "nothing to register: the model is the same as model@v1.0.0" in rerun.output
    assert remote_tags(harness) == ["model@v1.0.0"]


def test_merge_without_a_model_change_registers_nothing(project, harness, api):
    readme = project / "README.md"
    sha = merge_to_main(
        project, "Merge pull request #6", lambda: readme.write_text(readme.read_text() + "\nMore.\n")
    )
    api.merge_pull_request(6, sha, labels=[])
    result = register(harness, sha)
    assert "nothing to register" in result.output
    assert remote_tags(harness) == ["model@v1.0.0"]


@pytest.mark.parametrize(
    ("number", "labels", "expected"), [(7, ["model:patch"], "model@v1.0.1"), (8, [], "model@v1.1.0")]
)
def test_bump_follows_the_pull_request_label(project, harness, api, number, labels, expected):
    params = {**BETTER, "n_estimators": 100 + number}
    sha = merge_to_main(project, f"Merge pull request #{number}", lambda: set_model(project, params))
    api.merge_pull_request(number, sha, labels=labels)
    register(harness, sha)
    assert remote_tags(harness)[-1] == expected
