"""`monitor --challenger`: the production model and a challenger that scored the same requests in shadow, compared on
the labelled requests both answered, with review/compare.py's paired intervals; latency, coverage and refusals."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fixture_model.pipeline import TASK
from fixture_model.pipeline.train import MODEL_TYPES
from rendered import render

from ml_gitops.cli import main
from ml_gitops.core import config, files, paths
from ml_gitops.monitor import challenger, performance
from ml_gitops.release import prediction_log, serve
from ml_gitops.review.compare import delta_intervals
from ml_gitops.review.markdown import text

DAYS = ("2026-03-02", "2026-03-03")
CHALLENGER = "f" * 64
SKIPPED = range(100, 107)  # each day's production requests the challenger failed to score: no row of its own


@dataclass
class Traffic:
    params: config.Config
    features: pd.DataFrame  # one day's requests (the test set four times)
    champion: pd.DataFrame  # the production model's answer to them
    truth: np.ndarray
    where: Path

    def ids(self, day: str) -> list[str]:
        return [f"{day}-{row}" for row in range(len(self.features))]

    def times(self, day: str) -> pd.DatetimeIndex:
        return pd.Timestamp(day, tz="UTC") + pd.to_timedelta(np.arange(len(self.features)), unit="s")


@pytest.fixture
def traffic(trained, tmp_path):
    """Two days of the champion's requests in the log, with its call times (score_ms), and no label yet."""
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["monitoring"] |= {
        "log_dir": str(tmp_path / "log"),
        "labels": str(tmp_path / "labels"),
        "min_labels": 50,
    }
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    features = pd.concat([pd.DataFrame(serve.json_records(test.drop(columns=[trained.data.target])))] * 4)
    features = features.reset_index(drop=True)
    truth = np.tile(test[trained.data.target].to_numpy(), 4)
    found = Traffic(config.load(), features, serve.answer_of(model, features), truth, tmp_path)
    for day in DAYS:
        write(found, day, found.champion, "v1.0.0", files.sha256(paths.MODEL), score_ms=2.0)
    return found


def write(
    traffic: Traffic,
    day: str,
    answer: pd.DataFrame,
    version: str,
    digest: str,
    score_ms: float | np.ndarray | None,
    rows: np.ndarray | None = None,
) -> None:
    """One day's log file of one model, as prediction_log writes it, with score_ms (None: a log from before it)."""
    rows = np.arange(len(traffic.features)) if rows is None else rows
    logged = prediction_log.log_rows(
        traffic.features.iloc[rows],
        answer.iloc[rows],
        [traffic.ids(day)[row] for row in rows],
        version,
        digest,
        times=traffic.times(day)[rows],
    ).drop(columns=[performance.LATENCY], errors="ignore")
    if score_ms is not None:
        logged[performance.LATENCY] = np.broadcast_to(score_ms, len(traffic.features))[rows]
    prediction_log.write_batch(logged, str(traffic.where / "log"))


def shadow(traffic: Traffic, answer: pd.DataFrame, version: str = "v1.1.0", timed: bool = True) -> np.ndarray:
    """The challenger's rows of both days (all but SKIPPED requests a day); its call times (none: not `timed`)."""
    milliseconds = np.linspace(5, 50, len(traffic.features)) if timed else None
    answered = np.setdiff1d(np.arange(len(traffic.features)), SKIPPED)
    for day in DAYS:
        write(traffic, day, answer, version, CHALLENGER, milliseconds, answered)
    return milliseconds


def label(traffic: Traffic, every: int = 3) -> pd.DataFrame:
    """The true outcomes of every `every`-th request of each day."""
    frame = pd.concat(
        [pd.DataFrame({"request_id": traffic.ids(day), "label": traffic.truth}).iloc[::every] for day in DAYS]
    )
    (traffic.where / "labels").mkdir(exist_ok=True)
    frame.to_csv(traffic.where / "labels" / "labels.csv", index=False)
    return frame


def perfect(traffic: Traffic) -> pd.DataFrame:
    """A challenger that answers every request right, sure of it."""
    answer = traffic.champion.copy()
    if traffic.params.task == "regression":
        return answer.assign(prediction=traffic.truth.astype(float))
    truth = pd.Series(traffic.truth).astype(str)
    for column in [c for c in answer.columns if c.startswith("proba_")]:
        answer[column] = (truth == column.removeprefix("proba_")).astype(float).to_numpy() * 0.98 + 0.01
    return answer.assign(prediction=traffic.truth.astype(answer["prediction"].dtype))


