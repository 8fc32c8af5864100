"""Batch scoring: the same answers and the same refusals as /predict, in bounded batches, logged like the service."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from ml_gitops import UserError
from ml_gitops.core import paths
from ml_gitops.release import score, serve


@pytest.fixture
def table(trained, tmp_path):
    """The test set as a user's CSV: an id column the model does not use, then the features."""
    features = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).reset_index(drop=True)
    frame = features.assign(customer="c" + features.index.astype(str))
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_scores_match_predict_batch_by_batch_and_keep_the_input_columns(table, tmp_path):
    path, frame = table
    outcome = score.run(path, tmp_path / "scored.parquet", batch_rows=7, log_dir=str(tmp_path / "log"))
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    with TestClient(serve.create_app()) as client:
        answer = client.post(
            "/predict", json={"rows": serve.json_records(frame.drop(columns="customer"))}
        ).json()
    assert (outcome.scored, outcome.refused) == (len(frame), 0)
    assert scored["customer"].tolist() == frame["customer"].tolist()
    assert scored["prediction"].tolist() == pytest.approx(answer["predictions"], rel=1e-9)
    assert scored["request_id"].str.fullmatch(rf"{outcome.run_id}-\d+").all()
    assert len(pd.read_parquet(tmp_path / "log")) == len(frame)


def test_rows_predict_would_refuse_are_left_out_and_named_by_row_number(table, tmp_path):
    path, frame = table
    first = frame.columns[0]
    broken = frame.astype({first: object})
    broken.loc[2, first] = "big"
    broken.loc[5, first] = "1e309"
    broken.loc[6, first] = "-1e300"  # finite, but beyond any feature (serve.MAX_MAGNITUDE)
    broken.to_csv(path, index=False)
    outcome = score.run(path, tmp_path / "scored.csv", batch_rows=4)
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert outcome.refused == 3
    range_ = "is not a finite number from -1e+19 to 1e+19"
    assert outcome.problems == [
        f"row 3: column '{first}': 'big' {range_}",
        f"row 6: column '{first}': 'inf' {range_}",  # read_csv reads 1e309 as inf
        f"row 7: column '{first}': '-1e+300' {range_}",
    ]
    assert len(scored) == len(frame) - 3
    with TestClient(serve.create_app()) as client:  # /predict refuses the same three rows
        for value in ("big", 1e309, -1e300):
            row = {**serve.json_records(frame.drop(columns="customer").head(1))[0], first: value}
            body = '{"rows": [' + json.dumps(row).replace("Infinity", "1e309") + "]}"  # JSON has no infinity
            response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422


def test_strict_refuses_the_file_and_writes_nothing(table, tmp_path):
    path, frame = table
    frame.drop(columns="customer").assign(**{frame.columns[0]: "big"}).to_csv(path, index=False)
    with pytest.raises(
        UserError, match=r"row 1: column .* 'big' is not a finite number .* \(--strict refuses"
    ):
        score.run(path, tmp_path / "scored.csv", strict=True)
    assert not [path.name for path in tmp_path.iterdir() if "scored" in path.name]


def test_a_file_without_a_feature_is_refused_naming_it(table, tmp_path):
    path, frame = table
    frame.drop(columns=frame.columns[0]).to_csv(path, index=False)
    with pytest.raises(
        UserError, match=rf"the file has no column '{frame.columns[0]}': the model needs every"
    ):
        score.run(path, tmp_path / "scored.csv")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_input_column_named_as_an_output_column_is_refused_before_anything_is_written(
    table, tmp_path, suffix
):
    """Written twice, a CSV reader would take the input's stale `prediction`; Parquet cannot hold both."""
    path, frame = table
    score.run(path, tmp_path / "earlier.csv")
    outputs = [name for name in pd.read_csv(tmp_path / "earlier.csv").columns if name not in frame.columns]
    for name in outputs:  # prediction, proba_<class> for a classifier, request_id
        frame.assign(**{name: 1}).to_csv(path, index=False)
        with pytest.raises(UserError) as refused:
            score.run(path, tmp_path / f"scored{suffix}")
        assert str(refused.value) == (
            f"{path} has a column named '{name}', a name score gives its output: rename or drop it (to score an "
            f"earlier output again, drop its {', '.join(outputs)} columns)"
        )
        assert not [found.name for found in tmp_path.iterdir() if "scored" in found.name]


@pytest.mark.parametrize("source", [".csv", ".parquet"])
def test_each_column_keeps_one_type_in_a_parquet_output_whatever_its_batches_hold(table, tmp_path, source):
    """A column empty in the first batch and text in the next, whole numbers missing in one batch only, and in a
    CSV (typed batch by batch as it is read) a feature of whole numbers in the first batch and fractions in the
    next: a Parquet input's columns keep their own type, a CSV's are text, or numbers for the model's numbers."""
    path, frame = table
    first = frame.columns[0]
    frame = frame.head(20).astype({first: object})
    frame.loc[:9, first] = [round(value) for value in frame.loc[:9, first]]  # written as 14, not 14.0
    frame = frame.assign(note=[None] * 10 + ["call back"] * 10, visits=pd.array([None, *range(19)], "Int64"))
    path = path.with_suffix(source)
    if source == ".csv":
        frame.to_csv(path, index=False)
    else:  # as a tool other than pandas writes it: no pandas metadata to restore the types from
        table = pa.Table.from_pandas(frame.astype({first: float}), preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), path)
    outcome = score.run(path, tmp_path / "scored.parquet", batch_rows=10)
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    assert (outcome.scored, outcome.refused) == (20, 0)
    assert scored["note"].iloc[:10].isna().all()
    assert scored["note"].iloc[10:].tolist() == ["call back"] * 10
    assert scored[first].tolist() == pytest.approx(frame[first].astype(float).tolist())
    types = {
        name: pq.read_schema(tmp_path / "scored.parquet").field(name).type
        for name in (first, "note", "visits")
    }
    if source == ".csv":
        assert types == {first: pa.float64(), "note": pa.large_string(), "visits": pa.large_string()}
    else:
        assert types == {name: pq.read_schema(path).field(name).type for name in types}


def test_a_csv_feature_holding_text_keeps_its_numbers_in_a_parquet_output(table, tmp_path):
    """A refused word makes the batch's column text, its numbers too (" 13.5", as a CSV may pad it)."""
    path, frame = table
    first = frame.columns[0]
    frame = frame.head(3).astype({first: object})
    frame.loc[0, first], frame.loc[1, first] = "big", " 13.5"
    frame.to_csv(path, index=False)
    outcome = score.run(path, tmp_path / "scored.parquet")
    assert (outcome.scored, outcome.refused) == (2, 1)
    assert pd.read_parquet(tmp_path / "scored.parquet")[first].tolist() == [13.5, float(frame.loc[2, first])]


def test_a_value_a_parquet_output_column_cannot_hold_is_refused_with_one_line_naming_it(tmp_path):
    """The last guard, should a batch still hold what its column's type cannot (kept_types leaves no such case
    known): one line, not Arrow's traceback."""
    writer = score._Writer(tmp_path / "scored.parquet", ".parquet", {"visits": pa.int64()})
    refused = r"^column 'visits' holds a value its type in the Parquet output \(int64\) cannot hold: write"
    with pytest.raises(UserError, match=refused), writer:
        writer.write(pd.DataFrame({"visits": ["often"]}))
