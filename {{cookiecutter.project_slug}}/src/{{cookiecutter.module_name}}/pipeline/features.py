"""Feature steps the model pipeline runs on every row it sees, in training, in /predict and in the drift check.

Both steps live inside the saved model, so a row is read the same way wherever it is scored: a category given as
the number 3, as 3.0 or as the text "3" is the same category, and a date is always turned into the same numbers.
"""

import math

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

EPOCH = pd.Timestamp("1970-01-01")
DATE_PARTS = {
    "year": "year",
    "month": "month",
    "day": "day",
    "weekday": "day_of_week",
    "yearday": "day_of_year",
}


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


class AsCategories(TransformerMixin, BaseEstimator):
    """Categorical columns as category texts, whatever type each value arrives as."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return pd.DataFrame({column: as_categories(X[column]) for column in X.columns}, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names_in_, dtype=object)


class DateParts(TransformerMixin, BaseEstimator):
    """Each date column as numbers a model can use, never as one category per date: year, month, day, day of week,
    day of year, the hour when the training dates carry times, and the days elapsed since 1970 (the trend). A date
    later than any seen in training is scored like any other."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = X.shape[1]
        self.with_hour_ = bool(
            any((as_dates(X[column]).dt.hour.fillna(0) != 0).any() for column in X.columns)
        )
        return self

    def transform(self, X):
        parts = {}
        for column in self.feature_names_in_:
            dates = as_dates(X[column])
            for part, attribute in self._parts().items():
                parts[f"{column}_{part}"] = getattr(dates.dt, attribute).astype(float)
            parts[f"{column}_days"] = (dates - EPOCH) / pd.Timedelta(days=1)
        return pd.DataFrame(parts, index=X.index)

    def get_feature_names_out(self, input_features=None):
        names = [*self._parts(), "days"]
        return np.asarray(
            [f"{column}_{part}" for column in self.feature_names_in_ for part in names], dtype=object
        )

    def _parts(self) -> dict[str, str]:
        return DATE_PARTS | {"hour": "hour"} if self.with_hour_ else DATE_PARTS
