"""Which rows are the test set: decided by each row's key, so a row's side never changes when others come or go.

A row's key is its id (data.id, the prepared tables' index) or else a hash of its features in a canonical form:
identical rows share a key, so they land on the same side, and the target never counts (renamed classes give the
same split). The side is a hash of the key and the seed; a split by time puts the newest rows in the test set.
"""

import numpy as np
import pandas as pd

MASK = np.uint64(2**64 - 1)


def row_keys(
    frame: pd.DataFrame, target: str, id_column: str = "", columns: list[str] | None = None
) -> np.ndarray:
    """One unsigned 64-bit key per row: its id when `id_column` names the index (or a column), else a hash of the
    features (`columns`, default every column but the target), whatever their order and whether a number is
    spelt 3 or 3.0."""
    if id_column:
        ids = frame.index.to_series() if frame.index.name == id_column else frame[id_column]
        return pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy(np.uint64)
    names = sorted(str(name) for name in (columns or frame.columns) if name != target)
    canonical = pd.DataFrame({name: _canonical(frame[name]) for name in names}, index=range(len(frame)))
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy(np.uint64)


def _canonical(column: pd.Series) -> pd.Series:
    """Numbers as floats, dates as nanoseconds since 1970, everything else as text (missing stays missing)."""
    values = column.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None).astype("datetime64[ns]").astype("int64").where(values.notna())
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    return values.astype("string")


def in_test_set(keys: np.ndarray, seed: int, test_size: float) -> np.ndarray:
    """Whether each key's row is a test row: a uniform number from the key and the seed, below test_size."""
    mixed = _mix(keys.astype(np.uint64) ^ _mix(np.array([seed], dtype=np.uint64))[0])
    return (mixed >> np.uint64(11)).astype(np.float64) / 2.0**53 < test_size


def newest(dates: pd.Series, test_size: float) -> np.ndarray:
    """Whether each row is among the newest `test_size` of the rows (rows of the cut-off date all go to test)."""
    cutoff = dates.sort_values(kind="stable").iloc[min(len(dates) - 1, int(len(dates) * (1 - test_size)))]
    return (dates >= cutoff).to_numpy()


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every bit of the output depends on every bit of the input."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9) & MASK
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB) & MASK
        return z ^ (z >> np.uint64(31))


def duplicated_rows(frame: pd.DataFrame) -> int:
    """Rows whose every column (the target too, not the id) repeats an earlier row's. Rows that repeat each other
    hash alike, so only the rows whose hash repeats are compared: millions of distinct rows cost one hash each,
    computed a column at a time."""
    hashes = np.zeros(len(frame), dtype=np.uint64)
    for position in range(frame.shape[1]):
        column = _as_compared(frame.iloc[:, position])
        hashes = _mix(hashes ^ pd.util.hash_pandas_object(column, index=False).to_numpy(np.uint64))
    repeated = pd.Series(hashes).duplicated(keep=False).to_numpy()
    return int(frame[repeated].duplicated(keep="first").sum())


def _as_compared(column: pd.Series) -> pd.Series:
    """The column as its hash sees it, so that values `duplicated` calls equal always hash alike: 0.0 and -0.0, and
    every NaN, as one float (pandas before 3 hashes their bits), other numpy types and categories as they are, any
    other type by its codes."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = column.to_numpy()
        return pd.Series(np.where(np.isnan(values), np.nan, values) + 0.0)
    if isinstance(dtype, pd.CategoricalDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "iubMmO"):
        return column
    return pd.Series(pd.factorize(column)[0])
