"""The gate metric per segment: the test rows grouped by a column (segments.columns in params.yaml), the champion
against the candidate on each group's rows, with a paired bootstrap interval of the delta.

One overall number hides a model that is better on average and worse for one region, plan or age band. Each
segment's interval is a Bonferroni-corrected one: with k segments judged (over every column), each interval is at
1 - 0.05/k, so the chance that any segment is flagged by chance alone stays at most 5%. The run bootstraps each
interval at that level itself (review/compare.py's segment_delta_intervals: its percentiles at 0.025/k and
1 - 0.025/k). Only when the trusted side judges another set of segments than the run measured (the default
branch's params.yaml names other columns or minimum rows) does it rescale the run's intervals to its own level, by
the ratio of the normal quantiles, and says so. A segment of fewer than segments.min_rows rows is shown and marked,
never judged.

Segment values are data (a pull request or the public can write them): they reach Markdown only through
review/markdown.py's `text`.

Public API (the report, the gate, the trusted verdict, the comment, the model card):
- `labels(config, frame)`: each row's segment per column, as text;
- `read_labels(config, index)`: the segments of the test rows, from the side file prepare writes;
- `measure(config, candidate, champion, labels)`: the `Segment`s, both models' numbers on each;
- `alone(config, predictions, labels)`: one model's numbers per segment, with their intervals (the model card);
- `score(task, predictions, metric)`: one metric on some rows, None where it is undefined;
- `judge(task, metric, segments, settings, gate)`: the `Judgement` (corrected intervals, the segments that fail);
- `to_summary` / `from_summary`: the segments in report.json and back, checked;
- `markdown(judgement)`: one table per column.
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np
import pandas as pd

from .. import UserError
from ..core import paths
from ..core.config import (
    MAX_SEGMENT_BINS,
    MAX_SEGMENT_COLUMNS,
    Config,
    GateConfig,
    SegmentColumn,
    SegmentsConfig,
)
from ..metrics import DIRECTIONS, compute, compute_groups, score_order
from . import markdown as inert

SEGMENTS_FILE = paths.PREPARED / "segments.parquet"  # the test rows' segment columns, written by prepare
MAX_SEGMENTS = 30  # per column: a column with more distinct values needs bins
MAX_BINS = (
    MAX_SEGMENT_BINS  # edges per column (config refuses more): each range has its own draws, about 1 MB
)
MAX_COLUMN_SEGMENTS = max(MAX_SEGMENTS, MAX_BINS + 1) + 1  # a column's values or ranges, and MISSING
MAX_VALUE_CHARS = 80  # a segment's value as report.json carries it
MISSING = "(missing)"
LEVEL = 0.95  # the family-wise confidence of the segments' intervals
CORRECTION = "Bonferroni"


@dataclass(frozen=True)
class Segment:
    """One group of test rows: both models' gate metric on it and the paired interval of the delta at `level`."""

    column: str
    value: str  # the segment's value or range, as text (data: sanitise before showing)
    rows: int
    champion: float | None  # None: no champion, or the metric is undefined on these rows (one class only)
    candidate: float | None
    low: float | None = None  # bootstrap interval of candidate - champion at `level` (None: not computed)
    high: float | None = None
    level: float = LEVEL  # the confidence of low and high: the run's 1 - 0.05/k


@dataclass(frozen=True)
class Judged:
    segment: Segment
    judged: bool  # large enough, with both numbers and an interval
    low: float | None  # the corrected interval
    high: float | None
    worse: bool  # worse by more than its tolerance, and its corrected interval excludes zero
    tolerance: str  # as params.yaml gives it
    note: str = ""  # why it is not judged

    @property
    def delta(self) -> float | None:
        s = self.segment
        return None if s.champion is None or s.candidate is None else s.candidate - s.champion


