"""The challenger on production traffic: the model in production (the champion) and a challenger that scored the
same requests in shadow, compared on the labelled requests both answered.

The log's contract (release/prediction_log.py): the challenger's rows are in the same prediction log under its own
model_version and model_sha256, with the production row's request_id and time, the same features and its own
answer columns; a row it failed to score is not written; each row's `score_ms` is the wall time of the model call
that scored its batch (a log written before it has none: latency is then not shown).

This is evidence for a person's review, never a promotion: the gate metric's delta (challenger - champion) with its
paired 95% bootstrap interval (review/compare.py), judged with gate.tolerance as the pull request's gate judges it
(review/gate.py): better (the whole interval), within tolerance, inconclusive, or worse beyond tolerance (also when
a segment is surely worse by more than its tolerance and gate.segments blocks); the other metrics' deltas with
their intervals; the segments (review/segments.py); each model's latency (p50 and p99 of score_ms over its
predictions); and the production predictions of the challenger's period it did not answer.

Versions and segment values come from the log: they reach Markdown only through review/markdown.py.
"""

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import UserError
from ..core.config import Config
from .performance import ARM, LATENCY, Log, as_predictions, in_the_release_s_order, index_in, shown

if TYPE_CHECKING:
    import pyarrow as pa

SECTION_FILE = "challenger.md"  # the section alone, for the pull request's comment or the monitoring issue
DIGEST = re.compile(r"[0-9a-f]{64}")
BETTER, WITHIN, INCONCLUSIVE, WORSE = "better", "within tolerance", "inconclusive", "worse beyond tolerance"
UNDEFINED = "undefined on these labels, not judged"  # the metric is not a number (roc_auc on one class)


@dataclass(frozen=True)
class Contender:
    """The challenger as asked for (`asked`: a digest or a version) and its digest in the log."""

    asked: str
    digest: str
    versions: tuple[str, ...]  # as the log names it
    location: str  # the log's, for the refusals
    described: str  # the period, for the refusals


