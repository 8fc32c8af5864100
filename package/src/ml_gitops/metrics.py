"""Score test-set predictions. A metric's direction says whether higher (+1) or lower (-1) is better."""

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

from . import UserError

DIRECTIONS = {
    "classification": {"roc_auc": 1, "accuracy": 1, "balanced_accuracy": 1, "f1": 1, "log_loss": -1},
    "regression": {"rmse": -1, "mae": -1, "r2": 1},
}


def check_metric(task: str, name: str) -> None:
    """Refuse a gate metric the task does not compute."""
    if name not in DIRECTIONS[task]:
        raise UserError(f"params.yaml: gate.metric '{name}' is not one of {', '.join(DIRECTIONS[task])}")


def positive_label(target: pd.Series, configured: str) -> str:
    """The class binary metrics and plots call positive: data.positive_label, else the rarest class (the last in
    sorted order on a tie). Its probability column is written last, so every consumer reads the same class."""
    counts = target.astype(str).value_counts()
    if configured:
        if configured not in counts.index:
            classes = ", ".join(sorted(counts.index)[:10])
            raise UserError(
                f"params.yaml: data.positive_label '{configured}' is not a class of the target (classes: {classes})"
            )
        return configured
    return max(label for label, count in counts.items() if count == counts.min())


def probability_columns(predictions: pd.DataFrame) -> list[str]:
    """The `proba_<class>` columns, in the model's class order."""
    return [column for column in predictions.columns if column.startswith("proba_")]


def compute(task: str, predictions: pd.DataFrame, names: list[str] | None = None) -> dict[str, float]:
    """Every metric of the task (or those `names`), rounded for a readable diff."""
    scores = _classification(predictions) if task == "classification" else _regression(predictions)
    return {
        name: round(float(score()), 6) for name, score in scores.items() if names is None or name in names
    }


def compute_groups(
    task: str,
    predictions: pd.DataFrame,
    name: str,
    codes: np.ndarray,
    groups: int,
    ranking: np.ndarray | None = None,
) -> np.ndarray:
    """`name` on each group of rows, for several groupings at once: codes[i, row] is the row's group in grouping i
    (0 to groups - 1; negative: none). The result's [i, g] is compute(task, predictions.iloc[rows], [name])[name]
    for the rows of group g in their order, nan for a group without rows or whose rows compute refuses (a
    ValueError). The same floats, the predictions coded (and a binary roc_auc's scores sorted) once for all.
    `ranking`: a binary roc_auc's rows by increasing score of the positive class, when the caller has sorted them
    (`score_order`), else sorted here."""
    codes = np.atleast_2d(codes)
    found = np.full((len(codes), groups), np.nan)
    score, ranking = _on_rows(task, predictions, name, ranking)
    for i, grouping in enumerate(codes):
        for group, rows, ranked in _grouped(grouping, groups, ranking):
            try:
                found[i, group] = score(rows, ranked)
            except ValueError:
                continue
    return found


def _grouped(codes: np.ndarray, groups: int, ranking: np.ndarray | None):
    """(group, a function giving its rows in increasing order, the positions in `ranking` of the same rows in
    increasing order or None) of every group with rows."""
    codes = codes.astype(np.int16 if groups < 2**15 else np.intp)  # small: sorted by radix
    order = np.argsort(codes if ranking is None else codes[ranking], kind="stable")
    inside = codes >= 0  # the rows of no group come first in `order`, then each group's
    counts = np.bincount(codes[inside], minlength=groups)[:groups]
    bounds = (len(codes) - np.count_nonzero(inside)) + np.r_[0, np.cumsum(counts)]
    for group in range(groups):
        start, end = bounds[group], bounds[group + 1]
        if end > start and ranking is None:
            yield group, lambda start=start, end=end: order[start:end], None
        elif end > start:  # the rows themselves only when asked for
            yield group, lambda group=group: np.flatnonzero(codes == group), order[start:end]


def score_order(task: str, predictions: pd.DataFrame, name: str) -> np.ndarray | None:
    """The rows by increasing score of the positive class (ties in any order) for a binary roc_auc, else None: what
    compute_groups and the segments' bootstrap (review/compare.py) both read the scores in."""
    columns = probability_columns(predictions)
    if task != "classification" or name != "roc_auc" or len(columns) != 2:
        return None
    try:
        return np.argsort(predictions[columns[-1]].to_numpy(float))
    except (ValueError, TypeError):  # not numbers: as compute says on each group
        return None


