"""Can the champion's numbers judge the candidate? Only for the same target and classes, on the same test rows.

When the data changed, the champion's model is scored again on the candidate's test set, so both are measured on
the same rows (paired). When the target or its classes changed, or the champion cannot score the new test set, no
number of one says anything about the other: the gate says so, and why, instead of passing or failing.
"""

import json
from dataclasses import dataclass

import pandas as pd
import yaml

from .. import UserError, metrics, project
from ..core import files, paths
from ..core.config import Config
from ..core.shell import show
from . import champion
from .artifact import CLASSES, NOT_COMPARABLE, RESCORED, SAME_ROWS, TARGET, UNSCORABLE
from .compare import same_rows


@dataclass(frozen=True)
class Comparison:
    how: str  # one of SAME_ROWS, RESCORED or NOT_COMPARABLE
    detail: str  # said to the reviewer
    champion: pd.DataFrame | None = None  # its predictions on the candidate's rows
    scores: dict | None = None  # its metrics as compared

    @property
    def comparable(self) -> bool:
        return self.how not in NOT_COMPARABLE


def compare(config: Config, commit: str, baseline: pd.DataFrame, candidate: pd.DataFrame) -> Comparison:
    """How the champion of `commit` compares with the candidate, whose predictions are `candidate`."""
    before = champion_target(commit)
    if before != config.data.target:
        return Comparison(TARGET, f"data.target changed from '{before}' to '{config.data.target}'")
    if config.task == "classification":
        old, new = _classes(baseline), _classes(candidate)
        if old != new:
            return Comparison(CLASSES, f"the target's classes changed ({_change(old, new)})")
    if same_rows(baseline, candidate):
        committed = json.loads(show(commit, paths.METRICS) or "{}")
        return Comparison(SAME_ROWS, "both models scored the same test rows", baseline, committed)
    return _rescore(config, commit, candidate)


def champion_target(commit: str) -> str:
    params = yaml.safe_load(show(commit, paths.PARAMS) or "") or {}
    return str((params.get("data") or {}).get("target", ""))


def _rescore(config: Config, commit: str, candidate: pd.DataFrame) -> Comparison:
    test = pd.read_parquet(paths.TEST)
    features, target = test.drop(columns=[config.data.target]), test[config.data.target]
    try:
        model = files.load_model(champion.model_file(commit), project.pipeline("train").MODEL_TYPES)
        positive = (
            metrics.positive_label(target, config.data.positive_label)
            if config.task == "classification"
            else ""
        )
        predictions = project.pipeline("evaluate").predict(model, features, target, positive)
    except (UserError, ValueError, KeyError) as error:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        return Comparison(
            UNSCORABLE, f"the test set changed and the champion's model cannot score it: {problem}"
        )
    detail = f"the test set changed: the champion's model was scored again on the candidate's {len(test):,} test rows"
    return Comparison(RESCORED, detail, predictions, metrics.compute(config.task, predictions))


def _classes(predictions: pd.DataFrame) -> set[str]:
    return {column.removeprefix("proba_") for column in metrics.probability_columns(predictions)} or set(
        predictions["y_true"].astype(str)
    )


def _change(old: set[str], new: set[str]) -> str:
    parts = [
        f"added {', '.join(sorted(new - old))}" if new - old else "",
        f"removed {', '.join(sorted(old - new))}" if old - new else "",
    ]
    return "; ".join(part for part in parts if part)
