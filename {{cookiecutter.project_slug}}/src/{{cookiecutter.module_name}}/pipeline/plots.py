"""The evaluation plots, as PNG files that DVC tracks and the pull-request report shows."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core import files  # noqa: E402
from .metrics import probability_columns  # noqa: E402

TOP_FEATURES = 15


def write_all(task: str, predictions: pd.DataFrame, importance: pd.Series, directory: Path) -> None:
    figures = classification(predictions) if task == "classification" else regression(predictions)
    figures["feature_importance"] = feature_importance(importance)
    for name, figure in figures.items():
        with files.atomic_path(directory / f"{name}.png") as temporary:
            figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)


def classification(predictions: pd.DataFrame) -> dict[str, plt.Figure]:
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    y_true, score, positive = _positive_class_scores(predictions)
    roc = RocCurveDisplay.from_predictions(y_true, score, pos_label=positive).figure_
    pr = PrecisionRecallDisplay.from_predictions(y_true, score, pos_label=positive).figure_
    confusion = ConfusionMatrixDisplay.from_predictions(
        predictions["y_true"].astype(str), predictions["y_pred"].astype(str), colorbar=False
    ).figure_
    return {"roc": roc, "precision_recall": pr, "confusion_matrix": confusion}


def regression(predictions: pd.DataFrame) -> dict[str, plt.Figure]:
    actual, predicted = predictions["y_true"].to_numpy(float), predictions["y_pred"].to_numpy(float)
    scatter, axes = plt.subplots(figsize=(5, 5))
    axes.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    axes.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    residual, axes = plt.subplots(figsize=(5, 4))
    axes.scatter(predicted, actual - predicted, s=8, alpha=0.6)
    axes.axhline(0, color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    return {"predicted_vs_actual": scatter, "residuals": residual}


def feature_importance(importance: pd.Series) -> plt.Figure:
    top = importance.tail(TOP_FEATURES)
    figure, axes = plt.subplots(figsize=(6, 0.3 * len(top) + 1))
    axes.barh([str(name) for name in top.index], top.to_numpy())
    axes.set(xlabel="mean score drop when shuffled", title="Permutation feature importance")
    return figure


def _positive_class_scores(predictions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """Binary: the positive class's probability (the last column). Multiclass: one-vs-rest, all classes pooled
    (micro-average)."""
    columns = probability_columns(predictions)
    y_true = predictions["y_true"].astype(str).to_numpy()
    if len(columns) == 2:
        return y_true, predictions[columns[-1]].to_numpy(), columns[-1].removeprefix("proba_")
    labels = np.array([column.removeprefix("proba_") for column in columns])
    hits = (y_true[:, None] == labels[None, :]).ravel().astype(int).astype(str)
    return hits, predictions[columns].to_numpy().ravel(), "1"
