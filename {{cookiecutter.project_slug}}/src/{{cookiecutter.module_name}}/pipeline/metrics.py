"""Score test-set predictions. A metric's direction says whether higher (+1) or lower (-1) is better."""

import numpy as np
import pandas as pd

from .. import UserError

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


def compute(task: str, predictions: pd.DataFrame) -> dict[str, float]:
    """Every metric of the task, rounded for a readable diff."""
    scores = _classification(predictions) if task == "classification" else _regression(predictions)
    return {name: round(float(value), 6) for name, value in scores.items()}


def _classification(predictions: pd.DataFrame) -> dict[str, float]:
    from sklearn import metrics

    y_true, y_pred = predictions["y_true"].astype(str), predictions["y_pred"].astype(str)
    columns = probability_columns(predictions)
    labels = [column.removeprefix("proba_") for column in columns]
    proba = predictions[columns].to_numpy()
    binary = len(labels) == 2
    return {
        "roc_auc": metrics.roc_auc_score(y_true == labels[-1], proba[:, -1])
        if binary
        else metrics.roc_auc_score(
            y_true, proba[:, np.argsort(labels)], labels=sorted(labels), multi_class="ovr"
        ),
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
        "f1": metrics.f1_score(y_true, y_pred, average="binary", pos_label=labels[-1])
        if binary
        else metrics.f1_score(y_true, y_pred, average="macro"),
        "log_loss": metrics.log_loss(  # columns in sorted label order, as scikit-learn assumes (roc_auc too)
            y_true, np.clip(proba[:, np.argsort(labels)], 1e-15, 1), labels=sorted(labels)
        ),
    }


def _regression(predictions: pd.DataFrame) -> dict[str, float]:
    error = predictions["y_pred"].to_numpy(float) - predictions["y_true"].to_numpy(float)
    y_true = predictions["y_true"].to_numpy(float)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "rmse": np.sqrt(np.mean(error**2)),
        "mae": np.mean(np.abs(error)),
        "r2": 1 - np.sum(error**2) / total if total > 0 else 0.0,
    }
