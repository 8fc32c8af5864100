"""A/B on production traffic (release/ab.py): each arm's model on the labelled requests of its own arm.

The log's `arm` column says which arm a keyed request was in; the row's model says who answered it. The production
arm: rows of the arm answered by the champion; the challenger's arm: rows of the arm answered by the challenger
(one digest: --challenger's, else the one the log holds); a row of the challenger's arm that production answered (a
fallback) is in neither, and counted. The arms are different requests: each arm's metrics get their own 95%
bootstrap interval, and the delta's interval is unpaired. Evidence for a person's review, never a promotion.
"""

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core.config import Config
from .performance import ARM, Log, as_predictions, in_the_release_s_order, index_in, shown

if TYPE_CHECKING:
    import pyarrow as pa

PRODUCTION, CHALLENGER = "production", "challenger"  # release/ab.py's


def compare(
    config: Config, log: Log, labels: pd.DataFrame, digest: str | None, notes: list[str]
) -> dict | None:
    """The "ab" entry of monitor.json, or None when the log holds no row of an A/B arm in the period."""
    import pyarrow.dataset as ds

    if ARM not in log.dataset.schema.names:
        return None
    columns = ["request_id", "model_sha256", ARM, *log.answer_columns()]
    rows = log.read(columns, log.in_period(ds.field(ARM).is_valid()))
    if not rows.num_rows:
        return None
    arm = rows[ARM].to_numpy(zero_copy_only=False).astype(str)
    model = rows["model_sha256"].to_numpy(zero_copy_only=False).astype(str)
    ours = model == log.digest
    challenger = _challenger_digest(model[(arm == CHALLENGER) & ~ours], digest, notes)
    production_rows = (arm == PRODUCTION) & ours
    challenger_rows = (arm == CHALLENGER) & (model == challenger)
    entry = {
        "model_sha256": challenger,
        "fallback": int(((arm == CHALLENGER) & ours).sum()),
        "arms": {
            PRODUCTION: _arm(rows, production_rows, labels),
            CHALLENGER: _arm(rows, challenger_rows, labels),
        },
    }
    before, after = (entry["arms"][name].pop("predictions") for name in (PRODUCTION, CHALLENGER))
    entry |= _measured(config, before, after, entry["arms"])
    return entry


def _challenger_digest(digests: np.ndarray, asked: str | None, notes: list[str]) -> str:
    """The challenger's digest: --challenger's, else the one that answered the most rows of its arm."""
    if asked:
        return asked
    found, counts = np.unique(digests, return_counts=True)
    if len(found) > 1:
        notes.append(
            f"A/B: {len(found)} models answered the challenger's arm; the arm is the one that answered most "
            f"(sha256 {shown(found[counts.argmax()])[:12]}): give --challenger to choose"
        )
    return str(found[counts.argmax()]) if len(found) else ""


def _arm(rows: "pa.Table", chosen: np.ndarray, labels: pd.DataFrame) -> dict:
    """An arm's rows, and its labelled predictions (a request id labelled twice in the arm is left out)."""
    import pyarrow as pa

    mine = rows.filter(pa.array(chosen))
    positions = index_in(mine["request_id"], pa.array(labels["request_id"], mine["request_id"].type))
    labelled = np.flatnonzero(positions >= 0)
    once = np.bincount(positions[labelled], minlength=len(labels))[positions[labelled]] == 1
    kept = labelled[once]
    answers = [name for name in mine.column_names if name == "prediction" or name.startswith("proba_")]
    frame = mine.select(answers).take(pa.array(kept)).to_pandas()
    frame["label"] = labels["label"].to_numpy()[positions[kept]]
    return {"rows": mine.num_rows, "labelled": len(kept), "predictions": frame}


def _measured(config: Config, before: pd.DataFrame, after: pd.DataFrame, arms: dict) -> dict:
    """Each arm's metrics with their 95% intervals, and the delta's unpaired interval (none for an arm with fewer
    than monitoring.min_labels labels)."""
    from .. import metrics
    from ..review.compare import delta_intervals, metric_intervals

    enough = min(len(before), len(after)) >= config.monitoring.min_labels
    if not enough:
        return {"judged": False, "min_labels": config.monitoring.min_labels}
    probabilities = in_the_release_s_order(before.columns, config)
    frames = {
        PRODUCTION: as_predictions(before, config.task, probabilities),
        CHALLENGER: as_predictions(after, config.task, probabilities),
    }
    frames[CHALLENGER].index += len(frames[PRODUCTION])  # different requests: never paired
    for name, frame in frames.items():
        intervals = metric_intervals(config.task, frame, config.seed)
        arms[name]["metrics"] = {
            metric: {"value": value, **_interval(intervals.get(metric))}
            for metric, value in metrics.compute(config.task, frame).items()
        }
    deltas = delta_intervals(config.task, frames[PRODUCTION], frames[CHALLENGER], config.seed)
    return {
        "judged": True,
        "metric": config.gate.metric,
        "delta": {metric: _interval(interval) for metric, interval in deltas.items()},
    }


def _interval(interval) -> dict:
    if interval is None or not np.isfinite([interval.low, interval.high]).all():
        return {}
    return {"low": round(interval.low, 6), "high": round(interval.high, 6)}


def markdown(entry: dict) -> str:
    """The section "A/B on production traffic": each arm's metrics with intervals, the unpaired delta."""
    production, challenger = entry["arms"][PRODUCTION], entry["arms"][CHALLENGER]
    lines = [
        "## A/B on production traffic",
        "",
        f"Keyed requests were split into two arms: the model in production answered {production['rows']:,} "
        f"({production['labelled']:,} labelled), the challenger (sha256 {shown(entry['model_sha256'])[:12]}) "
        f"{challenger['rows']:,} ({challenger['labelled']:,} labelled). The arms are different requests: each "
        "arm's metrics are measured on its own labelled rows with a 95% bootstrap interval, and the delta's interval "
        "is unpaired (wider than a shadow's paired one). Evidence for a person's review: nothing is promoted by it.",
    ]
    if entry["fallback"]:
        lines += [
            "",
            f"{entry['fallback']:,} requests of the challenger's arm were answered by production (the challenger "
            "failed on them, or was not loaded): in neither arm.",
        ]
    if not entry["judged"]:
        lines += [
            "",
            f"Too few labels for a comparison: each arm needs {entry['min_labels']:,} (monitoring.min_labels).",
        ]
        return "\n".join(lines)
    lines += [
        "",
        "| metric | production arm | 95% interval | challenger arm | 95% interval | delta | 95% interval (unpaired) |",
        "|---|--:|---|--:|---|--:|---|",
    ]
    for name, row in production["metrics"].items():
        other = challenger["metrics"].get(name, {})
        delta = entry["delta"].get(name, {})
        label = f"**{name}** (gate)" if name == entry["metric"] else name
        change = None if other.get("value") is None else other["value"] - row["value"]
        lines.append(
            f"| {label} | {_number(row['value'])} | {_range(row)} | {_number(other.get('value'))} | {_range(other)} "
            f"| {_number(change, '+')} | {_range(delta, '+')} |"
        )
    return "\n".join(lines)


def _range(row: dict, sign: str = "") -> str:
    return f"{row['low']:{sign}.4f} … {row['high']:{sign}.4f}" if "low" in row else "–"


def _number(value: float | None, sign: str = "") -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:{sign}.4f}"
