"""Which changes are changes to the model, read from Git (model-pr.yml) or from GitHub's list of a pull request's
files (model-report.yml, promote.yml): a list GitHub cut short is refused, never read as "no model input"; the
champion's committed figures are a model input, so a pull request that edits them trains and is gated."""

import argparse
import json
import subprocess

import pytest
from github_api import MAX_LISTED_FILES, REPOSITORY, FakeGitHub

from ml_gitops import UserError
from ml_gitops.review import inputs, verdict
from ml_gitops.review.commands import run_check_artifact, run_set_status

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAD = "a" * 40


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize(
    ("path", "is_input"),
    [
        ("params.yaml", True),
        ("dvc.lock", True),
        ("data/raw/batch.csv.dvc", True),
        ("src/churn_model/pipeline/train.py", True),
        ("uv.lock", True),
        ("reports/metrics.json", True),
        ("README.md", False),
        ("docs/params.yaml", False),
        (".github/workflows/ci.yml", False),
        ("tests/pipeline/test_data.py", False),
        ("Makefile", False),
        ("docs/reports/metrics.json", False),
    ],
)
def test_which_files_are_model_inputs(path, is_input):
    assert inputs.model_inputs([path]) == ([path] if is_input else [])


@pytest.fixture
def github(monkeypatch):
    with FakeGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        yield fake


def many_files_then(last: str, count: int) -> list[str]:
    """`count` files, none a model input but the last (GitHub lists a pull request's files in path order)."""
    return [f"docs/page_{index:05d}.md" for index in range(count - 1)] + [last]


def test_a_list_of_files_github_cut_at_3000_is_refused(github):
    github.open_pull_request(7, many_files_then("params.yaml", MAX_LISTED_FILES + 1))
    with pytest.raises(
        UserError, match=r"changes 3,001 files, but GitHub listed 3,000 \(GitHub lists at most 3,000\)"
    ):
        inputs.changed_in_pull_request(7)


def test_a_list_of_exactly_3000_files_is_read_to_its_end(github):
    github.open_pull_request(7, many_files_then("params.yaml", MAX_LISTED_FILES))
    assert inputs.model_inputs(inputs.changed_in_pull_request(7)) == ["params.yaml"]


def artifact(directory, **summary):
    """A model-report artifact as the checks accept it, for pull request #7 at HEAD."""
    directory.mkdir()
    (directory / "report.md").write_text("## Model report\n")
    fields = {"pull_request": 7, "head_sha": HEAD, "gate": "pass", **summary}
    (directory / "report.json").write_text(json.dumps(fields))
    return directory


def check_artifact(directory, verdict_path):
    args = argparse.Namespace(
        directory=directory, head_sha=HEAD, run_conclusion="success", verdict=verdict_path
    )
    run_check_artifact(args)


def commit(repository, message: str) -> str:
    git("add", "--all", cwd=repository)
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "-m", message, cwd=repository)
    return git("rev-parse", "HEAD", cwd=repository).strip()


def test_with_both_commits_in_the_clone_every_file_is_read_from_git(github, tmp_path, monkeypatch):
    """model-report.yml's clone, once it fetched the pull request's commits (as data: nothing is checked out)."""
    git("init", "--quiet", "--initial-branch=main", cwd=tmp_path)
    (tmp_path / "README.md").write_text("readme")
    base = commit(tmp_path, "base")
    git("switch", "--quiet", "--create", "big", cwd=tmp_path)
    files = many_files_then("src/churn_model/pipeline/train.py", MAX_LISTED_FILES + 1)
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    head = commit(tmp_path, "big")
    git("switch", "--quiet", "main", cwd=tmp_path)
    github.open_pull_request(7, files, head_sha=head, base_sha=base)
    monkeypatch.chdir(tmp_path)
    changed = inputs.changed_in_pull_request(7)
    assert len(changed) == MAX_LISTED_FILES + 1
    assert inputs.model_inputs(changed) == ["src/churn_model/pipeline/train.py"]


def test_a_pull_request_of_more_than_3000_files_that_trains_nothing_gets_a_failing_status(
    github, params, tmp_path
):
    """The attack: 3,000 files before the model change, and a run that claims nothing changed."""
    github.open_pull_request(7, many_files_then("src/churn_model/pipeline/train.py", MAX_LISTED_FILES + 1))
    directory = artifact(tmp_path / "artifact", model_inputs_changed=False)
    with pytest.raises(UserError, match="GitHub lists at most 3,000"):
        check_artifact(directory, tmp_path / "verdict.json")
    decided = verdict.read(tmp_path / "verdict.json")
    assert (decided.state, decided.comment) == ("failure", False)
    assert "GitHub lists at most 3,000" in decided.description


def test_a_pull_request_that_edits_only_the_champion_s_metrics_does_not_pass_without_training(
    github, params, tmp_path
):
    github.open_pull_request(7, ["reports/metrics.json"])
    directory = artifact(tmp_path / "artifact", model_inputs_changed=False)
    check_artifact(directory, tmp_path / "verdict.json")
    decided = verdict.read(tmp_path / "verdict.json")
    assert (decided.state, decided.description) == (
        "failure",
        "Model inputs changed (reports/metrics.json), but nothing was trained",
    )


def test_the_pull_request_s_run_trains_when_only_the_champion_s_metrics_changed(tmp_path, monkeypatch):
    """model-pr.yml's `model-inputs`: an edit of reports/metrics.json alone (under a name Git would quote) trains."""
    git("init", "--quiet", "--initial-branch=main", cwd=tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics.json").write_text('{"roc_auc": 0.9}')
    (tmp_path / "README.md").write_text("readme")
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "-m", "champion", cwd=tmp_path)
    git("switch", "--quiet", "--create", "forge", cwd=tmp_path)
    (tmp_path / "reports" / "metrics.json").write_text('{"roc_auc": 0.1}')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "é\tnew.csv").write_text("x")
    git("add", ".", cwd=tmp_path)
    git("-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "-m", "forge", cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    assert sorted(inputs.model_inputs(inputs.changed_since("main"))) == [
        "data/é\tnew.csv",
        "reports/metrics.json",
    ]


def test_a_pull_request_into_another_branch_sets_no_status_for_the_commit(github, params, tmp_path):
    """The attack: the head of a pull request into main that fails the gate, opened again into a branch that already
    holds its model change. A status belongs to the commit, so a success there would turn main's check green."""
    github.open_pull_request(8, ["docs/index.md"], base_ref="stage")  # the model change is in stage already
    directory = artifact(tmp_path / "artifact", pull_request=8, model_inputs_changed=False)

    check_artifact(directory, tmp_path / "verdict.json")
    run_set_status(argparse.Namespace(verdict=tmp_path / "verdict.json", target_url=None))

    decided = verdict.read(tmp_path / "verdict.json")
    assert (decided.state, decided.comment) == ("", False)
    assert decided.description.startswith("pull request #8 is into 'stage', not the default branch 'main'")
    assert github.commit_statuses == []