@dataclass(frozen=True)
class Judgement:
    metric: str
    level: float  # each corrected interval's confidence: 1 - 0.05/k
    judged: int  # k, the segments judged
    min_rows: int
    rows: tuple[Judged, ...]
    rescaled: int = 0  # intervals measured at another level, rescaled by the ratio of normal quantiles

    @property
    def failures(self) -> list[Judged]:
        """The segments that fail the gate's rule, worst first."""
        worse = [row for row in self.rows if row.worse]
        return sorted(worse, key=lambda row: -abs(row.delta or 0))

    def describe(self) -> str:
        """How the intervals were corrected, in one sentence."""
        rescaled = (
            f"; {self.rescaled} measured at another level, rescaled by the ratio of normal quantiles"
            if self.rescaled
            else ""
        )
        return (
            f"{self.level:.2%} intervals ({CORRECTION}: 1 - 0.05/{self.judged} for {self.judged} segments judged, "
            f"each bootstrapped at that level{rescaled})"
            if self.judged > 1
            else f"95% intervals (one segment judged: no correction{rescaled})"
        )


def labels(config: Config, frame) -> pd.DataFrame:
    """Each row's segment for every column of segments.columns, as text: the value itself, or the range of bins
    it falls in ("< 30", "30 to < 50", ">= 70"), or MISSING. Refuse a column the frame lacks, a number or date
    column without bins, and values the bins cannot cut."""
    shown = {}
    for column in config.segments.columns:
        if column.name not in frame.columns:
            raise UserError(
                f"segments.columns names '{column.name}', which the test rows do not have: run dvc repro "
                f"(prepare writes {SEGMENTS_FILE}), or fix the name in params.yaml"
            )
        shown[column.name] = _cut(frame[column.name], column) if column.bins else _values(frame[column.name])
    return pd.DataFrame(shown, index=frame.index)


def _values(values: pd.Series) -> pd.Series:
    key = f"segments.columns.{values.name}"
    if pd.api.types.is_datetime64_any_dtype(values):
        raise UserError(
            f"params.yaml: {key} is a date column: give bins to cut it, e.g. {{bins: [2024-01-01]}}"
        )
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) > MAX_SEGMENTS:
        raise UserError(
            f"params.yaml: {key} has {len(uniques):,} distinct values (at most {MAX_SEGMENTS}): give bins to cut "
            "it into ranges, e.g. {bins: [30, 50, 70]}"
        )
    texts, positions = np.unique(
        [str(value) for value in uniques], return_inverse=True
    )  # 1 and "1": one segment
    codes = np.where(codes < 0, len(texts), positions.reshape(-1)[codes] if len(uniques) else codes)
    return pd.Series(pd.Categorical.from_codes(codes, categories=[*texts, MISSING]), index=values.index)


def _cut(values: pd.Series, column: SegmentColumn) -> pd.Series:
    import numpy as np

    key = f"segments.columns.{column.name}.bins"
    dates = isinstance(column.bins[0], pd.Timestamp)
    converted = _as_dates(values, key) if dates else pd.to_numeric(values, errors="coerce")
    wrong = converted.isna() & values.notna()
    if wrong.any():
        kind = "dates" if dates else "numbers"
        example = str(values[wrong].iloc[0])[:40]
        raise UserError(f"params.yaml: {key} are {kind}, but '{column.name}' holds {example!r}: fix the bins")
    edges = np.array([edge.value for edge in column.bins] if dates else column.bins)
    numbers = converted.to_numpy().view("int64") if dates else converted.to_numpy(float)
    bins = np.searchsorted(edges, numbers, side="right")
    bins[converted.isna().to_numpy()] = len(edges) + 1
    names = _range_names([_edge(edge) for edge in column.bins]) + [MISSING]
    return pd.Series(pd.Categorical.from_codes(bins, categories=names), index=values.index)


