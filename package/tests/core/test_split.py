"""The split's row keys: a column of texts hashes as categories (issue 29: no text copy of millions of rows), and
every key stays exactly the key of the canonical text form, so each row keeps its side."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops.core import split

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


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


def negative_zero_and_another_nan() -> np.ndarray:
    other_nan = np.frombuffer(np.array([0x7FF8000000000001], dtype=np.uint64).tobytes(), dtype=np.float64)[0]
    return np.array([0.0, -0.0, np.nan, other_nan, 1.5, 1.5])


REPEATS = {
    "floats": negative_zero_and_another_nan(),
    "Float64": pd.array(negative_zero_and_another_nan(), dtype="Float64"),
    "integers": np.array([1, 1, 2, 2, 3, 3]),
    "Int64": pd.array([1, 1, None, None, 3, 3], dtype="Int64"),
    "object": np.array([1, 1.0, None, np.nan, "a", "a"], dtype=object),
    "str": pd.array(["a", "a", None, np.nan, "b", "b"], dtype="str"),
    "category": pd.Categorical(["a", "a", None, None, "b", "b"]),
    "dates": pd.to_datetime(["2024-01-01", "2024-01-01", None, None, "2024-01-02", "2024-01-02"]),
    "booleans": np.array([True, True, False, False, True, True]),
}


@pytest.mark.parametrize("kind", REPEATS)
def test_duplicated_rows_counts_as_duplicated_does(kind):
    """Each kind of column next to one that makes pairs of rows; equal values that are spelt apart (0.0 and -0.0,
    two NaNs, 1 and 1.0) count as pandas' duplicated counts them."""
    frame = pd.DataFrame({"values": REPEATS[kind], "pairs": [0, 0, 1, 1, 2, 2]})
    expected = int(frame.duplicated(keep="first").sum())
    assert (
        expected == 3 or kind == "booleans"
    )  # each pair repeats, though 0.0 and -0.0 and the NaNs differ in bits
    assert split.duplicated_rows(frame) == expected
    assert split.duplicated_rows(frame.set_axis(["same", "same"], axis=1)) == expected


def test_duplicated_rows_of_a_large_frame():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.integers(0, 50, 30_000), "y": rng.integers(0, 50, 30_000) * 0.5})
    frame["text"] = np.where(frame["x"] % 3 == 0, "a", "b")
    assert split.duplicated_rows(frame) == int(frame.duplicated(keep="first").sum()) > 0


def test_rows_whose_hashes_collide_are_compared():
    """1 and "1" hash alike (pandas hashes a number among texts as its text) but are different values."""
    frame = pd.DataFrame({"code": np.array([1, "1", 2], dtype=object), "pairs": [0, 0, 0]})
    hashes = pd.util.hash_pandas_object(frame, index=False)
    assert hashes[0] == hashes[1]
    assert split.duplicated_rows(frame) == int(frame.duplicated().sum()) == 0
