"""The gate: does the candidate keep the primary metric within tolerance of the champion?"""

import json
from dataclasses import dataclass

from .. import UserError
from ..core import paths
from ..core.config import Config
from ..core.shell import show
from ..pipeline.metrics import DIRECTIONS, check_metric


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str


def metrics_diff(base: str) -> dict[str, dict]:
    """Every metric's old (the champion's, committed at `base`) and new (the candidate's) value.

    The metrics file is tracked by Git (cache: false in dvc.yaml), so both are read without starting DVC.
    """
    committed = show(base, paths.METRICS)
    old = json.loads(committed) if committed else {}
    new = json.loads(paths.METRICS.read_text(encoding="utf-8")) if paths.METRICS.exists() else {}
    return {name: {"old": old.get(name), "new": new.get(name)} for name in sorted({*old, *new})}


def verdict(config: Config, diff: dict[str, dict]) -> Verdict:
    metric, tolerance = config.gate.metric, config.gate.tolerance
    check_metric(config.task, metric)
    values = diff.get(metric, {})
    old, new = values.get("old"), values.get("new")
    if new is None:
        raise UserError(f"{paths.METRICS} has no '{metric}': run dvc repro before the gate")
    if old is None:
        return Verdict(
            True, f"no champion {metric} on the base revision: this is the first model, nothing to compare"
        )
    loss = (old - new) * DIRECTIONS[config.task][metric]  # > 0 when the candidate is worse
    change = f"{metric} {old:.4f} -> {new:.4f} ({new - old:+.4f})"
    if loss > tolerance:
        return Verdict(
            False, f"{change} is worse than the champion by {loss:.4f}, more than the tolerance {tolerance}"
        )
    return Verdict(True, f"{change} is within the tolerance {tolerance} of the champion")


def run(config: Config, base: str) -> int:
    result = verdict(config, metrics_diff(base))
    print(f"gate {'passed' if result.passed else 'FAILED'}: {result.reason}")
    return 0 if result.passed else 1