def _as_dates(values: pd.Series, key: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    if values.dt.tz is not None:
        values = values.dt.tz_convert(None)
    return values.astype("datetime64[ns]")


def _edge(edge) -> str:
    if isinstance(edge, pd.Timestamp):
        return edge.strftime("%Y-%m-%d") if edge == edge.normalize() else edge.isoformat()
    return f"{edge:g}"


def _range_names(edges: list[str]) -> list[str]:
    inner = [f"{low} to < {high}" for low, high in zip(edges, edges[1:], strict=False)]
    return [f"< {edges[0]}", *inner, f">= {edges[-1]}"]


def read_labels(config: Config, index) -> pd.DataFrame:
    """The segments of the test rows `index` names, from the side file prepare writes (data/prepared/segments.parquet:
    the segment columns of every test row, those under data.drop too)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not SEGMENTS_FILE.is_file():
        raise UserError(f"{SEGMENTS_FILE} is missing but params.yaml names segments: run dvc repro")
    schema = pq.read_schema(SEGMENTS_FILE)
    texts = [  # read as categories, as Parquet stores them: the same values, without hashing a million texts
        column.name
        for column in config.segments.columns
        if not column.bins
        and column.name in schema.names
        and (
            pa.types.is_string(schema.field(column.name).type)
            or pa.types.is_large_string(schema.field(column.name).type)
        )
    ]
    values = pd.read_parquet(SEGMENTS_FILE, read_dictionary=texts)
    if not values.index.equals(index):
        if not values.index.is_unique or not index.isin(values.index).all():
            raise UserError(
                f"{SEGMENTS_FILE} is not of the test rows {paths.PREDICTIONS} holds: run dvc repro"
            )
        values = values.loc[index]
    return labels(config, values)


def measure(
    config: Config, candidate: pd.DataFrame, champion: pd.DataFrame | None, segment_labels: pd.DataFrame
) -> list[Segment]:
    """The gate metric of both models on each segment's rows (both frames indexed like `segment_labels`), with the
    paired bootstrap interval of the delta at the Bonferroni level 1 - 0.05/k, k the segments large enough to
    judge (review/compare.py); `champion` None: the candidate's alone."""
    metric, minimum = config.gate.metric, config.segments.min_rows
    candidate, champion = _classes_once(config.task, candidate, champion)
    codes = _codes(segment_labels)
    orders = tuple(  # a binary roc_auc's scores sorted once, for the point estimates and the bootstrap
        None if frame is None else score_order(config.task, frame, metric) for frame in (champion, candidate)
    )
    mine = _scores(config.task, candidate, metric, codes, orders[1])
    theirs = _scores(config.task, champion, metric, codes, orders[0]) if champion is not None else None
    found = [
        Segment(column, value, rows, None if theirs is None else theirs[i][code], mine[i][code])
        for i, column, code, value, rows in _segments_of(segment_labels)
    ]
    judgeable = [_judgeable(s, minimum) for s in found]
    if not any(judgeable):
        return found
    level = 1 - (1 - LEVEL) / sum(judgeable)
    intervals = _intervals(config, candidate, champion, segment_labels, judgeable, level, orders)
    return [
        replace(segment, low=interval[0], high=interval[1], level=level) if interval else segment
        for segment, interval in zip(found, intervals, strict=True)
    ]


def _classes_once(
    task: str, candidate: pd.DataFrame, champion: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A classifier's true classes as one categorical, the champion's too when its rows are the candidate's (the
    same true values as text): what reads them (each model's point estimates and bootstrap) then factorises a few
    categories, not every row's value. The same classes, so the same numbers."""
    from .compare import same_rows

    if task != "classification" or isinstance(candidate["y_true"].dtype, pd.CategoricalDtype):
        return candidate, champion
    paired = champion is not None and same_rows(champion, candidate)  # as they came: compared cheaply
    truth = candidate["y_true"].astype("category")
    candidate = candidate.assign(y_true=truth)
    if paired:
        champion = champion.assign(y_true=truth)
    return candidate, champion


def _judgeable(segment: Segment, min_rows: int) -> bool:
    return segment.rows >= min_rows and None not in (segment.champion, segment.candidate)


def _intervals(
    config: Config,
    candidate: pd.DataFrame,
    champion: pd.DataFrame,
    segment_labels: pd.DataFrame,
    judgeable: list[bool],
    level: float,
    orders: tuple = (None, None),
) -> list[tuple[float, float] | None]:
    """Each segment's interval at `level` (in _groups' order), for the judgeable ones: one bootstrap a column."""
    from .compare import columns_delta_intervals

    wanted = iter(judgeable)
    columns, present = [], []
    for column in segment_labels.columns:
        categories = segment_labels[column].cat.categories
        codes = segment_labels[column].cat.codes.to_numpy()
        here = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
        keep = np.array([next(wanted) if row else False for row in here])
        columns.append((np.where(keep[np.maximum(codes, 0)] & (codes >= 0), codes, -1), len(categories)))
        present.append(here)
    measured = [(codes, count) for codes, count in columns if (codes >= 0).any()]
    intervals = iter(
        columns_delta_intervals(
            config.task, champion, candidate, measured, config.gate.metric, config.seed, level, orders
        )
    )
    found: list[tuple[float, float] | None] = []
    for (codes, count), here in zip(columns, present, strict=True):
        column = next(intervals) if (codes >= 0).any() else [None] * count
        for interval in (column[code] for code in np.flatnonzero(here)):
            finite = interval is not None and math.isfinite(interval.low) and math.isfinite(interval.high)
            found.append((interval.low, interval.high) if finite else None)
    return found


@dataclass(frozen=True)
class Alone:
    """One model's gate metric on one segment, with its own 95% bootstrap interval (the model card's table)."""

    column: str
    value: str  # data: sanitise before showing
    rows: int
    metric: float | None  # None: undefined on these rows
    low: float | None = None  # None: fewer than segments.min_rows rows, or no interval
    high: float | None = None


def alone(config: Config, predictions: pd.DataFrame, segment_labels: pd.DataFrame) -> list[Alone]:
    """The gate metric of one model (its test predictions, indexed like `segment_labels`) on each segment, with
    its 95% interval where the segment has at least segments.min_rows rows."""
    from .compare import group_weights, metric_intervals

    metric, weights = config.gate.metric, group_weights(config.seed)
    found = []
    for column, _, value, rows in _groups(segment_labels):
        part = predictions.iloc[rows]
        interval = (
            metric_intervals(config.task, part, config.seed, weights, [metric]).get(metric)
            if len(rows) >= config.segments.min_rows
            else None
        )
        finite = interval is not None and math.isfinite(interval.low) and math.isfinite(interval.high)
        low, high = (interval.low, interval.high) if finite else (None, None)
        found.append(Alone(column, value, len(rows), score(config.task, part, metric), low, high))
    return found


def _codes(segment_labels: pd.DataFrame) -> np.ndarray:
    """Each row's segment in each column, as its category's code: shape (columns, rows)."""
    return np.array([segment_labels[column].cat.codes.to_numpy() for column in segment_labels.columns])


def _segments_of(segment_labels: pd.DataFrame):
    """(column's position, column, code, value, rows) of every non-empty segment, in _groups' order."""
    for i, column in enumerate(segment_labels.columns):
        categories = segment_labels[column].cat.categories
        codes = segment_labels[column].cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(categories))
        for code, value in enumerate(categories):
            if counts[code]:
                yield i, column, code, str(value)[:MAX_VALUE_CHARS], int(counts[code])


def _scores(
    task: str, predictions: pd.DataFrame, metric: str, codes: np.ndarray, order: np.ndarray | None = None
) -> list[list[float | None]]:
    """`score` of every segment of every column (codes from `_codes`): [column][code]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = compute_groups(task, predictions, metric, codes, int(codes.max(initial=-1)) + 1, order)
    return [[float(value) if math.isfinite(value) else None for value in row] for row in found]


def _groups(segment_labels: pd.DataFrame):
    """(column, code, value, row positions) of every non-empty segment, each segment's rows found by one sort."""
    for column in segment_labels.columns:
        groups = segment_labels[column]
        codes = groups.cat.codes.to_numpy()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(groups.cat.categories) + 1))
        for code, value in enumerate(groups.cat.categories):
            if bounds[code + 1] > bounds[code]:
                yield column, code, str(value)[:MAX_VALUE_CHARS], order[bounds[code] : bounds[code + 1]]


