"""The split's row keys: a column of texts hashes as categories (issue 29: no text copy of millions of rows), and
every key stays exactly the key of the canonical text form, so each row keeps its side."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops.core import split


def keys_of_the_text_form(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The definition the keys follow: numbers as floats, dates as nanoseconds, everything else as text."""
    canonical = {}
    for name in sorted(str(name) for name in frame.columns if name != target):
        values = frame[name].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(values):
            canonical[name] = values.astype("datetime64[ns]").astype("int64").where(values.notna())
        elif pd.api.types.is_numeric_dtype(values):
            canonical[name] = values.astype("float64")
        else:
            canonical[name] = values.astype("string")
    return pd.util.hash_pandas_object(pd.DataFrame(canonical), index=False).to_numpy(np.uint64)


TEXTS = ["red", "green", None, "", "é ü", "red", np.nan, "3"]
COLUMNS = {
    "object texts": pd.Series(TEXTS, dtype=object),
    "str": pd.Series(TEXTS, dtype="str"),
    "string": pd.Series(TEXTS, dtype="string"),
    "category of texts": pd.Series(TEXTS, dtype="category"),
    "category of numbers": pd.Series([3, 1, None, 2, 3, 1, 2, 3], dtype="category"),
    "numbers and texts": pd.Series([3, 3.0, "3", True, None, "x", 1, "1"], dtype=object),
    "only missing": pd.Series([None] * 8, dtype=object),
    "booleans": pd.Series([True, False, None, True, False, True, None, False], dtype=object),
}


@pytest.mark.parametrize("kind", COLUMNS)
def test_a_key_is_the_key_of_the_text_form(kind):
    frame = pd.DataFrame({"column": COLUMNS[kind], "number": np.arange(8.0), "target": 0})
    assert (split.row_keys(frame, "target") == keys_of_the_text_form(frame, "target")).all()


def test_a_large_mixed_frame_keeps_every_row_on_its_side():
    rng = np.random.default_rng(0)
    rows = 20_000
    levels = np.array([f"level {index}" for index in range(300)], dtype=object)
    frame = pd.DataFrame(
        {
            "amount": rng.standard_normal(rows),
            "count": rng.integers(0, 5, rows),
            "texts": levels[rng.integers(0, 300, rows)],
            "codes": pd.Categorical.from_codes(rng.integers(-1, 40, rows), [f"c{i}" for i in range(40)]),
            "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, rows), unit="D"),
            "target": rng.integers(0, 2, rows),
        }
    )
    frame.loc[frame.index[::7], "texts"] = None
    keys = split.row_keys(frame, "target")
    assert (keys == keys_of_the_text_form(frame, "target")).all()
    expected = split.in_test_set(keys_of_the_text_form(frame, "target"), 42, 0.2)
    assert (split.in_test_set(keys, 42, 0.2) == expected).all()
