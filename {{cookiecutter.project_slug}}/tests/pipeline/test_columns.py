"""Column roles: numbers, categories (codes as numbers or texts alike) and dates (parts, never one category per
date), declared in params.yaml or inferred and said; a column that fits no role is refused with one line."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from ml_gitops import UserError

from {{ cookiecutter.module_name }}.pipeline import (
    TASK,
    columns,
    data,
    prepare,
    train,
)

ROWS = 400


def dated_table() -> pd.DataFrame:
    """A daily table whose target follows the date: the season for classification, a trend for regression."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2021-01-01", periods=ROWS, freq="D")
    noise = rng.normal(size=ROWS)
    target = (
        days.month.isin([6, 7, 8]).astype(int) if TASK == "classification" else 0.5 * np.arange(ROWS) + noise
    )
    return pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "noise": noise, "target": target})


def load(params, tmp_path, frame: pd.DataFrame, name: str = "d.csv", **declared):
    path = tmp_path / name
    frame.to_parquet(path, index=False) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    settings = replace(params, data=replace(params.data, path=str(path), **declared))
    return settings, *data.load_with_roles(settings.data)


def score(settings, frame: pd.DataFrame) -> float:
    fit, test = prepare.split(frame, settings)
    features = fit.drop(columns=["target"])
    model = train.build(settings, features).fit(features, fit["target"])
    return model.score(test.drop(columns=["target"]), test["target"])


def test_undeclared_roles_are_inferred_and_said(params, tmp_path):
    frame = dated_table().assign(plan=["basic", "pro"] * (ROWS // 2))
    _, loaded, roles = load(params, tmp_path, frame)
    assert roles == columns.Roles(("noise",), ("plan",), ("day",), inferred=("day", "plan"))
    assert roles.describe() == (
        "features: 1 numeric (noise), 1 categorical (plan*), 1 date (day*); * inferred from the values: name them "
        "under data.categorical, data.datetime or data.drop"
    )
    assert pd.api.types.is_datetime64_any_dtype(loaded["day"])


def test_a_date_becomes_parts_of_the_date_and_never_one_category_per_date(params, tmp_path):
    settings, frame, _ = load(params, tmp_path, dated_table())
    features = frame.drop(columns=["target"])
    names = train.build(settings, features).fit(features, frame["target"])[:-1].get_feature_names_out()
    assert [name for name in names if name.startswith("day")] == [
        "day_year",
        "day_month",
        "day_day",
        "day_weekday",
        "day_yearday",
        "day_days",
    ]
    assert (
        score(settings, frame) > 0.9
    )  # as one category per date: 0.78 in classification, the majority's share


@pytest.mark.parametrize("zone", [None, "Europe/Paris"])
def test_parquet_timestamps_train_with_or_without_a_time_zone(params, tmp_path, zone):
    table = dated_table()
    table["day"] = pd.to_datetime(table["day"]).dt.tz_localize(zone) + pd.Timedelta(hours=9)
    settings, frame, roles = load(params, tmp_path, table, name="d.parquet")
    assert roles.datetime == ("day",)
    assert score(settings, frame) > 0.9


def test_codes_given_as_numbers_are_categories_when_declared(params, tmp_path):
    rng = np.random.default_rng(5)
    codes = rng.integers(1, 7, ROWS)
    frame = pd.DataFrame(
        {"occupation": codes, "x": rng.normal(size=ROWS), "target": (codes >= 4).astype(int)}
    )
    frame.loc[::50, "occupation"] = np.nan  # gaps make pandas read the codes as 1.0, 2.0, ...
    settings, loaded, roles = load(params, tmp_path, frame, categorical=("occupation",))
    assert roles.categorical == ("occupation",)
    assert set(loaded["occupation"].dropna()) == {"1", "2", "3", "4", "5", "6"}
    features = loaded.drop(columns=["target"])
    model = train.build(settings, features).fit(features, loaded["target"])

    def predict(code) -> float:
        return round(float(model.predict(pd.DataFrame({"occupation": [code], "x": [0.0]}))[0]), 6)

    assert predict(5) == predict(5.0) == predict("5") == predict(np.int64(5))
    assert predict(5) != predict(1)  # the column is read, not ignored as an unknown category


@pytest.mark.parametrize(
    ("values", "declared", "message"),
    [
        (
            [str(i % 10) for i in range(39)] + ["unknown"],
            {},
            "column 'x' holds numbers and text (e.g. 'unknown'): fix the text, or list the column under "
            "data.categorical if its values are codes",
        ),
        (
            [f"{i % 28 + 1:02d}/03/2024" for i in range(40)],
            {},
            "column 'x' holds dates in a format other than ISO 8601 (e.g. '01/03/2024'): write them as YYYY-MM-DD "
            "and list the column under data.datetime",
        ),
        (
            [f"comment number {i % 30}" for i in range(40)],
            {},
            "column 'x' has 30 distinct texts in 40 rows, like free text: list it under data.drop, or under "
            "data.categorical to encode each text as a category anyway",
        ),
        (
            ["2024-01-01"] * 39 + ["soon"],
            {"datetime": ("x",)},
            "data.datetime column 'x' has a value that is not an ISO 8601 date ('soon'): write its dates as "
            "YYYY-MM-DD, optionally with a time",
        ),
        (
            list(range(40)),
            {"datetime": ("x",)},
            "data.datetime column 'x' holds numbers: write its dates as ISO 8601 text (YYYY-MM-DD) or Parquet "
            "timestamps",
        ),
    ],
)
def test_a_column_that_fits_no_role_is_refused_with_one_line(params, tmp_path, values, declared, message):
    frame = pd.DataFrame({"x": values, "y": range(40), "target": [0, 1] * 20})
    with pytest.raises(UserError) as caught:
        load(params, tmp_path, frame, **declared)
    assert str(caught.value).endswith(message)
