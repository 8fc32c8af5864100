"""Batch scoring: the same answers and the same refusals as /predict, in bounded batches, logged like the service."""

import json

import pandas as pd
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
    broken.to_csv(path, index=False)
    outcome = score.run(path, tmp_path / "scored.csv", batch_rows=4)
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert outcome.refused == 2
    assert outcome.problems == [
        f"row 3: column '{first}': 'big' is not a finite number",
        f"row 6: column '{first}': 'inf' is not a finite number",  # read_csv reads 1e309 as inf
    ]
    assert len(scored) == len(frame) - 2
    with TestClient(serve.create_app()) as client:  # /predict refuses the same two rows
        for value in ("big", 1e309):
            row = {**serve.json_records(frame.drop(columns="customer").head(1))[0], first: value}
            body = '{"rows": [' + json.dumps(row).replace("Infinity", "1e309") + "]}"  # JSON has no infinity
            response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 422


def test_strict_refuses_the_file_and_writes_nothing(table, tmp_path):
    path, frame = table
    frame.drop(columns="customer").assign(**{frame.columns[0]: "big"}).to_csv(path, index=False)
    with pytest.raises(UserError, match=r"row 1: column .* 'big' is not a finite number \(--strict refuses"):
        score.run(path, tmp_path / "scored.csv", strict=True)
    assert not [path.name for path in tmp_path.iterdir() if "scored" in path.name]


def test_a_file_without_a_feature_is_refused_naming_it(table, tmp_path):
    path, frame = table
    frame.drop(columns=frame.columns[0]).to_csv(path, index=False)
    with pytest.raises(
        UserError, match=rf"the file has no column '{frame.columns[0]}': the model needs every"
    ):
        score.run(path, tmp_path / "scored.csv")
