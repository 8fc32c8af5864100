"""What the model relies on: evaluate writes each feature's drop per shuffle; the report measures the champion on the
same rows with the same shuffles (the rows the comparison judged on, when it left some out), shows what moved with
intervals, warns of a feature that may leak the target, and keeps feature names inert."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_cache import cache, cache_directory
from fixture_model.pipeline import TASK, train
from rendered import render

from ml_gitops.core import paths
from ml_gitops.review import charts, comparable, reliance
from ml_gitops.review.reliance import Importance

HOSTILE = "<img src=x onerror=alert(1)> **[leak](https://evil.example)** @admin #1"


@pytest.fixture
def committed(trained):
    """The trained champion committed: params, metrics and a dvc.lock naming its model and prepared data, whose
    bytes are in the DVC cache."""
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
    commit = subprocess.run(["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return trained, commit.stdout.strip(), pd.read_parquet(paths.PREDICTIONS)


def retrain_with_a_leak(params, name: str = HOSTILE) -> None:
    """The candidate gains a column that carries the target: it is new to the model and dwarfs every other."""
    for path in (paths.TRAIN, paths.TEST):
        table = pd.read_parquet(path)
        target = table[params.data.target]
        codes = pd.factorize(target, sort=True)[0] if TASK == "classification" else target.to_numpy(float)
        table.insert(0, name, codes)
        table.to_parquet(path)
    train.run(params)
    from fixture_model.pipeline import evaluate

    evaluate.run(params)


def test_evaluate_writes_each_feature_s_drop_per_shuffle(trained):
    written = json.loads(reliance.PATH.read_text())
    test = pd.read_parquet(paths.TEST)
    assert set(written["drops"]) == set(test.columns) - {trained.data.target}
    assert {len(drops) for drops in written["drops"].values()} == {trained.evaluate.importance_repeats}
    assert written["rows"] == min(len(test), trained.evaluate.importance_max_rows)
    assert written["score"] == ("accuracy" if TASK == "classification" else "r2")
    assert max(np.mean(drops) for drops in written["drops"].values()) > 0  # the model relies on something


def test_the_champion_is_measured_on_the_same_rows_with_the_same_shuffles(committed):
    """The same model as champion and candidate: every drop of every shuffle is the same, so nothing moved."""
    params, commit, predictions = committed
    comparison = comparable.compare(params, commit, predictions, predictions)
    paired = reliance.pair(params, commit, comparison)
    assert paired.champion is not None, paired.note
    assert paired.champion.drops == paired.candidate.drops
    assert paired.note.startswith(f"both measured on the same {paired.candidate.rows:,} test rows")
    section = reliance.section(params, commit, comparison)
    assert "| # | feature | champion | candidate | change | 95% interval of change |" in section
    assert "Possible leak" not in section


def test_a_sample_of_the_rows_is_the_same_for_both_models(committed, monkeypatch):
    """With fewer rows sampled than the test set holds, both models are still measured on one sample."""
    params, commit, predictions = committed
    from dataclasses import replace

    fewer = replace(params, evaluate=replace(params.evaluate, importance_max_rows=40))
    from fixture_model.pipeline import evaluate

    evaluate.run(fewer)
    comparison = comparable.compare(fewer, commit, predictions, predictions)
    paired = reliance.pair(fewer, commit, comparison)
    assert paired.candidate.rows == 40
    assert paired.champion.drops == paired.candidate.drops


def test_a_new_feature_that_carries_the_target_is_named_as_a_possible_leak(committed):
    params, commit, predictions = committed
    retrain_with_a_leak(params)
    candidate = pd.read_parquet(paths.PREDICTIONS)
    comparison = comparable.compare(params, commit, predictions, candidate)
    section = reliance.section(params, commit, comparison)
    shown = render(section)
    assert (shown.links, shown.images, shown.raw_tags, shown.mentions) == ([], [], [], [])
    text = "".join(shown.text).replace("\u200b", "")  # markdown.text breaks autolinks and mentions
    assert f"Possible leak of the target: {HOSTILE}: " in text
    assert "it is new to the model and is what the model relies on most" in text
    row = next(line for line in section.splitlines() if line.startswith("| 1 |"))
    assert "| new |" in row  # the champion does not take it: it moved most


def test_when_the_comparison_left_rows_out_both_are_measured_again_there(committed):
    params, commit, predictions = committed
    test = pd.read_parquet(paths.TEST)
    test.iloc[::2].to_parquet(paths.TEST)  # the data changed: another test set
    comparison = comparable.compare(params, commit, predictions, predictions.loc[test.index[::2]])
    paired = reliance.pair(params, commit, comparison)
    assert paired.candidate.rows == min(len(test.index[::2]), params.evaluate.importance_max_rows)
    assert paired.candidate.rows != reliance.read().rows  # not evaluate's rows: the judged ones
    assert paired.champion.drops == paired.candidate.drops  # the same model, the same rows and shuffles
    assert "among the rows the champion did not train on" in paired.note


def test_a_champion_that_cannot_judge_is_not_shown(committed):
    params, commit, predictions = committed
    comparison = comparable.Comparison(comparable.TARGET, "data.target changed")
    section = reliance.section(params, commit, comparison)
    assert "the champion is not shown: it cannot judge this candidate" in section
    assert "| # | feature | candidate | 95% interval |" in section


def test_the_first_model_shows_what_it_relies_on_most(trained):
    section = reliance.section(trained, None, None)
    means = reliance.read().means().sort_values(ascending=False, kind="stable")
    first = next(line for line in section.splitlines() if line.startswith("| 1 |"))
    assert first.startswith(f"| 1 | {means.index[0]} | {means.iloc[0]:.4f} |")


def test_the_chart_is_one_the_comment_draws_again(committed):
    params, commit, predictions = committed
    retrain_with_a_leak(params, "leak")
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    (drawn,) = charts.redraw(reliance.section(params, commit, comparison))
    assert drawn.startswith('```mermaid\nxychart-beta\n    title "What the model relies on"')
    assert drawn.endswith("Line 1: the candidate; line 2: the champion.")


def importance(means: dict[str, float], repeats: int = 3) -> Importance:
    spread = np.linspace(-0.001, 0.001, repeats)
    return Importance("accuracy", 100, 0, {name: list(mean + spread) for name, mean in means.items()})


def test_a_feature_that_dwarfs_the_others_is_named():
    (warning,) = reliance.leak_warnings(importance({"a": 0.30, "b": 0.02, "c": 0.01}), None, frozenset())
    assert warning.startswith(
        "> [!WARNING]\n> Possible leak of the target: a: shuffling it drops the accuracy"
    )
    assert "15 times the next feature's" in warning


@pytest.mark.parametrize("means", [{"a": 0.30, "b": 0.10}, {"a": 0.03, "b": 0.001}, {"a": 0.0, "b": 0.0}])
def test_features_that_share_the_work_or_matter_little_are_not(means):
    assert reliance.leak_warnings(importance(means), None, frozenset()) == []


def test_the_interval_of_the_mean_uses_student_s_t():
    low, high = reliance.interval(np.array([1.0, 2.0, 3.0]))
    assert (round(low, 3), round(high, 3)) == (round(2 - 4.303 / 3**0.5, 3), round(2 + 4.303 / 3**0.5, 3))
    assert reliance.interval(np.array([1.0])) is None


@pytest.mark.skipif(TASK != "classification", reason="three classes")
def test_three_classes_are_measured_with_the_same_shuffles_for_two_models():
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(4)
    target = pd.Series(rng.choice(["blue", "green", "red"], 600))
    features = pd.DataFrame({"x": target.map({"blue": 0, "green": 1, "red": 2}) + rng.normal(size=600)})
    features["noise"] = rng.normal(size=600)
    one, other = (
        LogisticRegression().fit(features, target),
        DecisionTreeClassifier(max_depth=3).fit(features, target),
    )
    first, second = (reliance.measure(model, features, target, 4, 200, 7) for model in (one, other))
    again = reliance.measure(one, features, target, 4, 200, 7)
    assert first == again
    assert first.rows == second.rows == 200
    assert first.means()["x"] > first.means()["noise"]
    moved = np.array(first.drops["x"]) - np.array(second.drops["x"])
    table = reliance._table(first, second, frozenset(), reliance._ranked(first, second))
    row = next(line for line in table.splitlines() if line.split(" | ")[1:2] == ["x"])
    assert f"| {second.means()['x']:.4f} | {first.means()['x']:.4f} | {moved.mean():+.4f} |" in row


@pytest.mark.parametrize("max_rows", [10_000, 40])
def test_the_drops_are_scikit_learn_s_permutation_importance_exactly(trained, max_rows, monkeypatch):
    """Predicted together (a few features per call here, to cross call boundaries), the drops are those of
    scikit-learn's permutation_importance with the same seed: its shuffles, its scorer, to the last digit kept."""
    from sklearn.inspection import permutation_importance

    from ml_gitops import project
    from ml_gitops.core import files

    params = trained
    model = files.load_model(paths.MODEL, project.pipeline("train").MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    features, target = test.drop(columns=[params.data.target]), test[params.data.target]
    rows = reliance.sample(len(features), max_rows, 7)
    monkeypatch.setattr(reliance, "STACKED_ROWS", 3 * len(rows))
    ours = reliance.measure(model, features, target, 4, max_rows, 7)
    theirs = permutation_importance(
        model, features.iloc[rows], target.iloc[rows], n_repeats=4, random_state=7
    )
    assert ours.drops == {
        str(name): [round(float(value), 6) for value in values]
        for name, values in zip(features.columns, theirs.importances, strict=True)
    }