def find(log: Log, asked: str) -> Contender:
    """The challenger's digest: `asked` itself (a sha256), or the one digest the log holds for version `asked` in the
    period; refuse an ambiguous version, an unknown one and the champion itself."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    asked = asked.strip()
    digest = asked.lower()
    if not DIGEST.fullmatch(digest):
        logged = log.read(["model_sha256"], log.in_period(ds.field("model_version") == asked))
        digests = sorted(str(d) for d in pc.unique(logged["model_sha256"]).to_pylist() if d is not None)
        if len(digests) > 1:
            named = ", ".join(shown(d)[:12] for d in digests[:5])
            raise UserError(
                f"version '{shown(asked)}' names {len(digests)} models in the prediction log (sha256 {named}): "
                "give --challenger the sha256 of the one that scored in shadow"
            )
        digest, versions = (digests[0], (asked,)) if digests else ("", ())
    else:
        versions = _versions(log, digest)
    contender = Contender(asked, digest, versions, log.location, log.described)
    if digest == log.digest:
        raise UserError(
            f"--challenger '{shown(asked)}' is the champion itself (models/model.skops, sha256 {log.digest[:12]}): "
            "give the sha256 or version of the model that scored in shadow"
        )
    if not digest:
        _refuse_absent(contender)
    return contender


def _versions(log: Log, digest: str) -> tuple[str, ...]:
    """The version the log names a digest by, from its first logged prediction in the period (the service names
    each model once, as it loads it); () when the log holds none."""
    import pyarrow.dataset as ds

    first = log.dataset.scanner(
        ["model_version"], filter=log.in_period(ds.field("model_sha256") == digest)
    ).head(1)
    return tuple(str(version) for version in first["model_version"].to_pylist() if version is not None)


def _refuse_absent(contender: Contender) -> None:
    raise UserError(
        f"the prediction log {contender.location} holds no predictions of the challenger "
        f"'{shown(contender.asked)}'{contender.described}: give --challenger the sha256 (model_sha256) or version "
        "of a model that scored traffic in shadow"
    )


def read(log: Log, contender: Contender) -> "pa.Table":
    """The challenger's predictions in shadow in the period: request_id, time, its answers and their latency
    (score_ms)."""
    import pyarrow.dataset as ds

    columns = ["request_id", "time", *log.answer_columns(), *log.latency()]
    # its shadow answers alone: a row it served in an A/B arm answered another request than production's
    shadow_only = ~ds.field(ARM).is_valid() if ARM in log.dataset.schema.names else None
    rows = log.of_model(contender.digest, columns, shadow_only)
    if not rows.num_rows:
        _refuse_absent(contender)
    return rows


def compare(
    config: Config,
    contender: Contender,
    answered: "pa.Table",
    positions: np.ndarray,
    labels: pd.DataFrame,
    rows: "pa.Table",
    segment_columns: tuple[str, ...],
) -> dict:
    """The challenger entry of monitor.json: both models on the labelled requests both answered (`answered`: the
    champion's predictions, `positions`: each one's label in `labels` or -1; `rows`: the challenger's)."""
    notes: list[str] = []
    answer_of = _answer_of(positions, _label_positions(rows, labels), notes)
    champion_times, challenger_times = _nanoseconds(answered["time"]), _nanoseconds(rows["time"])
    first, last = challenger_times.min(), challenger_times.max()
    in_period = (champion_times >= first) & (champion_times <= last)
    keep = _paired(positions, answer_of, champion_times, challenger_times, notes)
    if not keep.any():
        raise UserError(
            f"no labelled request was answered by both the champion and the challenger '{shown(contender.asked)}'"
            f"{contender.described} ({rows.num_rows:,} challenger predictions, {len(labels):,} labels): wait for "
            "the labels of the shadow period, or check that they name its request ids"
        )
    before, after, segment_frame = _predictions(config, answered, positions, labels, rows, answer_of, keep)
    return {
        "model_sha256": contender.digest,
        "model_versions": list(contender.versions),
        "first": _iso(first),
        "last": _iso(last),
        "paired": int(keep.sum()),
        **_judged(config, before, after, segment_frame, segment_columns),
        "latency": _latency(answered, in_period, rows),
        "coverage": _coverage(champion_times[in_period], challenger_times),
        "notes": notes,
    }


def _label_positions(rows: "pa.Table", labels: pd.DataFrame) -> np.ndarray:
    """Each challenger prediction's position in `labels`, or -1: one hash table of the labels' ids (a table of the
    challenger's millions of ids would cost more, and only labelled requests are compared), looked up on a run of
    chunks per core (performance.index_in)."""
    import pyarrow as pa

    ids = rows["request_id"]
    return index_in(ids, pa.array(labels["request_id"], ids.type))


def _answer_of(positions: np.ndarray, challenger_positions: np.ndarray, notes: list[str]) -> np.ndarray:
    """The challenger's row answering each labelled champion prediction (by request id, through their label), or -1.
    A labelled request id the challenger answered twice is left out: a caller reused it."""
    answered = challenger_positions >= 0
    size = max(int(positions.max(initial=-1)), int(challenger_positions.max(initial=-1))) + 1
    twice = np.bincount(challenger_positions[answered], minlength=size) > 1
    row_of_label = np.full(size + 1, -1, dtype=np.int64)  # the last: no label
    row_of_label[challenger_positions[answered]] = np.flatnonzero(answered)
    row_of_label[:-1][twice] = -1
    if twice.any():
        notes.append(
            f"left out {twice.sum():,} labelled request ids the challenger answered more than once: a caller "
            "reused its X-Request-ID, so their answers cannot be told apart"
        )
    return row_of_label[np.where(positions >= 0, positions, size)]


def _nanoseconds(times: "pa.ChunkedArray") -> np.ndarray:
    return times.to_numpy().astype("datetime64[ns]", copy=False).view(np.int64)


def _iso(nanoseconds: int) -> str:
    return pd.Timestamp(int(nanoseconds), tz="UTC").isoformat()


def _paired(
    positions: np.ndarray,
    answer_of: np.ndarray,
    champion_times: np.ndarray,
    challenger_times: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Which of the champion's predictions have a label and the challenger's answer to the same request: its id and
    time. A request id the champion's log holds twice with a label is left out, as the windows leave it out."""
    labelled = np.flatnonzero(positions >= 0)
    once = np.bincount(positions[labelled])[positions[labelled]] == 1
    both = labelled[once & (answer_of[labelled] >= 0)]
    same_time = champion_times[both] == challenger_times[answer_of[both]]
    if not same_time.all():
        notes.append(
            f"left out {(~same_time).sum():,} labelled requests whose challenger answer has another time than the "
            "production answer: a caller reused its X-Request-ID, so they cannot be paired"
        )
    keep = np.zeros(len(positions), dtype=bool)
    keep[both[same_time]] = True
    return keep


def _predictions(
    config: Config,
    answered: "pa.Table",
    positions: np.ndarray,
    labels: pd.DataFrame,
    rows: "pa.Table",
    answer_of: np.ndarray,
    keep: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Both models' paired predictions as reports/predictions.parquet's columns, and the champion's rows (for the
    segment columns); refuse answers that miss a column the champion answers with."""
    import pyarrow as pa

    answers = [name for name in answered.column_names if name == "prediction" or name.startswith("proba_")]
    truth = labels["label"].to_numpy()[positions[keep]]
    dropped = [name for name in ("request_id", "time", LATENCY) if name in answered.column_names]
    champion = answered.drop_columns(dropped).filter(pa.array(keep)).to_pandas()  # no ids to copy
    challenger = rows.select(answers).take(pa.array(answer_of[keep])).to_pandas()
    for name, frame in (("champion", champion), ("challenger", challenger)):
        missing = frame[answers].isna().any()
        if missing.any():
            raise UserError(
                f"the {name}'s logged answers lack {shown(missing.idxmax())} on {frame[missing.idxmax()].isna().sum():,}"
                " labelled requests: the models do not answer with the same classes, so they cannot be compared "
                "here (compare them in a pull request's report)"
            )
    probabilities = in_the_release_s_order(champion.columns, config)
    before = as_predictions(champion.assign(label=truth), config.task, probabilities)
    after = as_predictions(challenger.assign(label=truth), config.task, probabilities)
    return before, after, champion


def _judged(
    config: Config,
    before: pd.DataFrame,
    after: pd.DataFrame,
    segment_frame: pd.DataFrame,
    segment_columns: tuple[str, ...],
) -> dict:
    """Every metric of both models with the paired 95% interval of its delta, the gate metric's verdict, and the
    segments'."""
    from .. import metrics
    from ..review import gate
    from ..review.compare import delta_intervals

    name = config.gate.metric
    champion, challenger = metrics.compute(config.task, before), metrics.compute(config.task, after)
    intervals = delta_intervals(config.task, before, after, config.seed)
    table = {}
    for metric in metrics.DIRECTIONS[config.task]:
        interval = intervals.get(metric)
        table[metric] = {"champion": champion.get(metric), "challenger": challenger.get(metric)}
        if interval is not None and np.isfinite([interval.low, interval.high]).all():
            table[metric] |= {"low": round(interval.low, 6), "high": round(interval.high, 6)}
    interval = intervals.get(name)
    outcome, _ = gate.judge(config, champion[name], challenger[name], interval, len(before))
    direction = metrics.DIRECTIONS[config.task][name]
    surely_better = interval is not None and min(interval.low * direction, interval.high * direction) > 0
    verdict = {gate.FAILED: WORSE, gate.INCONCLUSIVE: INCONCLUSIVE}.get(
        outcome, BETTER if surely_better else WITHIN
    )
    if not np.isfinite([champion[name], challenger[name]]).all():
        verdict = UNDEFINED  # gate.judge fails a NaN to stop a merge; here no loss was measured either
    segments_found = _segments(config, before, after, segment_frame, segment_columns)
    failing = bool(segments_found and segments_found["failures"] and config.segments.blocks)
    return {
        "metric": name,
        "tolerance": config.gate.describe(),
        "verdict": WORSE if failing else verdict,
        "overall": verdict,
        "by_segment": failing,
        "metrics": table,
        "segments": segments_found,
    }


def _segments(
    config: Config,
    before: pd.DataFrame,
    after: pd.DataFrame,
    frame: pd.DataFrame,
    segment_columns: tuple[str, ...],
) -> dict | None:
    """The gate metric per segment of the logged segment columns, judged as the gate judges them."""
    from ..review import segments

    columns = tuple(column for column in config.segments.columns if column.name in segment_columns)
    if not columns:
        return None
    settings = replace(config, segments=replace(config.segments, columns=columns))
    groups = segments.labels(settings, frame[[column.name for column in columns]])
    measured = segments.measure(settings, after, before, groups)
    judgement = segments.judge(config.task, config.gate.metric, measured, settings.segments, config.gate)
    rows = [
        {
            "column": row.segment.column,
            "segment": row.segment.value,
            "rows": row.segment.rows,
            "champion": row.segment.champion,
            "challenger": row.segment.candidate,
            "low": row.low,
            "high": row.high,
            "judged": row.judged,
            "worse": row.worse,
            "tolerance": row.tolerance,
            "note": row.note,
        }
        for row in judgement.rows
    ]
    return {
        "level": judgement.level,
        "described": judgement.describe(),
        "min_rows": judgement.min_rows,
        "rows": rows,
        "failures": len(judgement.failures),
    }


def _latency(answered: "pa.Table", in_period: np.ndarray, rows: "pa.Table") -> dict | None:
    """p50 and p99 of score_ms over each model's predictions in the challenger's period; None: not logged."""
    if LATENCY not in rows.column_names or LATENCY not in answered.column_names:
        return None
    champion = answered[LATENCY].to_numpy()[in_period]
    return {"champion": _percentiles(champion), "challenger": _percentiles(rows[LATENCY].to_numpy())}


def _percentiles(milliseconds: np.ndarray) -> dict | None:
    known = milliseconds[np.isfinite(milliseconds)]
    if not len(known):
        return None
    p50, p99 = np.percentile(known, [50, 99])
    return {"p50": round(float(p50), 3), "p99": round(float(p99), 3), "rows": len(known)}


def _coverage(production: np.ndarray, answered: np.ndarray) -> dict:
    """The production predictions of the challenger's period (their times) without a challenger answer, counted per
    logged time: a challenger row has its production row's time, so the k-th production row of a time is answered
    when that time has at least k challenger rows. Sorted by timsort, quick on a log written in time order."""
    production, answered = np.sort(production, kind="stable"), np.sort(answered, kind="stable")
    at = np.searchsorted(
        answered, production
    )  # the first challenger row of each production row's time, if any
    starts = np.concatenate([[True], production[1:] != production[:-1]])
    if not starts.all():  # times shared by several rows (a request of many): the k-th takes the k-th answer
        rows = np.arange(len(production))
        at += rows - np.maximum.accumulate(np.where(starts, rows, 0))
    inside = at < len(answered)
    found = int(np.count_nonzero(answered[at[inside]] == production[inside]))
    return {"production": len(production), "answered": found, "no_answer": len(production) - found}


def markdown(entry: dict) -> str:
    """The section "Challenger on production traffic": the verdict, the metrics, the segments, latency and coverage.
    Versions and segment values are data: inert (review/markdown.py)."""
    from ..review.markdown import text

    versions = ", ".join(text(version) for version in entry["model_versions"]) or "(no version)"
    lines = [
        "## Challenger on production traffic",
        "",
        f"The challenger {versions} (sha256 {text(entry['model_sha256'][:12])}) scored the production traffic in "
        f"shadow from {entry['first'][:16]} to {entry['last'][:16]}. Both models are compared on the "
        f"{entry['paired']:,} requests both answered whose true outcome has arrived, with paired 95% bootstrap "
        "intervals of the delta (challenger - champion). This is evidence for a person's review: nothing is "
        "promoted by it.",
        "",
        _verdict_line(entry),
        "",
        "| metric | champion | challenger | delta | 95% interval of the delta |",
        "|---|--:|--:|--:|---|",
    ]
    for name, row in entry["metrics"].items():
        delta = None if None in (row["champion"], row["challenger"]) else row["challenger"] - row["champion"]
        interval = f"{row['low']:+.4f} … {row['high']:+.4f}" if "low" in row else "–"
        lines.append(
            f"| {name} | {_number(row['champion'])} | {_number(row['challenger'])} | {_number(delta, '+')} | "
            f"{interval} |"
        )
    lines += _segments_markdown(entry.get("segments"), text)
    lines += ["", *_latency_markdown(entry["latency"]), "", _coverage_line(entry["coverage"])]
    if entry["notes"]:
        lines += ["", *(f"- {note}" for note in entry["notes"])]
    return "\n".join(lines)


def _verdict_line(entry: dict) -> str:
    name = entry["metric"]
    row = entry["metrics"][name]
    change = f"{_number(row['champion'])} -> {_number(row['challenger'])}"
    if "low" in row:
        change += f", 95% interval of the delta {row['low']:+.4f} to {row['high']:+.4f}"
    line = (
        f"**{name}: {entry['verdict']}** ({change}), judged with the gate's tolerance {entry['tolerance']} as a "
        "pull request's gate judges it."
    )
    if entry["by_segment"]:
        line += (
            f" Overall it is {entry['overall']}, but a segment is surely worse by more than its tolerance "
            "(gate.segments: block): see the segments below."
        )
    return line


def _segments_markdown(found: dict | None, text) -> list[str]:
    if not found:
        return []
    lines = [
        "",
        f"### Segments\n\nThe gate metric per segment, {found['described']}. A segment of fewer than "
        f"{found['min_rows']:,} rows (segments.min_rows) is shown but not judged.",
    ]
    tables: dict[str, list[str]] = {}
    for row in found["rows"]:
        delta = None if None in (row["champion"], row["challenger"]) else row["challenger"] - row["champion"]
        interval = f"{row['low']:+.4f} … {row['high']:+.4f}" if row["judged"] else "–"
        mark = "worse beyond tolerance" if row["worse"] else "judged" if row["judged"] else text(row["note"])
        tables.setdefault(row["column"], []).append(
            f"| {text(row['segment'])} | {row['rows']:,} | {_number(row['champion'])} | "
            f"{_number(row['challenger'])} | {_number(delta, '+')} | {interval} | {mark} |"
        )
    for column, rows in tables.items():
        lines += [
            "",
            f"#### {text(column)}",
            "",
            f"| segment | rows | champion | challenger | delta | {found['level']:.2%} interval | |",
            "|---|--:|--:|--:|--:|---|---|",
            *rows,
        ]
    return lines


def _latency_markdown(latency: dict | None) -> list[str]:
    if latency is None:
        return ["Latency was not logged (a log written before score_ms): it is not compared."]

    def cell(model: str, key: str) -> str:
        figures = latency[model]
        return "not logged" if figures is None else f"{figures[key]:,.1f} ms"

    return [
        "| model call (score_ms, per prediction) | champion | challenger |",
        "|---|--:|--:|",
        f"| p50 | {cell('champion', 'p50')} | {cell('challenger', 'p50')} |",
        f"| p99 | {cell('champion', 'p99')} | {cell('challenger', 'p99')} |",
    ]


def _coverage_line(coverage: dict) -> str:
    production, missing = coverage["production"], coverage["no_answer"]
    share = f" ({missing / production:.2%})" if production else ""
    return (
        f"Errors and coverage: of the {production:,} production predictions from the challenger's first answer to "
        f"its last, it answered {coverage['answered']:,}; {missing:,}{share} have no challenger answer (it failed "
        "on them, or was not scoring)."
    )


def _number(value: float | None, sign: str = "") -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:{sign}.4f}"