def expected_frames(
    traffic: Traffic, answer: pd.DataFrame, every: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both models' predictions on the labelled requests the challenger answered, in the log's order, written out
    from what the test logged (not from the monitor's join)."""
    rows = [row for row in range(len(traffic.features)) if row % every == 0 and row not in SKIPPED]
    probabilities = performance.in_the_release_s_order(traffic.champion.columns, config.load())
    frames = []
    for model in (traffic.champion, answer):
        part = model.iloc[rows].reset_index(drop=True)
        labelled = part.assign(label=performance.as_texts(pd.Series(traffic.truth[rows])).to_numpy())
        if traffic.params.task == "regression":
            labelled = labelled.assign(label=traffic.truth[rows])
        frames.append(performance.as_predictions(labelled, traffic.params.task, probabilities))
    return (
        pd.concat([frames[0]] * len(DAYS), ignore_index=True),
        pd.concat([frames[1]] * len(DAYS), ignore_index=True),
    )


def test_a_better_challenger_is_better_with_review_compare_s_intervals(traffic):
    answer = perfect(traffic)
    milliseconds = shadow(traffic, answer)
    label(traffic)
    summary = performance.run(traffic.params, challenger=CHALLENGER)
    entry = summary["challenger"]
    assert entry["verdict"] == challenger.BETTER
    before, after = expected_frames(traffic, answer)
    assert entry["paired"] == len(before)
    intervals = delta_intervals(traffic.params.task, before, after, traffic.params.seed)
    for name, row in entry["metrics"].items():
        assert (row["low"], row["high"]) == (round(intervals[name].low, 6), round(intervals[name].high, 6))
    assert entry["model_versions"] == ["v1.1.0"]
    assert entry["coverage"] == {
        "production": len(DAYS) * len(traffic.features),
        "answered": len(DAYS) * (len(traffic.features) - len(SKIPPED)),
        "no_answer": len(DAYS) * len(SKIPPED),
    }
    served = np.tile(np.delete(milliseconds, SKIPPED), len(DAYS))
    assert entry["latency"]["challenger"] == {
        "p50": round(float(np.percentile(served, 50)), 3),
        "p99": round(float(np.percentile(served, 99)), 3),
        "rows": len(served),
    }
    assert entry["latency"]["champion"]["p50"] == 2.0
    section = (paths.MONITOR / challenger.SECTION_FILE).read_text()
    assert section.startswith("## Challenger on production traffic")
    assert section.strip() in (paths.MONITOR / "monitor.md").read_text()
    assert json.loads((paths.MONITOR / "monitor.json").read_text())["challenger"] == entry
    share = len(SKIPPED) / len(traffic.features)
    assert f"{len(DAYS) * len(SKIPPED):,} ({share:.2%}) have no challenger answer" in section


def flipped(traffic: Traffic, answer: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """`answer` wrong on `rows`: the other class, sure of it (or three times the value)."""
    answer = answer.copy()
    if traffic.params.task == "regression":
        answer.loc[rows, "prediction"] *= 3
        return answer
    probabilities = [c for c in answer.columns if c.startswith("proba_")]
    answer.loc[rows, probabilities] = answer.loc[rows, probabilities[::-1]].to_numpy()
    classes = [c.removeprefix("proba_") for c in probabilities]
    other = answer.loc[rows, "prediction"].astype(str).map(dict(zip(classes, classes[::-1], strict=True)))
    answer.loc[rows, "prediction"] = other.astype(answer["prediction"].dtype).to_numpy()
    return answer


def segments_on(traffic: Traffic, blocks: bool) -> tuple[str, np.ndarray]:
    """A segment column cut at its 80th percentile; an overall tolerance so wide only the segments can judge."""
    column = traffic.features.columns[0]
    cut = float(traffic.features[column].quantile(0.8))
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {"columns": {column: {"bins": [cut], "tolerance": 0.005}}, "min_rows": 30}
    raw["gate"] |= {"tolerance": 0.5 if traffic.params.task == "classification" else 1000.0}
    raw["gate"]["segments"] = "block" if blocks else "report"
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    traffic.params = config.load()
    return column, np.flatnonzero(traffic.features[column].to_numpy(float) >= cut)


@pytest.mark.parametrize("blocks", [True, False])
def test_a_challenger_worse_on_one_segment_is_worse_where_the_gate_blocks_it(traffic, blocks):
    column, segment = segments_on(traffic, blocks)
    shadow(traffic, flipped(traffic, perfect(traffic), segment))
    label(traffic)
    entry = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]
    rows = {row["segment"]: row for row in entry["segments"]["rows"]}
    worse = [value for value, row in rows.items() if row["worse"]]
    assert len(rows) == 2
    assert worse == [next(value for value in rows if value.startswith(">="))]
    assert entry["overall"] in (challenger.BETTER, challenger.WITHIN)
    assert entry["verdict"] == (challenger.WORSE if blocks else entry["overall"])
    assert entry["by_segment"] is blocks
    section = (paths.MONITOR / challenger.SECTION_FILE).read_text()
    assert f"#### {text(column)}" in section
    assert "| worse beyond tolerance |" in section


def test_an_equal_challenger_is_within_tolerance_with_zero_deltas(traffic):
    shadow(traffic, traffic.champion)
    label(traffic)
    entry = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]
    assert entry["verdict"] == challenger.WITHIN
    for row in entry["metrics"].values():
        assert row["champion"] == row["challenger"]
        assert (row["low"], row["high"]) == (0, 0)


@pytest.mark.skipif(TASK != "classification", reason="a classifier's roc_auc")
def test_a_metric_that_is_not_a_number_on_the_labels_is_not_called_a_loss(traffic):
    """roc_auc on labels of one class is NaN: the gate fails a NaN to stop a merge, which read here as the
    challenger "worse beyond tolerance" though nothing was measured."""
    shadow(traffic, traffic.champion)
    frame = label(traffic)
    frame.assign(label=frame["label"].iloc[0]).to_csv(traffic.where / "labels" / "labels.csv", index=False)
    entry = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]
    assert entry["verdict"] == challenger.UNDEFINED