def score(task: str, predictions, metric: str) -> float | None:
    """The metric on these rows, or None where it is undefined (a segment of one class has no ROC AUC)."""
    if predictions is None or predictions.empty:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = compute(task, predictions, [metric]).get(metric)
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def judge(
    task: str, metric: str, segments: list[Segment], settings: SegmentsConfig, gate: GateConfig
) -> Judgement:
    """Which segments are large enough to judge, their corrected intervals, and which fail: worse than the
    champion by more than the column's tolerance, and the corrected interval excludes zero."""
    direction = DIRECTIONS[task][metric]
    tolerances = {column.name: settings.tolerance(column, gate) for column in settings.columns}
    judgeable = [
        s for s in segments if s.rows >= settings.min_rows and None not in (s.low, s.high, s.champion)
    ]
    k = max(len(judgeable), 1)
    level = 1 - (1 - LEVEL) / k
    rows = []
    for segment in segments:
        tolerance = tolerances.get(segment.column, gate)
        if segment not in judgeable:
            rows.append(
                Judged(segment, False, None, None, False, tolerance.describe(), _why_not(segment, settings))
            )
            continue
        low, high = _at_level(segment, level)
        loss = (segment.champion - segment.candidate) * direction
        surely_worse = high < 0 if direction > 0 else low > 0
        worse = loss > tolerance.allowed_loss(segment.champion) and surely_worse
        rows.append(Judged(segment, True, low, high, worse, tolerance.describe()))
    rescaled = sum(not math.isclose(s.level, level, rel_tol=0, abs_tol=1e-12) for s in judgeable)
    return Judgement(metric, level, len(judgeable), settings.min_rows, tuple(rows), rescaled)


