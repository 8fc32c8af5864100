"""The gate: does the candidate keep the primary metric within tolerance of the champion?"""

import json
from dataclasses import dataclass

from .. import UserError
from ..core import paths
from ..core.config import Config
from ..core.shell import show
from ..metrics import DIRECTIONS, check_metric
from . import champion


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str
    # False: the champion's numbers cannot judge the candidate, so it neither passes nor fails
    comparable: bool = True


def metrics_diff(base: str) -> dict[str, dict]:
    """Every metric's old (the champion's, committed at `base`) and new (the candidate's) value.

    The metrics file is tracked by Git (cache: false in dvc.yaml), so both are read without starting DVC.
    """
    committed = show(base, paths.METRICS)
    old = json.loads(committed) if committed else {}
    new = json.loads(paths.METRICS.read_text(encoding="utf-8")) if paths.METRICS.exists() else {}
    return {name: {"old": old.get(name), "new": new.get(name)} for name in sorted({*old, *new})}


def verdict(config: Config, diff: dict[str, dict], comparison=None) -> Verdict:
    """The gate on the diff; `comparison` (review/comparable.py) says whether the champion's numbers apply."""
    metric = config.gate.metric
    check_metric(config.task, metric)
    values = diff.get(metric, {})
    old, new = values.get("old"), values.get("new")
    if new is None:
        raise UserError(f"{paths.METRICS} has no '{metric}': run dvc repro before the gate")
    if old is None:
        return Verdict(
            True, f"no champion {metric} on the base revision: this is the first model, nothing to compare"
        )
    if comparison is not None and not comparison.comparable:
        return Verdict(False, f"not comparable with the champion: {comparison.detail}", comparable=False)
    return Verdict(*judge(config, old, new))


def judge(config: Config, old: float, new: float) -> tuple[bool, str]:
    """Whether the candidate's `new` value of the gate metric is within tolerance of the champion's `old`."""
    metric = config.gate.metric
    loss = (old - new) * DIRECTIONS[config.task][metric]  # > 0 when the candidate is worse
    change = f"{metric} {old:.4f} -> {new:.4f} ({new - old:+.4f})"
    tolerance = config.gate.describe()
    if loss > config.gate.allowed_loss(old):
        return (
            False,
            f"{change} is worse than the champion by {loss:.4f}, more than the tolerance {tolerance}",
        )
    return True, f"{change} is within the tolerance {tolerance} of the champion"


def run(config: Config, base: str) -> int:
    """The report's verdict when `make report` wrote one for this base (it compared the models), else the gate
    on the committed metrics."""
    commit = champion.resolve(base)
    summary = (
        json.loads(paths.REPORT_SUMMARY.read_text(encoding="utf-8")) if paths.REPORT_SUMMARY.exists() else {}
    )
    if summary.get("base_sha") == commit and summary.get("gate") in GATE_STATES:
        passed, reason = summary["gate"] == "pass", summary["gate_reason"]
    else:
        result = verdict(config, metrics_diff(commit))
        passed, reason = result.passed, result.reason
    print(f"gate {'passed' if passed else 'FAILED'}: {reason}")
    return 0 if passed else 1


GATE_STATES = ("pass", "fail", "not comparable")  # report.json's gate
