"""What the model relies on: evaluate writes each feature's drop per shuffle; the report measures the champion on the
same rows with the same shuffles (the rows the comparison judged on, when it left some out), shows what moved with
intervals, warns of a feature that may leak the target, and keeps feature names inert."""

import hashlib
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import FIXTURE
from dvc_cache import cache, cache_directory
from fixture_model.pipeline import TASK, train
from rendered import render

from ml_gitops import UserError
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


def test_rows_of_a_repeated_id_are_measured_once_each(committed):
    """data.id may repeat: the rows the comparison judged are taken by position, not every row of each id once per
    time it comes (two rows of an id judged: four rows measured)."""
    params, commit, predictions = committed
    test = pd.read_parquet(paths.TEST)
    ids = pd.Index(test.index[np.arange(len(test)) // 2], name=test.index.name)  # each id twice
    test = test.set_axis(ids)
    test.to_parquet(paths.TEST)
    kept = np.arange(len(test)) // 2 % 3 != 0  # both rows of an id or neither, as a key of ids leaves them
    judged = predictions.set_axis(ids)[kept]
    comparison = comparable.Comparison(comparable.RESCORED, "rescored", judged, None, judged)
    paired = reliance.pair(params, commit, comparison)
    expected = reliance.measure(
        reliance._own_model(), *reliance._split(test[kept], params), *reliance._settings(params)
    )
    assert paired.candidate.rows == min(kept.sum(), params.evaluate.importance_max_rows)
    assert paired.candidate == expected
    assert paired.champion.drops == expected.drops  # the same model on the same rows


def test_a_champion_that_cannot_judge_is_not_shown(committed):
    params, commit, predictions = committed
    comparison = comparable.Comparison(comparable.TARGET, "data.target changed")
    section = reliance.section(params, commit, comparison)
    assert "the champion is not shown: it cannot judge this candidate" in section
    assert "| # | feature | candidate | 95% interval |" in section


def test_feature_names_in_the_note_render_inert(params):
    """Why the champion could not be measured names its columns the candidate's test set lacks: data, shown as
    text (no image, link, HTML or mention), every character of it."""
    from concurrent.futures import Future

    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"x": rng.normal(size=50), HOSTILE: rng.normal(size=50)})
    model = LinearRegression().fit(x, rng.normal(size=50))
    test = pd.DataFrame({"x": x["x"], params.data.target: 0.0})
    rescored = comparable.Comparison(comparable.RESCORED, "rescored")
    with pytest.raises(UserError) as refused:
        reliance._champion_rows(params, "HEAD", rescored, model, test)
    paired = Future()
    note = f"the champion's importance could not be measured: {refused.value}"
    paired.set_result(reliance.Paired(importance({"x": 0.1}), None, frozenset(), note))
    shown = render(reliance.section(params, None, None, paired))
    inert = (shown.links, shown.images, shown.raw_tags, shown.mentions, shown.references)
    assert inert == ([],) * 5
    assert f"lacks ({HOSTILE})" in "".join(shown.text).replace("\u200b", "")


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


@pytest.mark.parametrize("count", [2, 3, 5, 10, 30, 200])
def test_the_interval_is_scipy_stats_t_interval_exactly(count):
    from scipy.stats import t

    values = np.random.default_rng(count).normal(0.01, 0.02, count)
    half = t.ppf(0.975, count - 1) * np.std(values, ddof=1) / np.sqrt(count)
    assert reliance.interval(values) == (float(np.mean(values) - half), float(np.mean(values) + half))


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


# The champion's importance as its own evaluate wrote it, reused when provably what measuring it gives.

REUSED = "the champion's importance as its own evaluate measured it"
MEASURED = "the champion's measured now"
EVALUATE_CODE = Path(
    "src/fixture_model/pipeline/evaluate.py"
)  # a file evaluate depends on, as a dvc.lock names it


def lock_of_evaluated(importance: str) -> dict:
    """A dvc.lock as `dvc repro` writes it for the working tree's outputs, its evaluate stage writing `importance`."""
    prepared, model = cache_directory(paths.PREPARED), cache(paths.MODEL)
    md5 = hashlib.md5(importance.encode()).hexdigest()  # noqa: S324 - DVC's content address
    deps = [
        {"path": str(paths.PREPARED), "md5": prepared},
        {"path": str(paths.MODEL), "md5": model},
        {"path": str(EVALUATE_CODE), "md5": cache(EVALUATE_CODE)},
    ]
    return {
        "stages": {
            "prepare": {"outs": [{"path": str(paths.PREPARED), "md5": prepared}]},
            "train": {"deps": deps[:1], "outs": [{"path": str(paths.MODEL), "md5": model}]},
            "evaluate": {
                "deps": deps,
                "outs": [
                    {"path": str(paths.PREDICTIONS), "md5": cache(paths.PREDICTIONS)},
                    {"path": str(reliance.PATH), "md5": md5},
                ],
            },
        }
    }


