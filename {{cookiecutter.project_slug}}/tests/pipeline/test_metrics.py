"""The positive class: data.positive_label, else the rarest class, whatever the labels are called. The same data
labelled fraud/legit or 1/0 once reported F1 0.998 and 0.677, because the class sorting last was positive."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from ml_gitops import UserError, metrics
from sklearn.linear_model import LogisticRegression

from {{ cookiecutter.module_name }}.pipeline import TASK, evaluate

pytestmark = pytest.mark.skipif(TASK != "classification", reason="a classification project's metrics")


def imbalanced(names: tuple) -> tuple[pd.DataFrame, pd.Series]:
    """One rare class (10%) that a feature half separates; `names` = (rare, common)."""
    generator = np.random.default_rng(1)
    rare = generator.random(600) < 0.1
    features = pd.DataFrame({"x": rare + generator.normal(scale=0.8, size=600)})
    return features, pd.Series(np.where(rare, names[0], names[1]), name="target")


def scores(names: tuple, configured: str = "") -> dict[str, float]:
    features, target = imbalanced(names)
    model = LogisticRegression().fit(features, target)
    positive = metrics.positive_label(target, configured)
    return metrics.compute("classification", evaluate.predict(model, features, target, positive))


def test_the_rarest_class_is_positive_whatever_the_labels_are_called():
    assert scores(("fraud", "legit")) == pytest.approx(scores((1, 0)))
    assert scores(("fraud", "legit")) == pytest.approx(scores(("a", "z")))  # the rare class sorting first


def test_data_positive_label_chooses_the_class():
    rare, common = scores(("fraud", "legit"), "fraud"), scores(("fraud", "legit"), "legit")
    assert rare["f1"] < common["f1"], "F1 of a rare class is the harder one"
    assert rare["roc_auc"] == pytest.approx(common["roc_auc"]), "ROC AUC is the same from either side"


def test_a_positive_label_that_is_no_class_is_refused():
    _, target = imbalanced(("fraud", "legit"))
    with pytest.raises(
        UserError, match=r"data.positive_label 'fruad' is not a class of the target \(classes: fraud, legit\)"
    ):
        metrics.positive_label(target, "fruad")


def test_the_report_says_which_class_is_positive(params):
    from ml_gitops.review import report

    features, target = imbalanced(("fraud", "legit"))
    model = LogisticRegression().fit(features, target)
    candidate = evaluate.predict(model, features, target, metrics.positive_label(target, ""))
    assert ": fraud (the rarest class in the test set" in report.positive_class_note(params, candidate)
    chosen = replace(params, data=replace(params.data, positive_label="legit"))
    assert "(`data.positive_label`)" in report.positive_class_note(chosen, candidate)
