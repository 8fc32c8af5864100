"""The evaluation plots, as PNG files that DVC tracks and the pull-request report shows."""

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from ml_gitops.core import files  # noqa: E402
from ml_gitops.metrics import probability_columns  # noqa: E402

if TYPE_CHECKING:
    from ml_gitops.review.reliance import Importance

TOP_FEATURES = 15


def write_all(task: str, predictions: pd.DataFrame, importance: "Importance", directory: Path) -> None:
    figures = classification(predictions) if task == "classification" else regression(predictions)
    figures["feature_importance"] = feature_importance(importance)
    for name, figure in figures.items():
        with files.atomic_path(directory / f"{name}.png") as temporary:
            figure.savefig(temporary, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)


def classification(predictions: pd.DataFrame) -> dict[str, plt.Figure]:
    """ROC and precision-recall of the positive class (binary) or one curve per class against the rest
    (multiclass, titled with the macro average that metrics.json reports), and the confusion matrix."""
    from sklearn.metrics import ConfusionMatrixDisplay

    confusion = ConfusionMatrixDisplay.from_predictions(
        predictions["y_true"].astype(str), predictions["y_pred"].astype(str), colorbar=False
    ).figure_
    return {
        "roc": _curves(predictions, "roc"),
        "precision_recall": _curves(predictions, "precision_recall"),
        "confusion_matrix": confusion,
    }


def _curves(predictions: pd.DataFrame, kind: str) -> plt.Figure:
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    display = RocCurveDisplay if kind == "roc" else PrecisionRecallDisplay
    columns = probability_columns(predictions)
    y_true = predictions["y_true"].astype(str).to_numpy()
    figure, axes = plt.subplots(figsize=(5.5, 5))
    shown = columns[-1:] if len(columns) == 2 else columns  # binary: the positive class, written last
    for column in shown:
        label = column.removeprefix("proba_")
        display.from_predictions(y_true == label, predictions[column], pos_label=True, name=label, ax=axes)
    name = "ROC" if kind == "roc" else "Precision-recall"
    if len(columns) == 2:
        axes.set_title(f"{name}, positive class {shown[0].removeprefix('proba_')}")
    else:
        average = (
            f": macro-average ROC AUC {_macro_auc(y_true, predictions[columns]):.3f}" if kind == "roc" else ""
        )
        axes.set_title(f"{name}, each class against the rest{average}")
    return figure


def _macro_auc(y_true: np.ndarray, probabilities: pd.DataFrame) -> float:
    from sklearn.metrics import roc_auc_score

    ordered = probabilities[sorted(probabilities.columns)]
    labels = [column.removeprefix("proba_") for column in ordered.columns]
    return roc_auc_score(y_true, ordered.to_numpy(), labels=labels, multi_class="ovr")


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


def feature_importance(importance: "Importance") -> plt.Figure:
    """The strongest features' mean drop, each with the range of its shuffles. The champion's, measured on the same
    rows with the same shuffles, is drawn next to it in the pull request's report (review/reliance.py)."""
    means = importance.means().sort_values(kind="stable").tail(TOP_FEATURES)
    drops = [np.asarray(importance.drops[name], dtype=float) for name in means.index]
    spread = [means.to_numpy() - [d.min() for d in drops], [d.max() for d in drops] - means.to_numpy()]
    figure, axes = plt.subplots(figsize=(6, 0.3 * len(means) + 1))
    axes.barh([str(name) for name in means.index], means.to_numpy(), xerr=spread, capsize=2)
    axes.set(
        xlabel=f"{importance.score} drop when shuffled (bar: mean; line: range of {_repeats(importance)} shuffles)",
        title="Permutation feature importance",
    )
    return figure


def _repeats(importance: "Importance") -> int:
    return len(next(iter(importance.drops.values()), []))
