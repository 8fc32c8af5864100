"""When can the champion's numbers judge the candidate? The same test rows compare as they are; a changed test set
is scored again by the champion's model (from the DVC cache, as its dvc.lock names it); a changed target, changed
classes or a test set the champion cannot score are not comparable, and say why."""

import shutil
import subprocess
from dataclasses import replace

import pandas as pd
import pytest
import yaml
from dvc_cache import cache, cache_directory
from fixture_model.pipeline import TASK

from ml_gitops.core import paths
from ml_gitops.core.shell import tool
from ml_gitops.review import artifact, champion, comparable


@pytest.fixture
def committed(trained):
    """The trained champion committed as a project commits it: params, metrics, and a dvc.lock naming the model
    and the prepared data, whose bytes are in the DVC cache."""
    lock = {
        "stages": {
            "prepare": {"outs": [{"path": str(paths.PREPARED), "md5": cache_directory(paths.PREPARED)}]},
            "train": {"outs": [{"path": str(paths.MODEL), "md5": cache(paths.MODEL)}]},
        }
    }
    (paths.PARAMS.parent / "dvc.lock").write_text(yaml.safe_dump(lock))
    for command in (
        ["init", "-q"],
        ["add", "params.yaml", "dvc.lock", str(paths.METRICS)],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "champion"],
    ):
        subprocess.run(["git", *command], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return trained, commit, pd.read_parquet(paths.PREDICTIONS)


def test_the_same_test_rows_compare_as_they_are(committed):
    params, commit, predictions = committed
    comparison = comparable.compare(params, commit, predictions, predictions)
    assert comparison.how == artifact.SAME_ROWS
    assert (
        comparison.scores[params.gate.metric] == pd.read_json(paths.METRICS, typ="series")[params.gate.metric]
    )


def test_a_changed_test_set_is_scored_again_by_the_champion(committed):
    params, commit, predictions = committed
    test = pd.read_parquet(paths.TEST)
    test.iloc[::2].to_parquet(paths.TEST)  # the data changed: another test set
    candidate = predictions.loc[test.index[::2]]
    comparison = comparable.compare(params, commit, predictions, candidate)
    assert comparison.how == artifact.RESCORED
    assert comparison.champion.index.equals(candidate.index)
    assert comparison.detail.startswith(
        f"the test set changed: the champion's model was scored again on the candidate's {len(candidate):,} test "
        f"rows; 0 of them it trained on were left out, so both are judged on the same {len(candidate):,} rows"
    )
    assert params.gate.metric in comparison.scores


def test_a_changed_target_is_not_comparable(committed):
    params, commit, predictions = committed
    other = replace(params, data=replace(params.data, target="spend"))
    comparison = comparable.compare(other, commit, predictions, predictions)
    assert (comparison.comparable, comparison.how) == (False, artifact.TARGET)
    assert comparison.detail == f"data.target changed from '{params.data.target}' to 'spend'"


@pytest.mark.skipif(TASK != "classification", reason="classes")
def test_changed_classes_are_not_comparable(committed):
    params, commit, predictions = committed
    candidate = predictions.assign(proba_maybe=0.0)
    comparison = comparable.compare(params, commit, predictions, candidate)
    assert (comparison.how, comparison.detail) == (
        artifact.CLASSES,
        "the target's classes changed (added maybe)",
    )


def positive_swapped(predictions: pd.DataFrame) -> pd.DataFrame:
    """The same predictions, written with the other class as the positive one (the last probability column)."""
    first, last = [column for column in predictions.columns if column.startswith("proba_")]
    return predictions[[column for column in predictions.columns if column != first] + [first]]


@pytest.mark.skipif(TASK != "classification", reason="a binary classifier's positive class")
def test_a_changed_positive_class_on_the_same_rows_is_not_comparable(committed):
    """The champion's committed F1 is of its positive class, the candidate's of another: compared, a worse
    candidate passed."""
    params, commit, predictions = committed
    candidate = positive_swapped(predictions)
    comparison = comparable.compare(params, commit, predictions, candidate)
    old, new = (frame.columns[-1].removeprefix("proba_") for frame in (predictions, candidate))
    assert (comparison.how, comparison.detail) == (
        artifact.CLASSES,
        f"the positive class changed from {old!r} to {new!r} (data.positive_label): the champion's committed "
        "binary metrics are of the other class",
    )


@pytest.mark.skipif(TASK != "classification", reason="a binary classifier's positive class")
def test_the_champion_scored_again_takes_the_candidate_s_positive_class(committed):
    """On a changed test set the champion's positive class was the rarest of the rows kept, which may be the other
    class than the candidate's (the rarest of its whole test set)."""
    params, commit, predictions = committed
    test = pd.read_parquet(paths.TEST)
    test.iloc[::2].to_parquet(paths.TEST)
    candidate = positive_swapped(
        predictions.loc[test.index[::2]]
    )  # the candidate's positive: the commoner class
    comparison = comparable.compare(params, commit, predictions, candidate)
    assert comparison.how == artifact.RESCORED
    assert list(comparison.champion.columns) == list(candidate.columns)


def test_a_test_set_the_champion_cannot_score_is_not_comparable(committed):
    params, commit, predictions = committed
    test = pd.read_parquet(paths.TEST)
    test.iloc[::2].drop(columns=test.columns[0]).to_parquet(paths.TEST)  # a feature was dropped
    comparison = comparable.compare(params, commit, predictions, predictions.loc[test.index[::2]])
    assert comparison.how == artifact.UNSCORABLE
    assert comparison.detail.startswith("the test set changed and the champion's model cannot score it: ")
    assert test.columns[0] in comparison.detail


def test_the_report_says_what_a_reviewer_does_when_nothing_compares():
    from ml_gitops.review import report

    comparison = comparable.Comparison(artifact.TARGET, "data.target changed from 'churn' to 'spend'")
    caution = report._not_comparable(comparison)
    assert caution.startswith(
        "> [!CAUTION]\n> The champion's numbers cannot judge this candidate: data.target changed from 'churn' to "
        "'spend'. Judge the candidate on its own metrics"
    )
    assert "bypass list" in caution


def test_the_champions_prepare_stage_runs_again_when_its_training_rows_are_nowhere(trained, tmp_path):
    """In CI the cache starts empty and a remote may hold the champion's predictions but not its prepared tables:
    its prepare stage (the cheap one) runs again in its worktree, with its own code, and gives the same rows."""
    import jinja2
    from conftest import CONTEXT, FIXTURE, TEMPLATE

    environment = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    worktree = paths.PARAMS.parent.resolve()
    shutil.copytree(FIXTURE / "src", worktree / "src")
    main = TEMPLATE / "src" / "{{cookiecutter.module_name}}" / "__main__.py"
    (worktree / "src" / "fixture_model" / "__main__.py").write_text(
        environment.from_string(main.read_text()).render(CONTEXT)
    )
    (worktree / "dvc.yaml").write_text(
        environment.from_string((TEMPLATE / "dvc.yaml").read_text()).render(CONTEXT)
    )
    (worktree / "data" / "raw").mkdir(parents=True)
    (worktree / "pyproject.toml").write_text('[project]\nname = "fixture"\ndependencies = []\n')
    subprocess.run(["git", "init", "-q"], check=True)
    from ml_gitops.core.shell import tool

    tool("dvc", "init", "-q")
    before = pd.read_parquet(paths.TRAIN)
    shutil.rmtree(paths.PREPARED)
    comparable._prepare_again(worktree)
    pd.testing.assert_frame_equal(pd.read_parquet(paths.TRAIN), before)


def stale_champion_worktree(commit: str, table: pd.DataFrame) -> None:
    """The champion worktree at `commit`, as champion.reproduce leaves it, holding `table` as its training rows (Git
    leaves an ignored file of an older commit there), while this machine's DVC cache lacks the commit's own."""
    recorded = champion.output_md5(champion.lock(commit), paths.PREPARED)
    champion.cache_file(champion.md5_in_directory(recorded, paths.TRAIN.name)).unlink()
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(champion.WORKTREE), commit], check=True)
    (champion.WORKTREE / paths.PREPARED).mkdir(parents=True, exist_ok=True)
    table.to_parquet(champion.WORKTREE / paths.TRAIN)


