"""Can the champion's numbers judge the candidate? Only for the same target and classes, on the same test rows.

When the data changed, the champion's model is scored again on the candidate's test set, so both are measured on
the same rows (paired), less every row the champion trained on (matched by key: data.id, else the features both
tables have), which would flatter it. When the target or its classes changed, or the champion cannot score the new test set, no
number of one says anything about the other: the gate says so, and why, instead of passing or failing.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import UserError, metrics, project
from ..core import files, paths
from ..core import split as rows
from ..core.config import Config
from ..core.shell import git, show, tool
from . import champion
from .artifact import CLASSES, NOT_COMPARABLE, RESCORED, SAME_ROWS, TARGET, UNSCORABLE
from .compare import same_rows


@dataclass(frozen=True)
class Comparison:
    how: str  # one of SAME_ROWS, RESCORED or NOT_COMPARABLE
    detail: str  # said to the reviewer
    champion: pd.DataFrame | None = None  # its predictions on the candidate's rows
    scores: dict | None = None  # its metrics as compared
    candidate: pd.DataFrame | None = (
        None  # the candidate's predictions on the rows both are judged on (None: all)
    )
    candidate_scores: dict | None = None  # the candidate's metrics on those rows (None: its own metrics.json)

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
        if _positive(baseline) != _positive(candidate):  # the same rows: data.positive_label changed
            return Comparison(
                CLASSES,
                f"the positive class changed from {_positive(baseline)!r} to {_positive(candidate)!r} "
                "(data.positive_label): the champion's committed binary metrics are of the other class",
            )
        committed = json.loads(show(commit, paths.METRICS) or "{}")
        return Comparison(SAME_ROWS, "both models scored the same test rows", baseline, committed)
    return _rescore(config, commit, candidate)


def champion_target(commit: str) -> str:
    params = yaml.safe_load(show(commit, paths.PARAMS) or "") or {}
    return str((params.get("data") or {}).get("target", ""))


def _rescore(config: Config, commit: str, candidate: pd.DataFrame) -> Comparison:
    test = pd.read_parquet(paths.TEST)
    try:
        if not candidate.index.equals(test.index):
            raise UserError(f"{paths.PREDICTIONS} is not of {paths.TEST}: run dvc repro")
        trained_on = _trained_on(config, commit, test)
        model = files.load_model(champion.model_file(commit), project.pipeline("train").MODEL_TYPES)
        kept = test[~trained_on]
        if kept.empty:
            raise UserError(f"the champion trained on every one of the candidate's {len(test):,} test rows")
        features, target = kept.drop(columns=[config.data.target]), kept[config.data.target]
        positive = _positive(
            candidate
        ) or (  # the candidate's: the rarest class of these rows may be the other
            metrics.positive_label(target, config.data.positive_label)
            if config.task == "classification"
            else ""
        )
        predictions = project.pipeline("evaluate").predict(model, features, target, positive)
    except (UserError, ValueError, KeyError, OSError) as error:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        return Comparison(
            UNSCORABLE, f"the test set changed and the champion's model cannot score it: {problem}"
        )
    judged = candidate[~trained_on]
    left_out = int(trained_on.sum())
    detail = (
        f"the test set changed: the champion's model was scored again on the candidate's {len(test):,} test rows; "
        f"{left_out:,} of them it trained on were left out, so both are judged on the same {len(kept):,} rows"
    )
    return Comparison(
        RESCORED,
        detail,
        predictions,
        metrics.compute(config.task, predictions),
        judged,
        metrics.compute(config.task, judged),
    )


def _trained_on(config: Config, commit: str, test: pd.DataFrame) -> np.ndarray:
    """Which of the candidate's test rows the champion trained on: the same key (the id both tables have, else the
    hash of the features both tables have) in the champion's training set."""
    trained = champion_training_rows(commit)
    target = config.data.target
    row_id = config.data.id
    if row_id and row_id in (trained.index.name, *trained.columns):
        return np.isin(rows.row_keys(test, target, row_id), rows.row_keys(trained, target, row_id))
    common = [column for column in test.columns if column in trained.columns and column != target]
    if not common:
        raise UserError("the champion's training rows share no feature with the candidate's test rows")
    return np.isin(
        rows.row_keys(test, target, columns=common), rows.row_keys(trained, target, columns=common)
    )


def champion_training_rows(commit: str) -> pd.DataFrame:
    """The champion's training set: from the local DVC cache (data/prepared as its dvc.lock records it), else its
    worktree (checked out, pulled or reproduced)."""
    trained = champion_prepared(commit, paths.TRAIN, reproduce=True)
    if trained is None:
        raise UserError(
            f"the champion's training rows ({paths.TRAIN}, as its dvc.lock records them) are neither in the DVC "
            "cache nor in the remote, nor prepared again the same, so the rows it trained on cannot be left out"
        )
    return trained


