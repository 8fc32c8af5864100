"""The report warns when the test set is too small for its metrics to mean much (a 32-row table evaluated on 7
rows once reported ROC AUC 1.0 with no warning)."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops.review import report


def predictions(rows: int, rare: int = 0) -> pd.DataFrame:
    labels = ["a"] * (rows - rare) + ["b"] * rare
    return pd.DataFrame({"y_true": labels, "y_pred": labels})


def test_a_small_test_set_is_flagged(params):
    warning = report.small_test_set_warning(params, predictions(7, rare=3))
    assert warning.startswith("> [!WARNING]\n> The test set is small (7 rows")
    assert "raise split.test_size in params.yaml" in warning


def test_a_large_enough_test_set_is_not(params):
    rows = report.MIN_TEST_ROWS
    assert report.small_test_set_warning(params, predictions(rows, rare=rows // 2)) == ""


def test_a_rare_class_is_flagged_in_classification(params):
    warning = report.small_test_set_warning(params, predictions(500, rare=2))
    assert ("2 of class 'b'" in warning) == (params.task == "classification")


@pytest.mark.parametrize("labels", [(0, 1), ("no", "yes")])
def test_the_chart_s_roc_points_are_scikit_learn_s_curve(labels):
    """report._roc_points sorts once instead of calling roc_curve on the labels as text (2.5 s of `report` on a
    million rows); it must give scikit-learn's curve, ties in the scores included."""
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 5_000)
    score = np.round(rng.random(5_000) * 0.6 + truth * 0.3, 2)  # many tied scores
    negative, positive = labels
    frame = pd.DataFrame(
        {
            "y_true": np.where(truth == 1, positive, negative),
            f"proba_{negative}": 1 - score,
            f"proba_{positive}": score,
        }
    )
    grid = np.linspace(0, 1, 11)
    fpr, tpr, _ = roc_curve(truth, score)
    assert np.allclose(report._roc_points(frame, grid), np.interp(grid, fpr, tpr))