def _at_level(segment: Segment, level: float) -> tuple[float, float]:
    """The segment's interval at `level`: as measured when the run measured it at that level, else rescaled about
    its middle by the ratio of the normal quantiles."""
    if math.isclose(segment.level, level, rel_tol=0, abs_tol=1e-12):
        return segment.low, segment.high
    ratio = NormalDist().inv_cdf(1 - (1 - level) / 2) / NormalDist().inv_cdf(1 - (1 - segment.level) / 2)
    middle, half = (segment.low + segment.high) / 2, (segment.high - segment.low) / 2 * ratio
    return middle - half, middle + half


def _why_not(segment: Segment, settings: SegmentsConfig) -> str:
    if segment.rows < settings.min_rows:
        return f"too small to judge (fewer than {settings.min_rows} rows)"
    if segment.champion is None and segment.candidate is not None:
        return "no champion on these rows"
    if segment.champion is None or segment.candidate is None:
        return "metric undefined on these rows"
    return "no interval"


def failure_reason(judgement: Judgement, overall: str, shown: Callable[[str], str] = inert.text) -> str:
    """The gate's reason when segments fail it: the worst one named (its value `shown` as inert Markdown, or as
    it is for a caller that escapes the whole), by how much, then the overall verdict."""
    failures = judgement.failures
    worst = failures[0]
    s = worst.segment
    more = f"; {len(failures) - 1} more segment(s) fail too" if len(failures) > 1 else ""
    return (
        f"segment {shown(s.column)} = {shown(s.value)} is worse: {judgement.metric} {s.champion:.4f} -> "
        f"{s.candidate:.4f} ({worst.delta:+.4f}) on {s.rows:,} rows, more than the tolerance {worst.tolerance}, and "
        f"its {judgement.level:.2%} interval {worst.low:+.4f} to {worst.high:+.4f} excludes zero "
        f"({CORRECTION} over {judgement.judged} segments){more}. Overall: {overall}"
    )


def to_summary(metric: str, segments: list[Segment]) -> dict:
    """The segments as report.json carries them, with their intervals' level (the trusted side judges again)."""
    columns: dict[str, list[dict]] = {}
    for s in segments:
        columns.setdefault(s.column, []).append(
            {
                "segment": s.value[:MAX_VALUE_CHARS],
                "rows": s.rows,
                "champion": s.champion,
                "candidate": s.candidate,
                "low": s.low,
                "high": s.high,
                "level": s.level,
            }
        )
    return {"metric": metric, "columns": columns}


