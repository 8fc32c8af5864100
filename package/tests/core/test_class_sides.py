"""prepare refuses a class whose rows all fell on one side of the split, naming it as text, as before it named
each row as text: the same class, count and side for numbers, texts, mixed spellings and missing values."""

import numpy as np
import pandas as pd
import pytest
from fixture_model.pipeline import TASK, prepare

from ml_gitops import UserError

pytestmark = pytest.mark.skipif(TASK != "classification", reason="classes")


def refusal_row_by_row(target: pd.Series, test: np.ndarray) -> str | None:
    """The rule, written out row by row as text (the reference the faster code must match)."""
    for side, rows in (("training", ~test), ("test", test)):
        absent = sorted(set(target.astype(str)) - set(target[rows].astype(str)))
        if absent:
            count = int((target.astype(str) == absent[0]).sum())
            return f"class '{absent[0]}' of 'y' has {count} row(s), none of them in the {side} set (how)"
    return None


TARGETS = {
    "numbers, one only in the test set": ([0, 0, 1, 1, 2, 0], [0, 1, 0, 1, 1, 0]),
    "texts, one only in training": (["a", "b", "a", "c", "b", "a"], [1, 1, 0, 0, 0, 0]),
    "3 and '3' are one class": ([3, "3", 4, 4, 5, 5], [1, 0, 1, 0, 1, 0]),
    "3 and '3' then a class on one side": ([3, "3", 4, 4, 5, 5], [1, 0, 1, 0, 0, 0]),
    "floats": ([1.0, 1.0, 2.5, 2.5, 0.0, 0.0], [0, 1, 0, 1, 0, 0]),
    "every class on both sides": (["x", "y", "x", "y"], [1, 1, 0, 0]),
    "categories": (pd.Categorical(["lo", "hi", "lo", "hi", "mid"]), [1, 0, 1, 0, 0]),
}


@pytest.mark.parametrize("name", TARGETS)
def test_the_refusal_names_the_class_count_and_side_of_the_row_by_row_rule(name):
    values, sides = TARGETS[name]
    target, test = pd.Series(values, name="y"), np.asarray(sides, dtype=bool)
    expected = refusal_row_by_row(target, test)
    if expected is None:
        prepare._refuse_a_class_on_one_side(target, test, "how")
        return
    with pytest.raises(UserError) as refused:
        prepare._refuse_a_class_on_one_side(target, test, "how")
    assert str(refused.value).replace(": add rows of that class, or change split.test_size", "") == expected


def test_a_missing_class_on_one_side_is_counted():
    """pandas 3 keeps a missing value missing in astype(str): the row-by-row rule counted 0 rows of class 'nan'."""
    target, test = (
        pd.Series([1.0, np.nan, 1.0, 0.0, 0.0, np.nan], name="y"),
        np.asarray([1, 0, 0, 1, 0, 0], bool),
    )
    with pytest.raises(
        UserError, match=r"^class 'nan' of 'y' has 2 row\(s\), none of them in the test set \(how\)"
    ):
        prepare._refuse_a_class_on_one_side(target, test, "how")