def champion_prepared(commit: str, path: Path, reproduce: bool = False) -> pd.DataFrame | None:
    """A prepared table of the champion (`path` under data/prepared): from the local DVC cache, else its worktree
    when it holds the table `commit`'s dvc.lock records, else (`reproduce`) the worktree checked out, pulled or
    reproduced; None: not at hand."""
    cached = _cached_file_in_directory(commit, path)
    if cached is not None:
        return pd.read_parquet(cached)
    if not _in_worktree(commit, path) and not (reproduce and _fetched(commit, path)):
        return None
    return pd.read_parquet(champion.WORKTREE / path)


def _fetched(commit: str, path: Path) -> bool:
    """Whether the champion worktree, reproduced, then checked out, pulled or prepared again (whichever gives it
    first), holds `path` as `commit`'s dvc.lock records it."""
    worktree = champion.reproduce(commit)
    for fetch in (_checkout_prepared, _pull_prepared, _prepare_again):
        if _in_worktree(commit, path):
            return True
        try:
            fetch(worktree)
        except UserError:
            continue
    return _in_worktree(commit, path)


def _in_worktree(commit: str, path: Path) -> bool:
    """Whether the champion worktree is at `commit` and its `path` is what `commit`'s dvc.lock records: Git leaves
    an ignored file of an older commit there, which is not this champion's."""
    recorded = champion.md5_in_directory(champion.output_md5(champion.lock(commit), path.parent), path.name)
    return _worktree_at(commit) and champion.holds(champion.WORKTREE / path, recorded)


def _checkout_prepared(worktree: Path) -> None:
    """The prepared tables from the local cache, over whatever an older commit left in the worktree."""
    tool("dvc", "checkout", "--force", str(paths.PREPARED), cwd=worktree)


def _pull_prepared(worktree: Path) -> None:
    """The prepared tables from the DVC remote, over whatever an older commit left in the worktree."""
    tool("dvc", "pull", "--force", str(paths.PREPARED), cwd=worktree)


def _prepare_again(worktree: Path) -> None:
    """The champion's prepare stage run again, with its own code and data (prepare is the cheap stage; the same
    inputs give the same tables)."""
    raw = [str(path.relative_to(worktree)) for path in (worktree / "data" / "raw").glob("*.dvc")]
    if raw:
        tool("dvc", "pull", *raw, cwd=worktree)
    environment = {**os.environ, "PYTHONPATH": str((worktree / "src").resolve())}
    tool("dvc", "repro", "--single-item", "prepare", cwd=worktree, env=environment)


def _worktree_at(commit: str) -> bool:
    if not (champion.WORKTREE / ".git").exists():
        return False
    try:
        return git("rev-parse", "HEAD", cwd=champion.WORKTREE).strip() == commit
    except UserError:
        return False


def _cached_file_in_directory(commit: str, path: Path) -> Path | None:
    """The cache file of `path` inside a directory output of `commit`'s dvc.lock, when the local cache holds it."""
    lock = yaml.safe_load(show(commit, "dvc.lock") or "") or {}
    for stage in lock.get("stages", {}).values():
        for out in stage.get("outs", []):
            digest = str(out.get("md5", ""))
            if out.get("path") != str(path.parent) or not digest.endswith(".dir"):
                continue
            manifest = champion.CACHE / digest[:2] / digest[2:]
            if not manifest.is_file():
                return None
            for entry in json.loads(manifest.read_text(encoding="utf-8")):
                if entry.get("relpath") == path.name:
                    cached = champion.CACHE / entry["md5"][:2] / entry["md5"][2:]
                    return cached if cached.is_file() else None
    return None


def _classes(predictions: pd.DataFrame) -> set[str]:
    return {column.removeprefix("proba_") for column in metrics.probability_columns(predictions)} or set(
        predictions["y_true"].astype(str)
    )


def _positive(predictions: pd.DataFrame) -> str:
    """A binary classifier's positive class (its last probability column, as evaluate writes them), else ""."""
    columns = metrics.probability_columns(predictions)
    return columns[-1].removeprefix("proba_") if len(columns) == 2 else ""


def _change(old: set[str], new: set[str]) -> str:
    parts = [
        f"added {', '.join(sorted(new - old))}" if new - old else "",
        f"removed {', '.join(sorted(old - new))}" if old - new else "",
    ]
    return "; ".join(part for part in parts if part)