def commit_champion(importance: str | None, lock: dict, message: str = "champion") -> str:
    """Commit params, metrics, dvc.lock and the evaluate code, with `importance` as reports/importance.json
    (None: without it), leaving the working tree's importance as it was; the commit id."""
    kept = reliance.PATH.read_text()
    (paths.PARAMS.parent / "dvc.lock").write_text(yaml.safe_dump(lock))
    tracked = ["params.yaml", "dvc.lock", str(paths.METRICS), str(EVALUATE_CODE)]
    if importance is not None:
        reliance.PATH.write_text(importance)
        tracked.append(str(reliance.PATH))
    elif reliance.PATH.is_file():
        subprocess.run(["git", "rm", "-q", "--cached", "--ignore-unmatch", str(reliance.PATH)], check=True)
    for command in (
        ["add", *tracked],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
    ):
        subprocess.run(["git", *command], check=True)
    reliance.PATH.write_text(kept)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def evaluate_candidate(params) -> None:
    from fixture_model.pipeline import evaluate

    evaluate.run(params)


@pytest.fixture
def evaluated(trained):
    """The champion committed as `dvc repro` and a commit leave it (its importance, a dvc.lock whose evaluate stage
    names the data, model and code it ran on, their bytes in the DVC cache); then a candidate with other model
    params trained and evaluated on the same data. The candidate's params, the commit, the champion's predictions."""
    EVALUATE_CODE.parent.mkdir(parents=True)
    EVALUATE_CODE.write_text((FIXTURE / "src" / EVALUATE_CODE.relative_to("src")).read_text())
    subprocess.run(["git", "init", "-q"], check=True)
    importance = reliance.PATH.read_text()
    commit = commit_champion(importance, lock_of_evaluated(importance))
    champion_predictions = pd.read_parquet(paths.PREDICTIONS)
    other = replace(
        trained, model=replace(trained.model, params={**trained.model.params, "learning_rate": 0.2})
    )
    train.run(other)
    evaluate_candidate(other)
    return other, commit, champion_predictions


def paired_both_ways(params, commit, comparison, monkeypatch) -> tuple[reliance.Paired, reliance.Paired]:
    """The section's pairing as it runs, and as it runs when it always measures the champion (as before reuse)."""
    paired = reliance.pair(params, commit, comparison)
    with monkeypatch.context() as patched:
        patched.setattr(reliance, "committed", lambda *_: None)
        measured = reliance.pair(params, commit, comparison)
    assert MEASURED in measured.note, measured.note
    assert measured.champion is not None, measured.note
    return paired, measured


def test_the_champion_s_own_importance_is_exactly_what_measuring_it_gives(evaluated, monkeypatch):
    params, commit, predictions = evaluated
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    assert comparison.how == comparable.SAME_ROWS
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert REUSED in paired.note
    assert MEASURED not in paired.note
    assert paired.champion == measured.champion  # every drop of every shuffle, score, rows and seed
    assert paired.champion != paired.candidate  # other model params: the check compares two models
    section = reliance.section(params, commit, comparison)
    assert f"{REUSED}. Intervals" in section


def test_reusing_loads_no_model_and_imports_no_train_module(evaluated, monkeypatch):
    params, commit, predictions = evaluated
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    from ml_gitops import project
    from ml_gitops.core import files

    def refused(*_):
        raise AssertionError("reusing the champion's importance loaded a model or the train module")

    monkeypatch.setattr(files, "load_model", refused)
    monkeypatch.setattr(project, "pipeline", refused)
    assert REUSED in reliance.pair(params, commit, comparison).note


def shuffle_a_column(params) -> None:
    """The same test rows with the same targets, one feature's values in another order: another test file."""
    test = pd.read_parquet(paths.TEST)
    column = next(name for name in test.columns if name != params.data.target)
    test[column] = test[column].to_numpy()[np.random.default_rng(3).permutation(len(test))]
    test.to_parquet(paths.TEST)


