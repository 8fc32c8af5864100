"""Column roles: every feature is read as a number, a category or a date, as params.yaml declares (data.categorical,
data.datetime; data.drop removes a column) or, for a column it does not name, as its values say. `check-params
--data` (the first step of `make repro`) prints the roles, so a user sees what the model will use."""

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ml_gitops import UserError
from ml_gitops.core.config import DataConfig

MIN_ROWS_FOR_IDENTIFIERS = 20  # below this, a column of distinct values may be chance, not an identifier
IDENTIFIER_NAME = re.compile(r"(?i)(.*[^a-z0-9])?(id|uuid|guid|key)|.*[a-z0-9](Id|ID)")
# An undeclared text column with more distinct values than this share of its rows is free text.
FREE_TEXT_SHARE = 0.5
OTHER_DATE_FORMAT = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}( .*)?")
SHOWN = 6  # column names shown per role


@dataclass(frozen=True)
class Roles:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    datetime: tuple[str, ...]
    inferred: tuple[str, ...] = ()  # categorical or date columns params.yaml does not name

    def describe(self) -> str:
        """One line: how many columns of each role, named, with the inferred ones marked."""
        parts = [
            f"{len(columns)} {role} ({self._names(columns)})"
            for role, columns in (
                ("numeric", self.numeric),
                ("categorical", self.categorical),
                ("date", self.datetime),
            )
            if columns
        ]
        line = f"features: {', '.join(parts)}"
        if self.inferred:
            line += (
                "; * inferred from the values: name them under data.categorical, data.datetime or data.drop"
            )
        return line

    def _names(self, columns: tuple[str, ...]) -> str:
        names = [f"{column}*" if column in self.inferred else column for column in columns[:SHOWN]]
        return ", ".join(names) + (f" and {len(columns) - SHOWN} more" if len(columns) > SHOWN else "")


def assign(frame: pd.DataFrame, config: DataConfig, source: str) -> Roles:
    """The declared role of each feature, or the one its values show; refuse a column that fits none."""
    roles: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": []}
    inferred = []
    for column in frame.columns.drop(config.target):
        values = frame[column]
        if column in config.datetime:
            role = _check_declared_dates(values, source)
        else:
            role = "categorical" if column in config.categorical else infer(values, source)
        if role != "datetime":
            _refuse_identifier(values, source)
        if role != "numeric" and column not in (*config.categorical, *config.datetime):
            inferred.append(column)
            if role == "categorical":
                _refuse_free_text(values, source)
        roles[role].append(column)
    return Roles(*(tuple(roles[role]) for role in ("numeric", "categorical", "datetime")), tuple(inferred))


def infer(values: pd.Series, source: str) -> str:
    """Numbers are numeric, timestamps and ISO 8601 text are dates, other text and booleans are categories."""
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    present = values.dropna()
    if _all_dates(present):
        return "datetime"
    _refuse_other_date_formats(present, values.name, source)
    _refuse_numbers_with_text(present, values.name, source)
    return "categorical"


def of(frame: pd.DataFrame, config: DataConfig) -> Roles:
    """The roles of prepared data (its types carry them: see apply), with params.yaml's declarations."""
    roles: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": []}
    for column in frame.columns:
        values = frame[column]
        if column == config.target:
            continue
        if column in config.datetime or pd.api.types.is_datetime64_any_dtype(values):
            roles["datetime"].append(column)
        elif column in config.categorical or not _numbers(values):
            roles["categorical"].append(column)
        else:
            roles["numeric"].append(column)
    return Roles(*(tuple(roles[role]) for role in ("numeric", "categorical", "datetime")))