def from_summary(summary: dict) -> tuple[str, list[Segment]]:
    """report.json's segments (metric, segments), refused unless every field has the shape to_summary writes."""
    given = summary.get("segments")
    if given is None:
        return "", []
    columns = given.get("columns") if isinstance(given, dict) else None
    metric = given.get("metric") if isinstance(given, dict) else None
    if not isinstance(metric, str) or not isinstance(columns, dict) or len(columns) > MAX_SEGMENT_COLUMNS:
        raise UserError("report.json has segments of a shape the report never writes: refusing the artifact")
    found = []
    for column, rows in columns.items():
        if not isinstance(column, str) or not isinstance(rows, list):
            raise UserError(
                "report.json has segments of a shape the report never writes: refusing the artifact"
            )
        if len(rows) > MAX_COLUMN_SEGMENTS:
            raise UserError(
                f"report.json has {len(rows):,} segments of one column, more than a report writes "
                f"({MAX_COLUMN_SEGMENTS}: {MAX_SEGMENTS} values or the {MAX_BINS + 1} ranges of {MAX_BINS} bins, and "
                f"{MISSING}): refusing the artifact"
            )
        found += [_segment_of(column, row) for row in rows]
    return metric, found


def _segment_of(column: str, row: object) -> Segment:
    def number(key: str) -> float | None:
        value = row.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise UserError(
                f"report.json has a segment whose {key} is not a finite number: refusing the artifact"
            )
        return float(value)

    if not isinstance(row, dict) or not isinstance(row.get("segment"), str):
        raise UserError("report.json has a segment without a value: refusing the artifact")
    count = row.get("rows")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise UserError("report.json has a segment whose rows are not a count: refusing the artifact")
    low, high = number("low"), number("high")
    if (low is None) != (high is None) or (low is not None and low > high):
        raise UserError("report.json has a segment with an invalid interval: refusing the artifact")
    level = LEVEL if row.get("level") is None else number("level")  # a report of before levels: 95%
    if not LEVEL <= level < 1:
        raise UserError("report.json has a segment with an invalid interval level: refusing the artifact")
    value = row["segment"][:MAX_VALUE_CHARS]
    return Segment(
        column[:MAX_VALUE_CHARS], value, count, number("champion"), number("candidate"), low, high, level
    )


def markdown(judgement: Judgement) -> str:
    """One table per column: segment, rows, champion, candidate, delta, the corrected interval, and a mark. Every
    segment is shown; those too small are marked, not judged."""
    if not judgement.rows:
        return ""
    tables: dict[str, list[str]] = {}
    for row in judgement.rows:
        s = row.segment
        mark = "❌ worse" if row.worse else "judged" if row.judged else f"⚠️ {row.note}"
        interval = f"{row.low:+.4f} … {row.high:+.4f}" if row.judged else "–"
        tables.setdefault(s.column, []).append(
            f"| {inert.text(s.value)} | {s.rows:,} | {_number(s.champion)} | {_number(s.candidate)} | "
            f"{_number(row.delta, '+')} | {interval} | {mark} |"
        )
    header = (
        f"| segment | rows | champion | candidate | delta | {judgement.level:.2%} interval | |\n"
        "|---|--:|--:|--:|--:|:-:|---|"
    )
    parts = [
        f"### Segments\n\n{judgement.metric} per segment, {judgement.describe()}. A segment of fewer than "
        f"{judgement.min_rows:,} rows (segments.min_rows) is shown but not judged."
    ]
    parts += [
        f"#### {inert.text(column)}\n\n{header}\n" + "\n".join(lines) for column, lines in tables.items()
    ]
    return "\n\n".join(parts)


def _number(value: float | None, sign: str = "") -> str:
    return "–" if value is None else f"{value:{sign}.4f}"
