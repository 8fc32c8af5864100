"""The data checks: every bad file stops the pipeline with one line that says what to fix."""

from dataclasses import replace

import pandas as pd
import pytest
from ml_gitops import UserError

from {{ cookiecutter.module_name }}.pipeline import data


def check(params, path):
    return data.load(replace(params.data, path=str(path)))


def test_bundled_dataset_is_valid(params):
    frame = data.load(params.data)
    assert len(frame) > 100
    assert params.data.target in frame.columns


def test_csv_and_parquet_give_the_same_frame(params, tmp_path):
    frame = data.read_bundled().head(50)
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", index=False)
    pd.testing.assert_frame_equal(check(params, tmp_path / "d.csv"), check(params, tmp_path / "d.parquet"))


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_csv_with_another_separator_reads_as_with_commas(params, tmp_path, separator):
    """Spreadsheets in many languages write `;`-separated CSV: read as one column, nothing would make sense."""
    frame = data.read_bundled().head(50)
    frame.to_csv(tmp_path / "commas.csv", index=False)
    frame.to_csv(tmp_path / "other.csv", index=False, sep=separator)
    pd.testing.assert_frame_equal(
        check(params, tmp_path / "other.csv"), check(params, tmp_path / "commas.csv")
    )


def test_a_target_that_differs_only_in_case_gets_did_you_mean(params, tmp_path):
    frame = data.read_bundled().head(50)
    frame.rename(columns={"target": "Target"}).to_csv(tmp_path / "cased.csv", index=False)
    with pytest.raises(UserError, match="has no target column 'target': did you mean 'Target'\\?"):
        check(params, tmp_path / "cased.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"a,b,target\n", "has a header but no rows"),
        (b"a,b\n1,2\n3,4\n", "has no target column 'target'"),
        (b"a,b,target\n1,,0\n2,,1\n", "column(s) 'b' contain only missing values"),
        (b"a,b,target\n1,2,\n3,4,1\n", "target 'target' is missing in 1 row(s)"),
        ("a,b,target\n1,caf\u00e9,0\n".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_bad_csv_is_refused_with_one_clear_line(params, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UserError) as caught:
        check(params, path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_names_the_setting(params, tmp_path):
    with pytest.raises(UserError, match="not found: fix data.path in params.yaml"):
        check(params, tmp_path / "absent.csv")


def test_unsupported_extension(params, tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"x")
    with pytest.raises(UserError, match="unsupported extension '.xlsx': use .csv or .parquet"):
        check(params, tmp_path / "data.xlsx")


def test_corrupt_parquet(params, tmp_path):
    (tmp_path / "data.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(UserError, match="cannot be read as parquet"):
        check(params, tmp_path / "data.parquet")


def test_declared_categorical_columns_are_accepted(params, tmp_path):
    frame = data.read_bundled().head(40).assign(city=["north", "south"] * 20)
    frame.to_csv(tmp_path / "d.csv", index=False)
    loaded = data.load(replace(params.data, path=str(tmp_path / "d.csv"), categorical=("city",)))
    assert loaded["city"].nunique() == 2


def test_an_identifier_column_is_refused_until_it_is_dropped(params, tmp_path):
    rows = 40
    frame = pd.DataFrame(
        {"customer_id": [f"C{i:04d}" for i in range(rows)], "x": range(rows), "target": [0, 1] * (rows // 2)}
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    settings = replace(params.data, path=str(tmp_path / "d.csv"), target="target")
    with pytest.raises(
        UserError, match=r"column 'customer_id' has a different value on every row, like an iden"
    ):
        data.load(settings)
    loaded = data.load(replace(settings, drop=("customer_id",)))
    assert list(loaded.columns) == ["x", "target"]


def test_an_integer_named_like_an_id_is_an_identifier_but_a_measurement_is_not(params, tmp_path):
    rows = 40
    frame = pd.DataFrame(
        {"accountId": range(rows), "income": range(1000, 1000 + rows), "target": [0, 1] * 20}
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    settings = replace(params.data, path=str(tmp_path / "d.csv"), target="target")
    with pytest.raises(UserError, match="column 'accountId' has a different value on every row"):
        data.load(settings)
    assert list(data.load(replace(settings, drop=("accountId",))).columns) == ["income", "target"]


def test_a_dropped_column_the_data_lacks_is_named(params):
    with pytest.raises(UserError, match=r"^data.drop names column\(s\) 'nope' that "):
        data.load(replace(params.data, drop=("nope",)))
