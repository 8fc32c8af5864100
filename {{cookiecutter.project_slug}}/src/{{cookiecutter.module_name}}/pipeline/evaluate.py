"""Stage evaluate: score the model on the test set and write metrics, predictions, what it relies on and plots."""

import pandas as pd
from ml_gitops import metrics
from ml_gitops.core import files, paths
from ml_gitops.core.config import Config
from ml_gitops.review import reliance

from . import plots
from .train import MODEL_TYPES


def run(config: Config) -> None:
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    features, target = test.drop(columns=[config.data.target]), test[config.data.target]
    positive = (
        metrics.positive_label(target, config.data.positive_label) if config.task == "classification" else ""
    )
    predictions = predict(model, features, target, positive)
    scores = metrics.compute(config.task, predictions)
    importance = reliance.measure(
        model,
        features,
        target,
        config.evaluate.importance_repeats,
        config.evaluate.importance_max_rows,
        config.seed,
    )
    files.write_parquet(predictions, paths.PREDICTIONS)
    reliance.write(importance)  # reports/importance.json: the report measures the champion on the same rows
    plots.write_all(config.task, predictions, importance, paths.PLOTS)
    files.write_json({**scores, "test_rows": len(test)}, paths.METRICS)


def predict(model, features: pd.DataFrame, target: pd.Series, positive: str = "") -> pd.DataFrame:
    """One row per test example, keyed by its row id so two models' predictions can be paired; the positive
    class's probability comes last when there are two classes (binary metrics and plots read the last column)."""
    predictions = pd.DataFrame({"y_true": target, "y_pred": model.predict(features)}, index=features.index)
    if hasattr(model, "predict_proba"):
        probabilities = model.predict_proba(features)
        binary = len(model.classes_) == 2  # multiclass has no positive class: the model's own order
        order = sorted(
            range(len(model.classes_)), key=lambda i: binary and str(model.classes_[i]) == positive
        )
        for position in order:
            predictions[f"proba_{model.classes_[position]}"] = probabilities[:, position]
    return predictions