def refused(capsys, *arguments: str) -> str:
    assert main(["monitor", *arguments]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert not (paths.MONITOR / challenger.SECTION_FILE).exists()
    return error


def test_an_unknown_ambiguous_or_champion_challenger_is_refused_in_one_line(traffic, capsys):
    shadow(traffic, perfect(traffic))
    label(traffic)
    assert "holds no predictions of the challenger 'eeeeeeeeeeeeeeeeeeee" in refused(
        capsys, "--challenger", "e" * 64
    )
    assert "holds no predictions of the challenger 'v9.9.9' between 2026-03-03" in refused(
        capsys, "--challenger", "v9.9.9", "--since", "2026-03-03"
    )
    for champion in ("v1.0.0", files.sha256(paths.MODEL).upper()):
        assert "is the champion itself" in refused(capsys, "--challenger", champion)
    write(traffic, DAYS[0], perfect(traffic), "v1.1.0", "a" * 64, 3.0, np.arange(5))
    error = refused(capsys, "--challenger", "v1.1.0")
    assert (
        "version 'v1.1.0' names 2 models in the prediction log (sha256 aaaaaaaaaaaa, ffffffffffff)" in error
    )
    assert main(["monitor", "--challenger", CHALLENGER]) == 0, "the digest names one"


def test_no_labelled_request_both_answered_is_refused(traffic, capsys):
    shadow(traffic, perfect(traffic))
    frame = pd.DataFrame({"request_id": [f"{day}-{row}" for day in DAYS for row in SKIPPED], "label": 1})
    (traffic.where / "labels").mkdir()
    frame.assign(label=traffic.truth[list(SKIPPED) * len(DAYS)]).to_csv(traffic.where / "labels" / "l.csv")
    error = refused(capsys, "--challenger", CHALLENGER)
    assert "no labelled request was answered by both the champion and the challenger" in error


def test_a_log_written_before_score_ms_says_latency_was_not_logged(traffic):
    shutil.rmtree(traffic.where / "log")
    for day in DAYS:
        write(traffic, day, traffic.champion, "v1.0.0", files.sha256(paths.MODEL), score_ms=None)
    shadow(traffic, perfect(traffic), timed=False)
    label(traffic)
    entry = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]
    assert entry["latency"] is None
    assert "Latency was not logged" in (paths.MONITOR / challenger.SECTION_FILE).read_text()


def test_latency_is_read_when_only_the_newer_files_hold_it(traffic):
    """The dataset's schema comes from one file: an older one, written before score_ms, must not hide it."""
    shutil.rmtree(traffic.where / "log")
    write(traffic, DAYS[0], traffic.champion, "v1.0.0", files.sha256(paths.MODEL), score_ms=None)
    write(traffic, DAYS[1], traffic.champion, "v1.0.0", files.sha256(paths.MODEL), score_ms=2.0)
    write(traffic, DAYS[1], perfect(traffic), "v1.1.0", CHALLENGER, 9.0)
    label(traffic)
    latency = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]["latency"]
    assert latency["champion"] == {"p50": 2.0, "p99": 2.0, "rows": len(traffic.features)}
    assert latency["challenger"] == {"p50": 9.0, "p99": 9.0, "rows": len(traffic.features)}


