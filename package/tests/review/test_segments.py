"""Segments: one overall number hides a candidate that is better on average and worse for one group of rows. The
report shows the gate metric per segment, champion against candidate, with Bonferroni-corrected paired intervals;
the gate fails on a segment surely worse by more than its tolerance, even when the overall metric improved; small
segments are shown and marked, never judged; segment values are data, shown inert."""

import json
import subprocess
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_cache import cache
from fixture_model.pipeline import TASK
from rendered import render

from ml_gitops import UserError, metrics
from ml_gitops.core import config, paths
from ml_gitops.review import gate, report, segments

REGIONS = ("east", "north", "south", "west")
HOSTILE = "@octocat <img src=x onerror=alert(1)> [win](https://evil.example) | **x** #1"


def two_models(task: str, rows_per_region: int = 1500, classes: int = 2, seed: int = 0):
    """Champion and candidate predictions on the same test rows, and each row's region: the candidate is better in
    every region but north, where it is much worse; overall it is better."""
    rng = np.random.default_rng(seed)
    region = np.repeat(REGIONS, rows_per_region)
    rows = len(region)
    north = region == "north"
    index = pd.Index(np.arange(rows) * 7 + 3, name=None)
    if task == "regression":
        truth = rng.normal(100, 20, rows)
        champion_error = rng.normal(0, 10, rows)
        candidate_error = np.where(north, rng.normal(0, 16, rows), rng.normal(0, 5, rows))
        frame = [
            pd.DataFrame({"y_true": truth, "y_pred": truth + error}, index=index)
            for error in (champion_error, candidate_error)
        ]
        return frame[0], frame[1], pd.DataFrame({"region": region}, index=index)
    labels = [f"c{k}" for k in range(classes)]
    truth = rng.integers(0, classes, rows)
    frames = []
    for noise in (np.full(rows, 1.4), np.where(north, 2.6, 0.7)):
        logits = rng.normal(0, 1, (rows, classes)) * noise[:, None]
        logits[np.arange(rows), truth] += 2.0
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        frame = pd.DataFrame(
            {"y_true": np.array(labels)[truth], "y_pred": np.array(labels)[proba.argmax(axis=1)]}, index=index
        )
        for k, label in enumerate(labels):
            frame[f"proba_{label}"] = proba[:, k]
        frames.append(frame)
    return frames[0], frames[1], pd.DataFrame({"region": region}, index=index)


def with_segments(params, columns: dict, min_rows: int = 100, mode: str = "block"):
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {"columns": columns, "min_rows": min_rows}
    raw["gate"]["segments"] = mode
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    return config.load()


@pytest.mark.parametrize("classes", [2, 3] if TASK == "classification" else [0])
def test_a_candidate_better_overall_and_worse_in_one_segment_fails_the_gate_naming_it(params, classes):
    settings = with_segments(params, {"region": {}})
    old, new, values = two_models(params.task, classes=classes)
    metric = settings.gate.metric
    overall = {
        name: metrics.compute(params.task, frame, [metric])[metric]
        for name, frame in (("old", old), ("new", new))
    }
    direction = metrics.DIRECTIONS[params.task][metric]
    assert (overall["new"] - overall["old"]) * direction > 0, "the candidate is better overall"

    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, metric, measured, settings.segments, settings.gate)
    verdict = gate.verdict(settings, {metric: overall}, segments=judgement)

    assert [row.segment.value for row in judgement.failures] == ["north"]
    assert judgement.judged == 4
    assert judgement.level == pytest.approx(1 - 0.05 / 4)
    assert (verdict.passed, verdict.state) == (False, gate.FAILED)
    north = judgement.failures[0]
    assert verdict.reason.startswith(
        f"segment region = north is worse: {metric} {north.segment.champion:.4f} -> {north.segment.candidate:.4f} "
        f"({north.delta:+.4f}) on 1,500 rows"
    )
    assert "Bonferroni over 4 segments" in verdict.reason
    overall_reason = gate.verdict(settings, {metric: overall}).reason
    assert overall_reason.startswith(f"{metric} {overall['old']:.4f} -> {overall['new']:.4f}")
    assert verdict.reason.endswith(f"Overall: {overall_reason}")


