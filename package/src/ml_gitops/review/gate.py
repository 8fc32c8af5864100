"""The gate: does the candidate keep the primary metric within tolerance of the champion?"""

import json
import math
from dataclasses import asdict, dataclass

from .. import UserError
from ..core import paths
from ..core.config import Config
from ..core.shell import show
from ..metrics import DIRECTIONS, check_metric
from . import champion
from .markdown import inert
from .segments import Judgement, failure_reason

PASSED, FAILED, INCONCLUSIVE, NOT_COMPARABLE = "passed", "failed", "inconclusive", "not comparable"


@dataclass(frozen=True)
class Verdict:
    passed: bool  # whether the gate lets the candidate merge
    reason: str
    # False: the champion's numbers cannot judge the candidate, so it neither passes nor fails
    comparable: bool = True
    outcome: str = ""  # PASSED, FAILED, INCONCLUSIVE or NOT_COMPARABLE

    @property
    def state(self) -> str:
        return self.outcome or (PASSED if self.passed else FAILED if self.comparable else NOT_COMPARABLE)


def metrics_diff(base: str) -> dict[str, dict]:
    """Every metric's old (the champion's, committed at `base`) and new (the candidate's) value.

    The metrics file is tracked by Git (cache: false in dvc.yaml), so both are read without starting DVC.
    """
    committed = show(base, paths.METRICS)
    old = _metrics(committed, f"{paths.METRICS} of {base[:12]}") if committed else {}
    new = _metrics(paths.METRICS.read_text(encoding="utf-8"), paths.METRICS) if paths.METRICS.exists() else {}
    return {name: {"old": old.get(name), "new": new.get(name)} for name in sorted({*old, *new})}


def _metrics(written: str, where: object) -> dict:
    """A metrics file's names and values, or a UserError that says which file is not one."""
    try:
        metrics = json.loads(written)
    except json.JSONDecodeError:
        metrics = None
    if not isinstance(metrics, dict):
        raise UserError(f"{where} is not a JSON object of metric names and values")
    return metrics


def verdict(
    config: Config,
    diff: dict[str, dict],
    comparison=None,
    interval=None,
    rows: int = 0,
    segments: Judgement | None = None,
) -> Verdict:
    """The gate on the diff; `comparison` (review/comparable.py) says whether the champion's numbers apply,
    `interval` (review/compare.py) how sure the delta is, on `rows` test rows, and `segments`
    (review/segments.py) whether a segment fails it."""
    metric = config.gate.metric
    check_metric(config.task, metric)
    values = diff.get(metric, {})
    old, new = values.get("old"), values.get("new")
    if new is None:
        raise UserError(f"{paths.METRICS} has no '{metric}': run dvc repro before the gate")
    if old is None:
        return Verdict(
            True,
            f"no champion {metric} on the base revision: this is the first model, nothing to compare",
            outcome=PASSED,
        )
    if comparison is not None and not comparison.comparable:
        return Verdict(
            False,
            f"not comparable with the champion: {inert(comparison.detail)}",
            False,
            outcome=NOT_COMPARABLE,
        )
    outcome, reason = judge(config, old, new, interval, rows)
    outcome, reason = with_segments(outcome, reason, segments, config.segments.blocks)
    allowed = outcome == PASSED or (outcome == INCONCLUSIVE and not config.gate.blocks_inconclusive)
    return Verdict(allowed, reason, outcome=outcome)


def with_segments(outcome: str, reason: str, judgement: Judgement | None, blocks: bool) -> tuple[str, str]:
    """The overall outcome, failed when a segment is surely worse by more than its tolerance (gate.segments:
    block), whatever the overall metric did; with gate.segments: report, the reason says so and the outcome stays."""
    if judgement is None or not judgement.failures or outcome == FAILED:
        return outcome, reason
    if blocks:
        return FAILED, failure_reason(judgement, reason)
    worst = judgement.failures[0].segment
    return (
        outcome,
        f"{reason} (segment {inert(worst.column)} = {inert(worst.value)} is worse, shown only: gate.segments: report)",
    )