def _on_rows(task: str, predictions: pd.DataFrame, name: str, ranked: np.ndarray | None = None):
    """A function of (a function giving rows, their positions in the ranking or None) that gives
    compute(task, predictions.iloc[rows], [name])[name]: from arrays computed once where they give the same
    floats, else by compute itself on those rows; and the ranking, the rows by increasing score of the positive
    class (ties in any order; `ranked` when given) for a binary roc_auc, else None."""

    def directly(rows: Callable[[], np.ndarray], ranked: np.ndarray | None = None) -> float:
        return compute(task, predictions.iloc[rows()], [name])[name]

    try:
        coded = _regression_arrays(predictions) if task == "regression" else _class_arrays(predictions)
    except (ValueError, TypeError):  # not numbers, or not probabilities: as compute says on each group
        return directly, None
    if task == "regression":
        y_true, error = coded

        def regression(rows: Callable[[], np.ndarray], ranked: np.ndarray | None = None) -> float:
            taken = rows()
            return round(float(_regression_of(y_true[taken], error[taken])[name]()), 6)

        return regression, None
    y_true, y_pred, proba, positive, clean = coded
    every_row_clean = bool(clean.all())
    ranking = None
    if name == "roc_auc" and proba.shape[1] == 2:
        ranking = np.argsort(proba[:, positive]) if ranked is None else ranked
    if ranking is not None:
        hits, score = (y_true == positive)[ranking], proba[ranking, positive]

    def classification(rows: Callable[[], np.ndarray], ranked: np.ndarray | None = None) -> float:
        if not every_row_clean and not clean[rows()].all():
            return directly(rows)
        if ranked is not None:  # a binary roc_auc: _from_codes's, without its sort
            truth = hits[ranked]
            if not 0 < np.count_nonzero(truth) < len(truth):
                return directly(rows)  # one class only: scikit-learn's warning and nan
            return round(float(_binary_roc_auc_ranked(score[ranked][::-1], truth[::-1])), 6)
        taken = rows()
        metric = _from_codes(
            y_true[taken], y_pred[taken], proba[taken], positive, lambda: predictions.iloc[taken]
        )
        return round(float(metric[name]()), 6)

    return classification, ranking


def _classification(predictions: pd.DataFrame) -> dict:
    """scikit-learn's numbers. Computed here from class codes, a confusion matrix and one sort, which give the same
    floats, when every class has its column, no class is missing and every probability is finite; by scikit-learn
    otherwise."""
    y_true, y_pred, proba, positive, clean = _class_arrays(predictions)
    if not clean.all():
        return _by_scikit_learn(predictions)
    return _from_codes(y_true, y_pred, proba, positive, lambda: predictions)


def _class_arrays(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Each row's true and predicted class as its position in the sorted classes (-1: missing or of no class), the
    probabilities in that order, the positive class's position, and whether each row can be scored from these."""
    columns = probability_columns(predictions)
    labels = [column.removeprefix("proba_") for column in columns]
    classes = sorted(labels)  # scikit-learn's order
    y_true, y_pred = (_class_codes(predictions[name], classes) for name in ("y_true", "y_pred"))
    proba = predictions[columns].to_numpy()
    clean = (y_true >= 0) & (y_pred >= 0) & np.isfinite(proba).all(axis=1)
    proba = proba[:, [labels.index(label) for label in classes]]
    positive = classes.index(labels[-1]) if labels else -1  # no class: no row is clean
    return y_true, y_pred, proba, positive, clean


def _from_codes(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, positive: int, frame) -> dict:
    """Every classification metric of rows whose classes are all known and probabilities all finite, each computed
    when asked for; by scikit-learn on `frame()` (the same rows as a frame) where scikit-learn has its own answer."""
    classes = proba.shape[1]
    binary = classes == 2

    @cache
    def confusion() -> np.ndarray:
        return np.bincount(y_true * classes + y_pred, minlength=classes**2).reshape(classes, -1)

    def roc_auc() -> float:
        if not binary:
            return _multiclass_roc_auc(y_true, proba)
        if 0 < np.count_nonzero(y_true == positive) < len(y_true):
            return _binary_roc_auc(y_true == positive, proba[:, positive])
        return _by_scikit_learn(frame())["roc_auc"]()  # one class only: its warning and nan

    return {  # each computed when asked for
        "roc_auc": roc_auc,
        "accuracy": lambda: np.count_nonzero(y_true == y_pred) / len(y_true),
        "balanced_accuracy": lambda: _balanced_accuracy(confusion()),
        "f1": lambda: (
            _f1(confusion(), positive if binary else None)
            if (confusion()[positive].sum() + confusion()[:, positive].sum() > 0 or not binary)
            else _by_scikit_learn(frame())["f1"]()
        ),
        "log_loss": lambda: _log_loss(proba, y_true),
    }


def _class_codes(values: pd.Series, classes: list[str]) -> np.ndarray:
    """Each row's class as its position in `classes`, matched as text (only the distinct values are written out as
    text); -1 where a value is missing or of no class."""
    codes, distinct = pd.factorize(values)  # a missing value's code is -1
    texts = pd.Series(distinct, dtype=values.dtype).astype(str)
    position = {label: i for i, label in enumerate(classes)}
    lookup = np.array([position.get(text, -1) for text in texts] + [-1], dtype=np.intp)
    return lookup[codes]


def _balanced_accuracy(confusion: np.ndarray) -> float:
    """The mean recall of the classes that occur (scikit-learn's balanced_accuracy_score)."""
    occurring = confusion.sum(axis=1)
    present = occurring > 0
    return float(np.mean(np.diagonal(confusion)[present] / occurring[present]))


def _f1(confusion: np.ndarray, positive: int | None) -> float:
    """F1 of the positive class (binary), else the mean F1 of the classes that occur in the truth or the
    predictions (macro): 2 tp / (true + predicted), as scikit-learn divides."""
    true, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    scores = 2.0 * np.diagonal(confusion) / (true.astype(float) + predicted.astype(float))
    if positive is not None:
        return float(scores[positive])
    return float(np.mean(scores[(true + predicted) > 0]))


def _log_loss(proba: np.ndarray, y_true: np.ndarray) -> float:
    """Mean -log p(true class): clipped to [1e-15, 1] and then, as scikit-learn does, to [eps, 1 - eps]."""
    eps = np.finfo(proba.dtype).eps
    chosen = np.take_along_axis(proba, y_true[:, None], axis=1)[:, 0]
    return float(np.mean(-np.log(np.clip(np.clip(chosen, 1e-15, 1), eps, 1 - eps))))


def _binary_roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """scikit-learn's roc_auc_score of a binary truth: its ROC curve (one point per distinct score, collinear points
    dropped), built from the same counts with an unstable sort (ties are counted whole either way), and its area by
    the trapezoidal rule as scipy sums it (without importing scikit-learn, which costs half a second)."""
    order = np.argsort(score)[::-1]
    return _binary_roc_auc_ranked(score[order], positive[order])


def _binary_roc_auc_ranked(ranked: np.ndarray, hits: np.ndarray) -> float:
    """_binary_roc_auc of scores in decreasing order (tied scores in any order) and their truth."""
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_positives = np.cumsum(hits, dtype=np.float64)[ends]
    false_positives = 1 + ends.astype(np.float64) - true_positives
    if len(false_positives) > 2:
        corners = np.r_[True, np.diff(false_positives, 2) != 0, True]
        corners[1:-1] |= np.diff(true_positives, 2) != 0
        true_positives, false_positives = true_positives[corners], false_positives[corners]
    true_positives, false_positives = np.r_[0.0, true_positives], np.r_[0.0, false_positives]
    x, y = false_positives / false_positives[-1], true_positives / true_positives[-1]
    return float((np.diff(x) * (y[1:] + y[:-1]) / 2.0).sum())


def _multiclass_roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """scikit-learn's roc_auc_score, one class against the rest, macro (or its error, or nan for a class that
    never occurs, as scikit-learn says)."""
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y_true, proba, labels=list(range(proba.shape[1])), multi_class="ovr")