def test_the_same_candidate_passes_when_segments_only_report(params):
    settings = with_segments(params, {"region": {}}, mode="report")
    old, new, values = two_models(params.task)
    metric = settings.gate.metric
    overall = {
        "old": metrics.compute(params.task, old)[metric],
        "new": metrics.compute(params.task, new)[metric],
    }
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, metric, measured, settings.segments, settings.gate)
    verdict = gate.verdict(settings, {metric: overall}, segments=judgement)
    assert verdict.passed
    assert "segment region = north is worse, shown only: gate.segments: report" in verdict.reason


def test_a_segment_tolerance_above_its_loss_lets_it_pass(params):
    old, new, values = two_models(params.task)
    metric = params.gate.metric
    loose = "100%" if params.task == "regression" else 0.9
    settings = with_segments(params, {"region": {"tolerance": loose}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, metric, measured, settings.segments, settings.gate)
    assert judgement.failures == []


def test_each_segment_is_bootstrapped_at_the_bonferroni_level_itself(params):
    """Not a 95% interval widened: the percentiles of the segment's own bootstrap at 1 - 0.05/k."""
    from ml_gitops.review import compare

    old, new, values = two_models(params.task)
    settings = with_segments(params, {"region": {}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    level = 1 - 0.05 / 4
    codes = segments.labels(settings, values)["region"].cat.codes.to_numpy()
    metric = settings.gate.metric
    exact = compare.segment_delta_intervals(params.task, old, new, codes, metric, settings.seed, level)
    assert [(s.low, s.high, s.level) for s in measured] == [(i.low, i.high, level) for i in exact]
    judgement = segments.judge(params.task, metric, measured, settings.segments, settings.gate)
    assert [(row.low, row.high) for row in judgement.rows] == [(i.low, i.high) for i in exact]
    assert judgement.rescaled == 0
    assert "each bootstrapped at that level)" in segments.markdown(judgement)


def test_intervals_of_another_level_are_rescaled_and_said_so(params):
    """A report.json of before levels (95%), or of other segments than the default branch judges: the trusted
    side rescales them by the ratio of normal quantiles, and the table says how many."""
    settings = with_segments(params, {"region": {}})
    found = [segments.Segment("region", name, 500, 0.8, 0.8, -0.01, 0.03) for name in REGIONS]
    summary = {"segments": {"metric": "x", "columns": {"region": [dict(row) for row in _rows(found)]}}}
    _, back = segments.from_summary(summary)
    assert {s.level for s in back} == {0.95}
    judgement = segments.judge(params.task, settings.gate.metric, back, settings.segments, settings.gate)
    ratio = 2.4977 / 1.95996  # normal quantiles of 1 - 0.0125/2 and of 0.975
    assert judgement.rows[0].low == pytest.approx(0.01 - 0.02 * ratio, abs=1e-4)
    assert judgement.rows[0].high == pytest.approx(0.01 + 0.02 * ratio, abs=1e-4)
    assert judgement.rescaled == 4
    assert "4 measured at another level, rescaled by the ratio of normal quantiles" in judgement.describe()
    bad = {"segments": {"metric": "x", "columns": {"region": [{"segment": "a", "rows": 3, "level": 1.5}]}}}
    with pytest.raises(UserError, match="invalid interval level"):
        segments.from_summary(bad)


def _rows(found):
    for s in found:
        yield {
            "segment": s.value,
            "rows": s.rows,
            "champion": s.champion,
            "candidate": s.candidate,
            "low": s.low,
            "high": s.high,
        }


@pytest.mark.skipif(TASK != "classification", reason="roc_auc: undefined on one class")
def test_a_segment_of_one_class_is_shown_not_judged(params):
    old, new, values = two_models(params.task)
    position = np.arange(len(old))
    only = (old["y_true"] == "c0").to_numpy() & (position % 3 == 0)
    values["kind"] = np.where(only, "only c0", np.where(position % 2, "a", "b"))
    settings = with_segments(params, {"kind": {}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, "roc_auc", measured, settings.segments, settings.gate)
    one = next(row for row in judgement.rows if row.segment.value == "only c0")
    assert (one.judged, one.low, one.segment.low, one.segment.champion) == (False, None, None, None)
    assert judgement.judged == 2
    assert "| only c0 |" in segments.markdown(judgement)
    assert "⚠️ metric undefined on these rows" in segments.markdown(judgement)


def test_segments_too_small_to_judge_are_shown_and_marked_not_judged(params):
    old, new, values = two_models(params.task)
    values["plan"] = np.where(np.arange(len(values)) % 100 == 0, "tiny", "big")  # 60 rows of "tiny"
    settings = with_segments(params, {"region": {}, "plan": {}}, min_rows=100)
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, settings.gate.metric, measured, settings.segments, settings.gate)
    tiny = next(row for row in judgement.rows if row.segment.value == "tiny")
    assert (tiny.judged, tiny.worse, tiny.low, tiny.segment.rows) == (False, False, None, 60)
    assert tiny.note == "too small to judge (fewer than 100 rows)"
    assert judgement.judged == 5  # four regions and "big"
    table = segments.markdown(judgement)
    assert "| tiny | 60 |" in table
    assert "⚠️ too small to judge (fewer than 100 rows)" in table
    assert f"{1 - 0.05 / 5:.2%} interval" in table
    assert "Bonferroni: 1 - 0.05/5 for 5 segments judged" in table


def test_numbers_and_dates_are_cut_into_the_bins_given(params):
    frame = pd.DataFrame(
        {
            "age": [10, 30, 49.9, 50, 90, None],
            "signup": ["2023-05-01", "2024-01-01", "2024-06-30T10:00:00Z", "2025-02-01", None, "2023-01-01"],
        }
    )
    settings = with_segments(
        params, {"age": {"bins": [30, 50]}, "signup": {"bins": ["2024-01-01", "2025-01-01"]}}
    )
    shown = segments.labels(settings, frame)
    assert list(shown["age"].astype(str)) == [
        "< 30",
        "30 to < 50",
        "30 to < 50",
        ">= 50",
        ">= 50",
        "(missing)",
    ]
    assert list(shown["signup"].astype(str)) == [
        "< 2024-01-01",
        "2024-01-01 to < 2025-01-01",
        "2024-01-01 to < 2025-01-01",
        ">= 2025-01-01",
        "(missing)",
        "< 2024-01-01",
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"age": {"bins": [50, 30]}}, "segments.columns.age.bins must increase: 30 does not come after"),
        ({"age": {"bins": [30, "2024-01-01"]}}, "segments.columns.age.bins must be all numbers or all dates"),
        ({"age": {"bins": []}}, "segments.columns.age.bins must be a list of increasing numbers or dates"),
        ({"age": {"bins": ["soon"]}}, "segments.columns.age.bins: 'soon' is neither a number nor a date"),
        (
            {"age": {"bnis": [30]}},
            "unknown key segments.columns.age.bnis: did you mean segments.columns.age.bins?",
        ),
        ({"age": [30, 50]}, "segments.columns.age must be a mapping"),
        (
            {"age": {"tolerance": "lots"}},
            "segments.columns.age.tolerance must be a number >= 0 or a percentage",
        ),
        ({"target": {}}, "segments.columns.target: 'target' is data.target"),
        (["age"], "segments.columns must map column names to their settings"),
        ({f"c{k}": {} for k in range(6)}, "segments.columns names 6 columns: at most 5"),
    ],
)
def test_bad_segment_settings_are_refused_in_one_line(params, columns, message):
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {"columns": columns}
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError) as refused:
        config.load()
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"gate": {"segments": "warn"}}, "gate.segments must be block or report, got 'warn'"),
        ({"segments": {"min_rows": 3}}, "segments.min_rows must be a whole number >= 10"),
        ({"segments": {"colums": {}}}, "unknown key segments.colums: did you mean segments.columns?"),
    ],
)
def test_bad_gate_and_segment_keys_are_refused(params, section, message):
    raw = yaml.safe_load(paths.PARAMS.read_text())
    for name, values in section.items():
        raw.setdefault(name, {}).update(values)
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    with pytest.raises(UserError, match=message):
        config.load()