def test_the_champion_worktree_s_rows_are_read_only_when_they_are_what_its_dvc_lock_records(committed):
    """An older commit's training rows, left in the worktree, were read as the champion's."""
    _, commit, _ = committed
    trained = pd.read_parquet(paths.TRAIN)
    stale_champion_worktree(commit, trained.iloc[::2])
    assert comparable.champion_prepared(commit, paths.TRAIN) is None
    shutil.copy(paths.TRAIN, champion.WORKTREE / paths.TRAIN)
    pd.testing.assert_frame_equal(comparable.champion_prepared(commit, paths.TRAIN), trained)


@pytest.fixture
def pushed(trained, tmp_path_factory):
    """The trained champion committed as a DVC project commits it: a dvc.yaml, the dvc.lock `dvc commit` writes,
    and its prepared tables and predictions in the local cache and pushed to a DVC remote (a folder)."""
    subprocess.run(["git", "init", "-q"], check=True)
    tool("dvc", "init", "-q")
    tool("dvc", "remote", "add", "-d", "folder", str(tmp_path_factory.mktemp("remote")))
    outputs = {"prepare": paths.PREPARED, "evaluate": paths.PREDICTIONS}
    stages = {name: {"cmd": "true", "outs": [str(path)]} for name, path in outputs.items()}
    (paths.PARAMS.parent / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    tool("dvc", "commit", "--force", "--quiet")
    tool("dvc", "push", "--quiet")
    subprocess.run(["git", "add", "--all"], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "champion"], check=True
    )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_champion_s_training_rows_are_pulled_again_over_an_older_commit_s(pushed):
    trained = pd.read_parquet(paths.TRAIN)
    stale_champion_worktree(pushed, trained.iloc[::2])
    pd.testing.assert_frame_equal(comparable.champion_prepared(pushed, paths.TRAIN, reproduce=True), trained)
