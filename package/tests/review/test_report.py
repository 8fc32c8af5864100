"""The report warns when the test set is too small for its metrics to mean much (a 32-row table evaluated on 7
rows once reported ROC AUC 1.0 with no warning)."""

import pandas as pd

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