def test_a_changed_test_file_with_the_same_rows_measures_the_champion(evaluated, monkeypatch):
    """Only the test file changed (the same rows and targets, so the comparison pairs them): the champion's own
    numbers are of other rows, and measuring it gives others."""
    params, commit, predictions = evaluated
    shuffle_a_column(params)
    evaluate_candidate(params)
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    assert comparison.how == comparable.SAME_ROWS
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert MEASURED in paired.note
    assert REUSED not in paired.note
    assert paired.champion == measured.champion
    assert paired.champion != reliance.parse(
        subprocess.check_output(["git", "show", f"{commit}:{reliance.PATH}"], text=True)
    )


@pytest.mark.parametrize(
    "setting", [("seed", 7), ("importance_repeats", 4), ("importance_max_rows", 40)], ids=lambda s: s[0]
)
def test_other_importance_settings_measure_the_champion(evaluated, setting, monkeypatch):
    params, commit, predictions = evaluated
    name, value = setting
    if name == "seed":
        params = replace(params, seed=value)
    else:
        params = replace(params, evaluate=replace(params.evaluate, **{name: value}))
    evaluate_candidate(params)
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert MEASURED in paired.note
    assert paired.champion == measured.champion


def test_a_max_rows_that_draws_the_same_sample_still_reuses(evaluated, monkeypatch):
    """Above the test set's size, max_rows samples every row whatever its value: the same numbers."""
    params, commit, predictions = evaluated
    params = replace(params, evaluate=replace(params.evaluate, importance_max_rows=10**6))
    evaluate_candidate(params)
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert REUSED in paired.note
    assert paired.champion == measured.champion


def test_a_rescored_comparison_measures_the_champion(evaluated, monkeypatch):
    params, commit, _ = evaluated
    comparison = comparable.Comparison(comparable.RESCORED, "the test set changed")
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert MEASURED in paired.note
    assert paired.champion == measured.champion


def test_other_evaluate_code_or_another_locked_environment_measures_the_champion(evaluated, monkeypatch):
    params, commit, predictions = evaluated
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    original = EVALUATE_CODE.read_text()
    for change, undo in (
        (lambda: EVALUATE_CODE.write_text(original + "\n"), lambda: EVALUATE_CODE.write_text(original)),
        (lambda: reliance.UV_LOCK.write_text("version = 1\n"), reliance.UV_LOCK.unlink),
    ):
        change()
        assert MEASURED in reliance.pair(params, commit, comparison).note
        undo()
    assert REUSED in reliance.pair(params, commit, comparison).note


@pytest.mark.parametrize(
    "committed_text",
    [None, "{not json", '{"score": "accuracy", "rows": 1}'],
    ids=["missing", "corrupt", "incomplete"],
)
def test_a_missing_or_corrupt_champion_importance_measures_the_champion(
    evaluated, committed_text, monkeypatch
):
    """The champion's dvc.lock names the file as it is committed (its md5): only the file itself is wrong."""
    params, commit, predictions = evaluated
    lock = yaml.safe_load(subprocess.check_output(["git", "show", f"{commit}:dvc.lock"], text=True))
    if committed_text is not None:
        (out,) = [
            entry for entry in lock["stages"]["evaluate"]["outs"] if entry["path"] == str(reliance.PATH)
        ]
        out["md5"] = hashlib.md5(committed_text.encode()).hexdigest()  # noqa: S324 - DVC's content address
    candidate = reliance.PATH.read_text()
    commit = commit_champion(committed_text, lock, "the champion's importance broken")
    assert reliance.PATH.read_text() == candidate
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert MEASURED in paired.note
    assert paired.champion == measured.champion


def test_an_importance_file_its_evaluate_did_not_write_measures_the_champion(evaluated, monkeypatch):
    """Committed numbers that differ from those evaluate wrote (the md5 its dvc.lock records) are not trusted."""
    params, commit, predictions = evaluated
    lock = yaml.safe_load(subprocess.check_output(["git", "show", f"{commit}:dvc.lock"], text=True))
    edited = json.loads(subprocess.check_output(["git", "show", f"{commit}:{reliance.PATH}"], text=True))
    first = next(iter(edited["drops"]))
    edited["drops"][first] = [value + 0.5 for value in edited["drops"][first]]
    commit = commit_champion(json.dumps(edited), lock, "the champion's importance edited")
    comparison = comparable.compare(params, commit, predictions, pd.read_parquet(paths.PREDICTIONS))
    paired, measured = paired_both_ways(params, commit, comparison, monkeypatch)
    assert MEASURED in paired.note
    assert paired.champion == measured.champion
