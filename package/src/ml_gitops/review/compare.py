"""How sure are we that the candidate differs from the champion? A bootstrap interval of each metric's delta.

Paired when both models scored the same test rows (each resample picks the same rows for both), unpaired
otherwise. Vectorised: rows fall into at most GROUPS random groups (one row per group for small test sets);
each metric is a function of per-group sums, so 1,000 resamples are one matrix product, whatever the row count.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import DIRECTIONS, probability_columns

GROUPS = 2000
RESAMPLES = 1000
MAX_SCORE_BINS = 256
STATISTICS = {  # what each metric is computed from (a prefix for the per-class histograms)
    "accuracy": ("n", "correct"),
    "balanced_accuracy": ("class_correct", "class_count"),
    "f1": ("tp", "fp", "fn"),
    "log_loss": ("n", "neg_log_p"),
    "roc_auc": ("positive_hist_", "negative_hist_"),
    "rmse": ("n", "sse"),
    "mae": ("n", "sae"),
    "r2": ("n", "sse", "sy", "syy"),
}


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    paired: bool


def delta_intervals(
    task: str, champion: pd.DataFrame, candidate: pd.DataFrame, seed: int = 0
) -> dict[str, Interval]:
    """95% percentile bootstrap interval of `candidate - champion` for every metric that supports it."""
    rng = np.random.default_rng(seed)
    paired = same_rows(champion, candidate)
    champion_draw = _draw(len(champion), rng)
    candidate_draw = champion_draw if paired else _draw(len(candidate), rng)
    champion_sums = _resampled_sums(task, champion, *champion_draw)
    candidate_sums = _resampled_sums(task, candidate, *candidate_draw)
    intervals = {}
    for name in DIRECTIONS[task]:
        before, after = champion_sums.metric(name), candidate_sums.metric(name)
        if before is None or after is None:
            continue
        low, high = np.nanpercentile(after - before, [2.5, 97.5])
        intervals[name] = Interval(float(low), float(high), paired)
    return intervals


def same_rows(champion: pd.DataFrame, candidate: pd.DataFrame) -> bool:
    """Whether both models scored the same test rows, with the same true values: then they can be paired."""
    return champion.index.equals(candidate.index) and champion["y_true"].astype(str).equals(
        candidate["y_true"].astype(str)
    )


def metric_intervals(
    task: str,
    predictions: pd.DataFrame,
    seed: int = 0,
    weights: np.ndarray | None = None,
    names: list[str] | None = None,
) -> dict[str, Interval]:
    """95% percentile bootstrap interval of every metric (or those in `names`) of one model on its test set.
    `weights` (from `group_weights`) may be shared by many calls: the draws of group counts are the costly part."""
    names = list(DIRECTIONS[task]) if names is None else names
    draw = _draw(len(predictions), np.random.default_rng(seed), weights)
    sums = _resampled_sums(task, predictions, *draw, needed={s for n in names for s in STATISTICS[n]})
    intervals = {}
    for name in names:
        values = sums.metric(name)
        if values is not None:
            low, high = np.nanpercentile(values, [2.5, 97.5])
            intervals[name] = Interval(float(low), float(high), paired=False)
    return intervals


@dataclass
class _Sums:
    """Bootstrap replicates of the sufficient statistics of every metric: arrays of shape (RESAMPLES, k)."""

    stats: dict[str, np.ndarray]
    task: str

    def metric(self, name: str) -> np.ndarray | None:
        s = self.stats
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.task == "regression":
                n = s["n"][:, 0]
                if name == "mae":
                    return s["sae"][:, 0] / n
                sse = s["sse"][:, 0]
                return (
                    np.sqrt(sse / n)
                    if name == "rmse"
                    else 1 - sse / (s["syy"][:, 0] - s["sy"][:, 0] ** 2 / n)
                )
            if name == "accuracy":
                return s["correct"][:, 0] / s["n"][:, 0]
            if name == "balanced_accuracy":
                return np.nanmean(s["class_correct"] / s["class_count"], axis=1)
            if name == "f1":
                tp, fp, fn = s["tp"], s["fp"], s["fn"]
                f1 = 2 * tp / (2 * tp + fp + fn)
                return f1[:, -1] if tp.shape[1] == 2 else np.nanmean(f1, axis=1)
            if name == "log_loss":
                return s["neg_log_p"][:, 0] / s["n"][:, 0]
            # roc_auc, binary: the positive class; multiclass: the mean of each class against the rest
            if name == "roc_auc":
                classes = [
                    key.removeprefix("positive_hist_") for key in s if key.startswith("positive_hist_")
                ]
                per_class = [
                    _auc_from_histograms(s[f"positive_hist_{k}"], s[f"negative_hist_{k}"]) for k in classes
                ]
                return np.mean(per_class, axis=0)
        return None


def group_weights(seed: int = 0, groups: int = GROUPS) -> np.ndarray:
    """How often each resample picks each of `groups` row groups: shape (RESAMPLES, groups)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(groups, np.full(groups, 1 / groups), size=RESAMPLES).astype(np.float64)