def test_a_column_the_test_rows_lack_a_number_column_without_bins_and_text_in_number_bins_are_refused(params):
    settings = with_segments(params, {"age": {}})
    with pytest.raises(UserError, match="segments.columns names 'age', which the test rows do not have"):
        segments.labels(settings, pd.DataFrame({"region": ["a"]}))
    with pytest.raises(
        UserError, match=r"segments.columns.age has 200 distinct values \(at most 30\): give bins"
    ):
        segments.labels(settings, pd.DataFrame({"age": np.arange(200.0)}))
    settings = with_segments(params, {"age": {"bins": [30]}})
    with pytest.raises(UserError, match="segments.columns.age.bins are numbers, but 'age' holds 'old'"):
        segments.labels(settings, pd.DataFrame({"age": ["12", "old"]}))
    settings = with_segments(params, {"day": {}})
    with pytest.raises(UserError, match="segments.columns.day is a date column: give bins"):
        segments.labels(settings, pd.DataFrame({"day": pd.to_datetime(["2024-01-01"])}))


def test_a_hostile_segment_value_renders_inert(params):
    old, new, values = two_models(params.task)
    values["region"] = values["region"].replace("north", HOSTILE)
    settings = with_segments(params, {"region": {}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    judgement = segments.judge(params.task, settings.gate.metric, measured, settings.segments, settings.gate)
    metric = settings.gate.metric
    reason = gate.verdict(settings, {metric: {"old": 0.5, "new": 0.5}}, segments=judgement).reason
    for markdown in (segments.markdown(judgement), f"**{reason}.**"):
        shown = render(markdown)
        assert (shown.links, shown.images, shown.raw_tags, shown.mentions, shown.references) == (
            [],
            [],
            [],
            [],
            [],
        )
        assert "onerror" not in "".join(shown.raw_tags)
    text = "".join(render(segments.markdown(judgement)).text).replace("\u200b", "")
    assert HOSTILE in text  # shown as it is, every character of it


def test_report_json_s_segments_come_back_as_they_went_and_a_bad_shape_is_refused(params):
    old, new, values = two_models(params.task, rows_per_region=200)
    settings = with_segments(params, {"region": {}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    summary = json.loads(json.dumps({"segments": segments.to_summary(settings.gate.metric, measured)}))
    assert segments.from_summary(summary) == (settings.gate.metric, measured)
    for bad in (
        {"metric": "x", "columns": {"region": [{"segment": "a", "rows": -1}]}},
        {"metric": "x", "columns": {"region": [{"segment": "a", "rows": 3, "low": 1.0, "high": 0.0}]}},
        {"metric": "x", "columns": {"region": [{"segment": "a", "rows": 3, "champion": "0.9"}]}},
        {"metric": "x", "columns": ["region"]},
    ):
        with pytest.raises(UserError, match="refusing the artifact"):
            segments.from_summary({"segments": bad})


def test_a_column_of_many_bins_comes_back_from_report_json_and_absurd_sizes_are_refused(params):
    """40 bins make 41 ranges and (missing): the trusted side takes every segment the run writes, and refuses more
    than a column can make, in one line; the run refuses more bins than that."""
    old, new, values = two_models(params.task)
    age = np.arange(len(values)) % 42.0
    values["age"] = np.where(age == 41, np.nan, age)
    settings = with_segments(params, {"age": {"bins": list(range(1, 41))}})
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    assert len(measured) == 42
    summary = json.loads(json.dumps({"segments": segments.to_summary(settings.gate.metric, measured)}))
    assert segments.from_summary(summary) == (settings.gate.metric, measured)
    most = with_segments(params, {"age": {"bins": list(range(segments.MAX_BINS))}})
    assert len(segments.labels(most, values)["age"].cat.categories) == segments.MAX_COLUMN_SEGMENTS
    rows = [{"segment": str(k), "rows": 1} for k in range(segments.MAX_COLUMN_SEGMENTS + 1)]
    with pytest.raises(
        UserError, match=r"^report.json has 103 segments of one column, more than a report writes"
    ):
        segments.from_summary({"segments": {"metric": "x", "columns": {"age": rows}}})
    with pytest.raises(UserError, match=r"segments.columns.age.bins has 101 edges \(at most 100\)"):
        with_segments(
            params, {"age": {"bins": list(range(segments.MAX_BINS + 1))}}
        )  # refused as params.yaml loads


# The whole report, on files as a project has them: the champion committed, the candidate's outputs in place.


def _git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def committed_champion(params):
    """The champion's predictions in the DVC cache, its metrics and dvc.lock committed; then the candidate's
    predictions, metrics, test rows and segments side file in place, and params.yaml naming the segments."""
    old, new, values = two_models(params.task)
    values["plan"] = np.where(np.arange(len(values)) % 100 == 0, HOSTILE, "standard")
    paths.PREDICTIONS.parent.mkdir(parents=True, exist_ok=True)
    old.to_parquet(paths.PREDICTIONS)
    paths.METRICS.write_text(json.dumps(metrics.compute(params.task, old)))
    lock = {
        "stages": {"evaluate": {"outs": [{"path": str(paths.PREDICTIONS), "md5": cache(paths.PREDICTIONS)}]}}
    }
    (paths.PARAMS.parent / "dvc.lock").write_text(yaml.safe_dump(lock))
    _git("init", "-q")
    _git("add", "params.yaml", "dvc.lock", str(paths.METRICS))
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "champion")
    new.to_parquet(paths.PREDICTIONS)
    paths.METRICS.write_text(json.dumps(metrics.compute(params.task, new)))
    paths.PREPARED.mkdir(parents=True, exist_ok=True)
    new[["y_true"]].rename(columns={"y_true": params.data.target}).to_parquet(paths.TEST)
    values.to_parquet(segments.SEGMENTS_FILE)
    return with_segments(params, {"region": {}, "plan": {}}), old, new


def test_the_report_fails_the_gate_on_the_worse_segment_and_tables_every_segment(committed_champion, capsys):
    settings, old, new = committed_champion
    metric = settings.gate.metric
    report.run(settings, "HEAD", "mermaid", pull_request=7, head_sha="b" * 40)
    summary = json.loads(paths.REPORT_SUMMARY.read_text())
    written = paths.REPORT.read_text()
    direction = metrics.DIRECTIONS[settings.task][metric]
    assert (summary["metrics"][metric] - summary["champion_metrics"][metric]) * direction > 0, (
        "better overall"
    )
    assert summary["gate"] == "fail"
    assert summary["gate_reason"].startswith(f"segment region = north is worse: {metric} ")
    assert written.startswith(
        f"## Model report: ❌ gate failed\n\n**segment region = north is worse: {metric} "
    )
    assert "#### region\n\n| segment | rows | champion | candidate | delta |" in written
    assert "#### plan" in written
    assert "| north | 1,500 |" in written
    assert "❌ worse" in written
    assert "⚠️ too small to judge (fewer than 100 rows)" in written  # the 60 rows of the hostile plan
    assert sorted(summary["segments"]["columns"]) == ["plan", "region"]
    assert gate.run(settings, "HEAD") == 1
    assert "gate FAILED: segment region = north is worse" in capsys.readouterr().out
    shown = render(written)
    assert (shown.links, shown.images, shown.mentions) == ([], [], [])
    assert set(shown.raw_tags) == {"details", "summary"}  # the report's own "Reproduce this run"


def test_without_segments_the_report_is_as_before(committed_champion):
    settings, old, new = committed_champion
    plain = replace(settings, segments=replace(settings.segments, columns=()))
    report.run(plain, "HEAD", "mermaid", pull_request=7, head_sha="b" * 40)
    summary = json.loads(paths.REPORT_SUMMARY.read_text())
    assert "segments" not in summary
    assert summary["gate"] == "pass"
    assert "### Segments" not in paths.REPORT.read_text()


def test_one_model_alone_gets_its_metric_and_interval_per_segment_small_ones_without(params):
    """The model card's table: the candidate's own gate metric per segment, as metrics.compute gives it on those
    rows, inside its 95% interval; a segment below segments.min_rows has its number, no interval."""
    _, new, values = two_models(params.task)
    values["plan"] = np.where(np.arange(len(values)) % 100 == 0, "tiny", "big")
    settings = with_segments(params, {"region": {}, "plan": {}})
    found = segments.alone(settings, new, segments.labels(settings, values))
    assert [(row.column, row.value, row.rows) for row in found] == [
        ("plan", "big", 5940),
        ("plan", "tiny", 60),
        *[("region", region, 1500) for region in REGIONS],
    ]
    metric = settings.gate.metric
    for row in found:
        rows = values[row.column].to_numpy() == row.value
        assert row.metric == metrics.compute(params.task, new[rows], [metric])[metric]
        if row.rows >= 100:
            assert row.low <= row.metric <= row.high
        else:
            assert (row.low, row.high) == (None, None)