def apply(frame: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """Categories as texts and dates as timestamps, so the prepared data's types say each column's role."""
    changed = {column: as_categories(frame[column]) for column in roles.categorical if column in frame}
    changed |= {column: as_dates(frame[column]) for column in roles.datetime if column in frame}
    return frame.assign(**changed) if changed else frame


def category_text(value: object) -> object:
    """One text per category: 3, 3.0, "3" and numpy's 3 are all "3"; True is "True"; missing stays NaN."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def as_categories(values: pd.Series) -> pd.Series:
    """A column of category texts (object dtype, NaN where missing). Each distinct value is turned into text once,
    and rows of one category share one text object: millions of rows cost one code each."""
    categories = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    texts = np.asarray([*map(category_text, categories.cat.categories), np.nan], dtype=object)
    return pd.Series(texts[categories.cat.codes.to_numpy()], index=values.index, name=values.name)


def as_dates(values: pd.Series) -> pd.Series:
    """Timestamps in UTC without a time zone; text must be ISO 8601 (YYYY-MM-DD, optionally with a time)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_localize(None)


def _numbers(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _all_dates(present: pd.Series) -> bool:
    if present.empty or pd.api.types.infer_dtype(present, skipna=True) != "string":
        return False
    if not present.str.match(r"\d{4}-\d{2}").all():
        return False
    try:
        as_dates(present)
    except (ValueError, TypeError):
        return False
    return True


def _check_declared_dates(values: pd.Series, source: str) -> str:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if _numbers(values):
        raise UserError(
            f"{source}: data.datetime column '{values.name}' holds numbers: write its dates as ISO 8601 text "
            "(YYYY-MM-DD) or Parquet timestamps"
        )
    present = values.dropna()
    parsed = pd.to_datetime(
        present, utc=True, format="ISO8601", errors="coerce"
    )  # one pass, as as_dates reads
    if parsed.isna().any():
        value = present[parsed.isna()].iloc[0]
        raise UserError(
            f"{source}: data.datetime column '{values.name}' has a value that is not an ISO 8601 date "
            f"({str(value)[:40]!r}): write its dates as YYYY-MM-DD, optionally with a time"
        )
    return "datetime"


def _refuse_other_date_formats(present: pd.Series, column: object, source: str) -> None:
    """Dates written as 01/02/2024 are ambiguous (January or February?): never guessed, never one-hot encoded."""
    sample = present.head(100).astype(str)
    if len(sample) and sample.str.fullmatch(OTHER_DATE_FORMAT).all():
        raise UserError(
            f"{source}: column '{column}' holds dates in a format other than ISO 8601 (e.g. {sample.iloc[0]!r}): "
            "write them as YYYY-MM-DD and list the column under data.datetime"
        )


def _refuse_numbers_with_text(present: pd.Series, column: object, source: str) -> None:
    """A column of numbers with a stray word is a typo, not a category per number."""
    if present.empty:
        return
    words, first = _words(present)
    if words <= 0.1 * len(present):
        raise UserError(
            f"{source}: column '{column}' holds numbers and text (e.g. {str(first)[:40]!r}): fix the "
            "text, or list the column under data.categorical if its values are codes"
        )


def _words(present: pd.Series) -> tuple[int, object]:
    """How many values do not read as numbers, and the first of them (else the first value). A column of texts
    reads each distinct text once, however many rows repeat it."""
    if pd.api.types.infer_dtype(present, skipna=True) == "string":
        codes, texts = pd.factorize(present)  # texts in the order they first appear
        word = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").isna().to_numpy()
        first = texts[word][0] if word.any() else present.iloc[0]
        return int(np.bincount(codes, minlength=len(texts))[word].sum()), first
    words = present[pd.to_numeric(present, errors="coerce").isna()]
    return len(words), words.iloc[0] if len(words) else present.iloc[0]


def _refuse_identifier(values: pd.Series, source: str) -> None:
    """A column with a different value on every row, of text or named like an id, identifies rows: a model that
    learns from it learns nothing that holds for new rows, and new ids look like drift."""
    text = not pd.api.types.is_numeric_dtype(values)
    named = pd.api.types.is_integer_dtype(values) and IDENTIFIER_NAME.fullmatch(str(values.name))
    rows = len(values)
    if rows >= MIN_ROWS_FOR_IDENTIFIERS and (text or named) and values.nunique(dropna=False) == rows:
        raise UserError(
            f"{source}: column '{values.name}' has a different value on every row, like an identifier: list it "
            "under data.drop in params.yaml so that the model does not learn from it"
        )


def _refuse_free_text(values: pd.Series, source: str) -> None:
    rows, distinct = len(values), values.nunique()
    if rows >= MIN_ROWS_FOR_IDENTIFIERS and distinct > FREE_TEXT_SHARE * rows:
        raise UserError(
            f"{source}: column '{values.name}' has {distinct} distinct texts in {rows} rows, like free text: list it "
            "under data.drop, or under data.categorical to encode each text as a category anyway"
        )