def _draw(
    rows: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Random row groups, and how often each resample picks each group: shapes (rows,) and (RESAMPLES, groups)."""
    groups = min(rows, GROUPS)
    membership = rng.permutation(rows) % groups
    if weights is None or weights.shape[1] != groups:
        weights = rng.multinomial(groups, np.full(groups, 1 / groups), size=RESAMPLES).astype(np.float64)
    return membership, weights


def _resampled_sums(
    task: str,
    predictions: pd.DataFrame,
    membership: np.ndarray,
    weights: np.ndarray,
    needed: set[str] | None = None,
) -> _Sums:
    per_row = _regression_stats(predictions) if task == "regression" else _classification_stats(predictions)
    if needed is not None:
        per_row = {
            name: v for name, v in per_row.items() if name in needed or name.rstrip("0123456789") in needed
        }
    groups = weights.shape[1]
    stats = {name: _resample(weights, _group(values, membership, groups)) for name, values in per_row.items()}
    return _Sums(stats=stats, task=task)


def _resample(weights: np.ndarray, grouped: np.ndarray) -> np.ndarray:
    """`weights @ grouped`. Wide tables of counts (the score histograms) in float32, which halves the time: exact,
    since every product and partial sum is an integer below 2**24 (each resample picks `groups` groups)."""
    counts = grouped.shape[1] > 2 and np.array_equal(grouped, np.round(grouped))
    if counts and grouped.sum(axis=1).max() * weights.sum(axis=1).max() < 2**24:
        return (weights.astype(np.float32) @ grouped.astype(np.float32)).astype(np.float64)
    return weights @ grouped


@dataclass(frozen=True)
class _Binned:
    """A per-row one-hot histogram, kept as bin indices (a dense one-hot would not fit at a million rows)."""

    bins: np.ndarray
    count: int
    weights: np.ndarray


def _group(values: "np.ndarray | _Binned", membership: np.ndarray, groups: int) -> np.ndarray:
    """Sum per-row statistics within each group: shape (groups, k)."""
    if isinstance(values, _Binned):
        flat = membership * values.count + values.bins
        return np.bincount(flat, weights=values.weights, minlength=groups * values.count).reshape(groups, -1)
    columns = [
        np.bincount(membership, weights=values[:, j], minlength=groups) for j in range(values.shape[1])
    ]
    return np.stack(columns, axis=1)


def _regression_stats(predictions: pd.DataFrame) -> dict[str, np.ndarray]:
    actual = predictions["y_true"].to_numpy(float)
    error = predictions["y_pred"].to_numpy(float) - actual
    columns = {
        "n": np.ones_like(actual),
        "sse": error**2,
        "sae": np.abs(error),
        "sy": actual,
        "syy": actual**2,
    }
    return {name: values[:, None] for name, values in columns.items()}


def _classification_stats(predictions: pd.DataFrame) -> dict[str, "np.ndarray | _Binned"]:
    columns = probability_columns(predictions)
    labels = np.array([column.removeprefix("proba_") for column in columns])
    actual = predictions["y_true"].astype(str).to_numpy()[:, None] == labels[None, :]
    predicted = predictions["y_pred"].astype(str).to_numpy()[:, None] == labels[None, :]
    proba = predictions[columns].to_numpy(float)
    stats = {
        "n": np.ones((len(predictions), 1)),
        "correct": (actual & predicted).any(axis=1, keepdims=True).astype(float),
        "class_correct": (actual & predicted).astype(float),
        "class_count": actual.astype(float),
        "tp": (actual & predicted).astype(float),
        "fp": (~actual & predicted).astype(float),
        "fn": (actual & ~predicted).astype(float),
        "neg_log_p": -np.log(np.clip((proba * actual).sum(axis=1, keepdims=True), 1e-15, 1)),
    }
    for k in [len(labels) - 1] if len(labels) == 2 else range(len(labels)):
        stats[f"positive_hist_{k}"], stats[f"negative_hist_{k}"] = _score_histograms(
            proba[:, k], actual[:, k]
        )
    return stats


def _score_histograms(score: np.ndarray, positive: np.ndarray) -> tuple[_Binned, _Binned]:
    """Score bins of the positive and the negative rows: exact for few distinct scores, quantile bins otherwise."""
    distinct = np.unique(score)
    if len(distinct) <= MAX_SCORE_BINS:
        bins = np.searchsorted(distinct, score)
        count = len(distinct)
    else:
        edges = np.unique(np.quantile(score, np.linspace(0, 1, MAX_SCORE_BINS + 1)[1:-1]))
        bins = np.searchsorted(edges, score, side="right")
        count = len(edges) + 1
    return _Binned(bins, count, positive.astype(float)), _Binned(bins, count, (~positive).astype(float))


def _auc_from_histograms(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """P(score of a positive > score of a negative), ties counted half, from per-bin counts."""
    negatives_below = np.cumsum(negative, axis=1) - negative
    wins = (positive * (negatives_below + 0.5 * negative)).sum(axis=1)
    return wins / (positive.sum(axis=1) * negative.sum(axis=1))