def judge(config: Config, old: float, new: float, interval=None, rows: int = 0) -> tuple[str, str]:
    """PASSED, FAILED or INCONCLUSIVE, and why. Failed only when the 95% interval of the delta says the candidate
    is worse than the champion by more than the tolerance; worse by more on the point estimate alone is
    inconclusive; better only when the whole interval is. Without an interval, the point estimate decides."""
    metric = config.gate.metric
    if undefined := _undefined(metric, old, new, interval):
        return FAILED, undefined
    direction = DIRECTIONS[config.task][metric]
    loss = (old - new) * direction  # > 0 when the candidate is worse
    allowed = config.gate.allowed_loss(old)
    change = f"{metric} {old:.4f} -> {new:.4f} ({new - old:+.4f})"
    tolerance = config.gate.describe()
    worse = f"{change} is worse than the champion by {loss:.4f}, more than the tolerance {tolerance}"
    if interval is None:
        if loss > allowed:
            return FAILED, worse
        return PASSED, f"{change} is within the tolerance {tolerance} of the champion"
    losses = sorted((-interval.low * direction, -interval.high * direction))
    spread = f"the 95% interval of the delta is {interval.low:+.4f} to {interval.high:+.4f}"
    if losses[0] > allowed:
        return FAILED, f"{worse}: {spread}, all of it beyond the tolerance"
    if loss <= allowed and losses[1] < 0:
        return PASSED, f"{change} is better than the champion: {spread}, all of it better"
    if loss <= allowed:
        return PASSED, f"{change} is within the tolerance {tolerance} of the champion"
    blocks = (
        "gate.inconclusive: block stops the merge until more test rows decide it"
        if config.gate.blocks_inconclusive
        else "gate.inconclusive: pass lets it merge"
    )
    return INCONCLUSIVE, (
        f"{change} is inconclusive: its point estimate is {loss:.4f} short of the champion, more than the tolerance "
        f"{tolerance}, but {spread}, which does not establish a loss beyond the tolerance. "
        f"{more_rows(interval, loss - allowed, rows)} {blocks}"
    )


def _undefined(metric: str, old: float, new: float, interval) -> str | None:
    """Why nothing can be judged when a number is not one (NaN: roc_auc on a test set of one class, say): every
    comparison with NaN is false, so without this a NaN metric or interval passed as "within the tolerance"."""
    for whose, value in (("the champion's", old), ("the candidate's", new)):
        if not math.isfinite(value):
            return (
                f"{whose} {metric} is {value}, not a number the gate can compare: it fails until both models have "
                f"one (roc_auc, for one, is undefined when the test rows hold a single class)"
            )
    if interval is not None and not (math.isfinite(interval.low) and math.isfinite(interval.high)):
        return f"the 95% interval of the {metric} delta is undefined ({interval.low} to {interval.high}): it fails"
    return None


def more_rows(interval, gap: float, rows: int) -> str:
    """Roughly how many more test rows would shrink the interval (as 1/sqrt(rows)) until it no longer reaches
    across the tolerance, the point estimate staying where it is."""
    half = (interval.high - interval.low) / 2
    if rows <= 0 or gap <= 0 or half <= 0:
        return "More test rows would decide it."
    needed = rows * (half / gap) ** 2
    more = int(float(f"{max(needed - rows, 1):.2g}"))
    close = " (the loss is close to the tolerance)" if needed > 100 * rows else ""
    return (
        f"About {more:,} more test rows (about {rows + more:,} in all, now {rows:,}) would decide it{close}."
    )


def run(config: Config, base: str) -> int:
    """The report's verdict when `make report` wrote one that still holds (it compared the models), else the gate
    on the committed metrics."""
    commit = champion.resolve(base)
    diff = metrics_diff(commit)
    summary = _report_summary()
    if _still_holds(summary, config, commit, diff):
        passed, reason = summary["gate"] == "pass", summary["gate_reason"]
        outcome = summary.get("outcome") or (PASSED if passed else FAILED)
    else:
        result = verdict(config, diff)
        passed, reason, outcome = result.passed, result.reason, result.state
    if outcome == INCONCLUSIVE:
        print(f"gate inconclusive ({'passes' if passed else 'blocks the merge'}): {reason}")
    else:
        print(f"gate {'passed' if passed else 'FAILED'}: {reason}")
    return 0 if passed else 1


GATE_STATES = ("pass", "fail", "not comparable")  # report.json's gate


def _report_summary() -> dict:
    """report.json as `make report` wrote it ({} when there is none, or it is not a JSON object: judged again)."""
    try:
        summary = json.loads(paths.REPORT_SUMMARY.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _still_holds(summary: dict, config: Config, commit: str, diff: dict[str, dict]) -> bool:
    """Whether report.json's verdict is of this base, of the metrics.json at hand and of these gate settings: a
    model trained again, or a gate changed, since `make report` is judged again."""
    return (
        summary.get("base_sha") == commit
        and summary.get("gate") in GATE_STATES
        and summary.get("metrics") == candidate_metrics(diff)
        and summary.get("gate_settings") == settings(config)
    )


def candidate_metrics(diff: dict[str, dict]) -> dict[str, float]:
    """The candidate's metrics of `diff` that are numbers, as report.json records them."""
    return {name: values["new"] for name, values in diff.items() if isinstance(values["new"], int | float)}


def settings(config: Config) -> dict:
    """What in params.yaml the verdict depends on besides the metrics (the gate, the segments), as report.json
    records them."""
    return json.loads(
        json.dumps({"gate": asdict(config.gate), "segments": asdict(config.segments)}, default=str)
    )
