"""The categorical counts of the drift check: values counted as texts, whatever their type, in the same order."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops.monitor import drift

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

RNG = np.random.default_rng(0)


def counted_as_texts(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), drift.MISSING).astype(str).value_counts()


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(RNG.integers(0, 2, 100_000), name="target"),
        pd.Series(RNG.integers(-3, 4, 999).astype(np.int8), name="small"),
        pd.Series(RNG.integers(0, 2, 1000).astype(bool)),
        pd.Series(RNG.integers(0, 5, 10).astype(np.uint64), name="unsigned"),
        pd.Series([3, 1, 2, 2, 1, 3], name="equal counts"),
        pd.Series(np.array([], dtype=np.int64), name="empty"),
        pd.Series([1, "1", 1.0, None, np.nan, "a"], name="mixed"),
        pd.Series([0.0, -0.0, np.nan, 2.5], name="floats"),
        pd.Series([1, None, 3, 3], dtype="Int64", name="nullable"),
    ],
    ids=lambda series: str(series.name),
)
def test_values_are_counted_as_their_texts_most_frequent_first(series):
    pd.testing.assert_series_equal(drift.text_counts(series), counted_as_texts(series))
    assert list(drift.text_counts(series).index) == list(counted_as_texts(series).index)


def test_a_code_given_as_3_or_as_text_is_one_category():
    counts = drift.categorical_counts(pd.Series([3, 3, 1]), pd.Series(["3", "1", "1", None], dtype=object))
    assert counts.tolist() == [[2.0, 1.0, 0.0], [1.0, 2.0, 1.0]]
