"""Score test-set predictions. A metric's direction says whether higher (+1) or lower (-1) is better."""

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


def _classification(predictions: pd.DataFrame) -> dict:
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
    error = predictions["y_pred"].to_numpy(float) - predictions["y_true"].to_numpy(float)
    y_true = predictions["y_true"].to_numpy(float)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "rmse": lambda: np.sqrt(np.mean(error**2)),
        "mae": lambda: np.mean(np.abs(error)),
        "r2": lambda: 1 - np.sum(error**2) / total if total > 0 else 0.0,
    }