def test_a_hostile_version_reaches_markdown_inert(traffic):
    hostile = "@octocat <img src=x onerror=alert(1)> [a](https://evil.example) `x` | #1"
    shadow(traffic, perfect(traffic), version=hostile)
    label(traffic)
    performance.run(traffic.params, challenger=hostile)  # named by its version
    for written in (
        (paths.MONITOR / challenger.SECTION_FILE).read_text(),
        (paths.MONITOR / "monitor.md").read_text(),
    ):
        assert text(hostile) in written
        shown = render(written)
        assert (shown.links, shown.raw_tags, shown.mentions) == ([], [], [])
        assert set(shown.images) <= {"metric.png"}, "the monitor's own plot only"


def test_a_run_without_a_challenger_leaves_no_section_of_an_earlier_one(traffic):
    shadow(traffic, perfect(traffic))
    label(traffic)
    performance.run(traffic.params, challenger=CHALLENGER)
    assert (paths.MONITOR / challenger.SECTION_FILE).exists()
    summary = performance.run(traffic.params)
    assert "challenger" not in summary
    assert not (paths.MONITOR / challenger.SECTION_FILE).exists()
    assert "Challenger on production traffic" not in (paths.MONITOR / "monitor.md").read_text()


def test_coverage_equals_the_straightforward_count_per_time():
    """No answer: per logged time, the production rows beyond the challenger's rows of that time, counted one by one
    (times shared by the rows of one request, answers of times production never logged, any order)."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        production = rng.integers(0, 30, rng.integers(0, 60))
        answered = rng.choice(production, size=rng.integers(0, len(production) + 1), replace=False)
        answered = np.concatenate([answered, rng.integers(0, 40, rng.integers(0, 3))]).astype(np.int64)
        expected = sum(
            max(0, np.count_nonzero(production == t) - np.count_nonzero(answered == t))
            for t in np.unique(production)
        )
        found = challenger._coverage(rng.permutation(production), rng.permutation(answered))
        assert found == {
            "production": len(production),
            "answered": len(production) - expected,
            "no_answer": expected,
        }


def test_a_labelled_request_the_challenger_answered_twice_is_left_out():
    notes: list[str] = []
    positions = np.array([0, -1, 1, 2, -1])  # the champion's predictions: each one's label, or none
    answers = np.array([2, 1, -1, 1, 0])  # the challenger's: label 1 twice (a reused id)
    assert challenger._answer_of(positions, answers, notes).tolist() == [4, -1, -1, 0, -1]
    assert notes == [
        "left out 1 labelled request ids the challenger answered more than once: a caller reused its "
        "X-Request-ID, so their answers cannot be told apart"
    ]


def test_a_challenger_answer_logged_at_another_time_is_not_paired(traffic):
    """The contract gives a challenger row its production row's id and time: one with the id alone is another
    request that reused the id, left out and said."""
    answer = perfect(traffic)
    for day in DAYS:
        logged = prediction_log.log_rows(
            traffic.features, answer, traffic.ids(day), "v1.1.0", CHALLENGER, times=traffic.times(day)
        )
        if day == DAYS[0]:
            logged.loc[0, "time"] += pd.Timedelta(hours=1)  # request 0 is labelled (every third is)
        prediction_log.write_batch(logged, str(traffic.where / "log"))
    label(traffic)
    entry = performance.run(traffic.params, challenger=CHALLENGER)["challenger"]
    assert entry["paired"] == len(DAYS) * len(range(0, len(traffic.features), 3)) - 1
    assert entry["notes"] == [
        "left out 1 labelled requests whose challenger answer has another time than the production answer: a "
        "caller reused its X-Request-ID, so they cannot be paired"
    ]


def test_the_challenger_s_label_positions_are_arrow_s_index_in_on_every_chunk():
    """monitor --challenger looks the challenger's ids up a run of chunks per core: the same positions as one
    index_in over the whole column (chunk boundaries, ids without a label, an id twice)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = [f"r-{n}" for n in range(1_000)] + ["r-7"]
    rows = pa.table({"request_id": pa.chunked_array([ids[:300], ids[300:301], ids[301:]], pa.large_string())})
    labels = pd.DataFrame({"request_id": [f"r-{n}" for n in range(0, 2_000, 3)], "label": "x"})
    expected = pc.fill_null(
        pc.index_in(rows["request_id"], pa.array(labels["request_id"], pa.large_string())), -1
    )
    found = challenger._label_positions(rows, labels)
    np.testing.assert_array_equal(found, expected.to_numpy())
    assert found.dtype == np.int64