def _by_scikit_learn(predictions: pd.DataFrame) -> dict:
    """Every metric by scikit-learn's own functions."""
    from sklearn import metrics

    columns = probability_columns(predictions)
    labels = [column.removeprefix("proba_") for column in columns]
    # the classes as integer codes in sorted order (scikit-learn sorts labels; sorting text is slow at scale)
    y_true, y_pred = predictions["y_true"].astype(str), predictions["y_pred"].astype(str)
    universe = sorted(set(labels) | set(y_true.unique()) | set(y_pred.unique()))
    code = {label: number for number, label in enumerate(universe)}
    y_true, y_pred = (pd.Categorical(y, categories=universe).codes for y in (y_true, y_pred))
    proba = predictions[columns].to_numpy()
    ordered = [code[label] for label in sorted(labels)]
    binary = len(labels) == 2
    return {  # each computed when asked for
        "roc_auc": lambda: (
            metrics.roc_auc_score(y_true == code[labels[-1]], proba[:, -1])
            if binary
            else metrics.roc_auc_score(
                y_true, proba[:, np.argsort(labels)], labels=ordered, multi_class="ovr"
            )
        ),
        "accuracy": lambda: metrics.accuracy_score(y_true, y_pred),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y_true, y_pred),
        "f1": lambda: (
            metrics.f1_score(y_true, y_pred, average="binary", pos_label=code[labels[-1]])
            if binary
            else metrics.f1_score(y_true, y_pred, average="macro")
        ),
        "log_loss": lambda: metrics.log_loss(  # columns in sorted label order, as scikit-learn assumes
            y_true, np.clip(proba[:, np.argsort(labels)], 1e-15, 1), labels=ordered
        ),
    }


def _regression(predictions: pd.DataFrame) -> dict:
    return _regression_of(*_regression_arrays(predictions))


def _regression_arrays(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The true values and the errors (predicted - true), as floats."""
    y_true = predictions["y_true"].to_numpy(float)
    return y_true, predictions["y_pred"].to_numpy(float) - y_true


def _regression_of(y_true: np.ndarray, error: np.ndarray) -> dict:
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "rmse": lambda: np.sqrt(np.mean(error**2)),
        "mae": lambda: np.mean(np.abs(error)),
        "r2": lambda: 1 - np.sum(error**2) / total if total > 0 else 0.0,
    }
