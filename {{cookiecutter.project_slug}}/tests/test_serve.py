"""The HTTP service: health, predictions for valid rows, 422 naming the field for anything else."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.module_name }} import data, paths, prepare, serve, train


@pytest.fixture
def client(trained):
    return TestClient(serve.create_app())


@pytest.fixture
def rows(trained):
    features = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).head(3)
    return json.loads(features.to_json(orient="records", double_precision=15))


def field_errors(response):
    assert response.status_code == 422
    return [(error["loc"][-1], error["type"]) for error in response.json()["detail"]]


def test_health_names_the_model(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert len(body["model_sha256"]) == 64


def test_predictions_match_the_model(client, rows, trained):
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 200
    expected = pd.read_parquet(paths.PREDICTIONS)["y_pred"].head(3).tolist()
    assert response.json()["predictions"] == pytest.approx(expected, rel=1e-9)


def test_missing_values_are_accepted_as_null(client, rows):
    first = next(iter(rows[0]))
    assert client.post("/predict", json={"rows": [{**rows[0], first: None}]}).status_code == 200


def test_wrong_type_is_refused_naming_the_field(client, rows):
    first = next(iter(rows[0]))
    assert field_errors(client.post("/predict", json={"rows": [{**rows[0], first: "big"}]})) == [
        (first, "float_parsing")
    ]


def test_missing_and_unknown_fields_are_named(client, rows):
    first = next(iter(rows[0]))
    row = {key: value for key, value in rows[0].items() if key != first} | {"colour": "red"}
    assert sorted(field_errors(client.post("/predict", json={"rows": [row]}))) == sorted(
        [(first, "missing"), ("colour", "extra_forbidden")]
    )


def test_empty_request_is_refused(client):
    assert field_errors(client.post("/predict", json={"rows": []})) == [("rows", "too_short")]


def test_unseen_category_is_refused_naming_the_field(params, tmp_path):
    frame = data.read_bundled().head(80).assign(city=["north", "south"] * 40)
    frame.to_csv(tmp_path / "cities.csv", index=False)
    params = replace(
        params, data=replace(params.data, path=str(tmp_path / "cities.csv"), categorical=("city",))
    )
    prepare.run(params)
    train.run(params)
    row = json.loads(
        pd.read_parquet(paths.TEST).drop(columns=[params.data.target]).head(1).to_json(orient="records")
    )[0]
    client = TestClient(serve.create_app())
    assert client.post("/predict", json={"rows": [row]}).status_code == 200
    assert field_errors(client.post("/predict", json={"rows": [{**row, "city": "west"}]})) == [
        ("city", "literal_error")
    ]
