"""Feature steps the model pipeline runs on every row it sees, in training, in /predict and in the drift check.

Both steps live inside the saved model, so a row is read the same way wherever it is scored: a category given as
the number 3, as 3.0 or as the text "3" is the same category, and a date is always turned into the same numbers.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

# How a category and a date are read lives in columns (prepare reads them without scikit-learn); ml-gitops finds
# category_text and as_categories here, as its contract (ml_gitops.project) names them.
from .columns import as_categories, as_dates, category_text  # noqa: F401

EPOCH = pd.Timestamp("1970-01-01")
DATE_PARTS = {
    "year": "year",
    "month": "month",
    "day": "day",
    "weekday": "day_of_week",
    "yearday": "day_of_year",
}


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
