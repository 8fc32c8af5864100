"""The HTTP service: health, predictions for valid rows, 422 naming the field for anything else."""

import json
import logging
import socket
import threading
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from fixture_model.pipeline import TASK, data, prepare, train

from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.release import serve


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


@pytest.mark.parametrize("number", ["1e309", "-1e309", "Infinity", "NaN"])
def test_a_number_that_is_not_finite_is_refused_naming_the_field(client, rows, number):
    first = next(iter(rows[0]))
    body = json.dumps({"rows": [{**rows[0], first: "NUMBER"}]}).replace('"NUMBER"', number)
    response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert field_errors(response) == [(first, "finite_number")]


@pytest.mark.parametrize("number", [1e308, -1e308, 1.01e19])
def test_a_number_beyond_any_feature_is_refused_stating_the_bound(client, rows, number):
    """1e308 is finite, but a scaler overflows it to infinity, which scikit-learn refuses; no feature is that large."""
    first = next(iter(rows[0]))
    response = client.post("/predict", json={"rows": [{**rows[0], first: number}]})
    assert field_errors(response) == [(first, "less_than_equal" if number > 0 else "greater_than_equal")]
    assert (
        response.json()["detail"][0]["msg"]
        == "Input should be a number from -1e+19 to 1e+19: no feature is larger"
    )
    assert client.post("/predict", json={"rows": [{**rows[0], first: -1e19}]}).status_code == 200


@pytest.fixture
def refusing_missing_values(trained):
    """The service's model as the linear one of params.yaml's choices, without its numeric imputer: the schema
    accepts null (the pipeline imputes it), but this model refuses it, with scikit-learn's ValueError."""
    linear = "logistic_regression" if TASK == "classification" else "ridge"
    train.run(replace(trained, model=replace(trained.model, name=linear, params={})))
    model = files.load_model(paths.MODEL, train.MODEL_TYPES)
    numeric = model.named_steps["preprocess"].named_transformers_["numeric"]
    numeric.steps[0] = (numeric.steps[0][0], "passthrough")
    files.save_model(model, paths.MODEL)


def test_rows_the_model_refuses_get_a_422_and_no_error_in_the_log(refusing_missing_values, rows, caplog):
    client = TestClient(serve.create_app(), raise_server_exceptions=False)
    first = next(iter(rows[0]))
    response = client.post("/predict", json={"rows": [rows[0], {**rows[1], first: None}]})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "rows"],
            "type": "model_refused",
            "msg": "The model cannot score these rows: it refused a value in them (ValueError)",
        }
    ]
    assert [r.levelname for r in caplog.records if r.name.startswith("ml_gitops")] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert client.post("/predict", json={"rows": rows}).status_code == 200


def test_a_request_with_many_errors_gets_a_short_answer(client, rows):
    first = next(iter(rows[0]))
    response = client.post("/predict", json={"rows": [{**rows[0], first: "big"}] * serve.MAX_ROWS})
    errors = field_errors(response)
    assert len(errors) == serve.MAX_ERRORS + 1
    assert errors[-1] == ("body", "too_many_errors")
    assert len(response.content) < 10_000


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


@pytest.fixture
def dated(params, tmp_path):
    """The model trained on a CSV of a date, a category given as number codes and a number: (its rows, params)."""
    rng = np.random.default_rng(1)
    codes = rng.integers(1, 5, 200)
    frame = pd.DataFrame(
        {
            "signup": pd.date_range("2023-01-01", periods=200, freq="D").strftime("%Y-%m-%d"),
            "occupation": codes,
            "x": rng.normal(size=200),
            "target": (codes >= 3).astype(int),
        }
    )
    frame.to_csv(tmp_path / "own.csv", index=False)
    params = replace(
        params, data=replace(params.data, path=str(tmp_path / "own.csv"), categorical=("occupation",))
    )
    prepare.run(params)
    train.run(params)
    return frame, params


def test_dates_and_number_codes_are_served_as_the_model_reads_them(dated):
    """The CSV's own row (a code as a number) gets the model's own prediction, as does the code sent as text or
    3.0; a date later than any in training is scored; a date that is none is refused naming the field."""
    frame, params = dated
    client = TestClient(serve.create_app())
    row = json.loads(frame.drop(columns=["target"]).head(1).to_json(orient="records"))[0]
    model = files.load_model(paths.MODEL, train.MODEL_TYPES)
    expected = model.predict(data.load(params.data).drop(columns=["target"]).head(1)).tolist()
    for code in (row["occupation"], str(row["occupation"]), float(row["occupation"])):
        answer = client.post("/predict", json={"rows": [{**row, "occupation": code}]})
        assert answer.json()["predictions"] == expected, code
    assert client.post("/predict", json={"rows": [{**row, "signup": "2031-06-30"}]}).status_code == 200
    refused = client.post("/predict", json={"rows": [{**row, "signup": "someday"}]})
    assert field_errors(refused) == [("signup", "iso_date")]
    refused = client.post("/predict", json={"rows": [{**row, "signup": "2023-02-30"}]})
    assert field_errors(refused) == [("signup", "datetime_from_date_parsing")]
    sample = serve.sample_rows(params.data.target, rows=5)
    assert client.post("/predict", json={"rows": serve.json_records(sample)}).status_code == 200
    assert serve.smoke(params.data.target).startswith("Smoke test passed")


@pytest.mark.parametrize("date", [1700000000, 1700000000000, 1.7e9, "1700000000"])
def test_a_date_given_as_a_number_is_refused_as_training_and_score_refuse_it(dated, date):
    """Pydantic alone would read each as seconds (or milliseconds) since 1970: 2023-11-14."""
    frame, _ = dated
    row = json.loads(frame.drop(columns=["target"]).head(1).to_json(orient="records"))[0]
    response = TestClient(serve.create_app()).post("/predict", json={"rows": [{**row, "signup": date}]})
    assert field_errors(response) == [("signup", "iso_date")]
    assert response.json()["detail"][0]["msg"] == (
        "Input should be a date as ISO 8601 text: YYYY-MM-DD, optionally with a time"
    )


@pytest.fixture
def running_service(trained):
    """The service on a free loopback port, in a thread, as `serve` runs it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(serve.create_app(), host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_http_smoke_checks_the_served_model_and_its_predictions(running_service, trained):
    result = serve.smoke_http(trained.data.target, running_service, wait=5)
    assert result.startswith(f"Smoke test passed: the service at {running_service} is healthy")


def test_http_smoke_refuses_a_service_with_another_model(running_service, trained):
    paths.MODEL.write_bytes(paths.MODEL.read_bytes() + b"\0")  # the local model is no longer the served one
    with pytest.raises(UserError, match=r"serves a model with sha256 \w+, not models/model.skops: rebuild"):
        serve.smoke_http(trained.data.target, running_service, wait=5)


def test_http_smoke_names_an_unreachable_service(trained):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(UserError, match=r"/health is unreachable .* after 1 s: is the service running\?"):
        serve.smoke_http(trained.data.target, url, wait=1)


DOCS = ["/docs", "/redoc", "/openapi.json"]


def test_the_interactive_docs_are_off_by_default(client):
    assert [client.get(path).status_code for path in DOCS] == [404, 404, 404]


def test_the_owner_turns_the_interactive_docs_on(trained, monkeypatch):
    monkeypatch.setenv("SERVE_DOCS", "on")
    client = TestClient(serve.create_app())
    assert [client.get(path).status_code for path in DOCS] == [200, 200, 200]
    assert "/predict" in client.get("/openapi.json").json()["paths"]


def test_an_unclear_docs_setting_is_refused(trained, monkeypatch):
    monkeypatch.setenv("SERVE_DOCS", "yes please")
    with pytest.raises(UserError, match=r"^SERVE_DOCS is 'yes please': give on or off"):
        serve.create_app()


def test_a_feature_named_like_a_log_column_is_refused_as_the_service_and_score_start(trained, tmp_path):
    """A feature `time` made every log write fail while the service answered 200 (the log dropped the rows), and
    `date` broke the monitor: both refuse such a model before the first request or row."""
    from ml_gitops.release import score
    from ml_gitops.release.prediction_log import PredictionLog

    numeric = next(
        name
        for name in pd.read_parquet(paths.TRAIN).select_dtypes("number").columns
        if name not in (trained.data.target, *trained.data.categorical)
    )
    for path in (paths.TRAIN, paths.TEST):
        pd.read_parquet(path).rename(columns={numeric: "time"}).to_parquet(path)
    train.run(trained)
    refused = r"^feature column 'time' has the name of a prediction-log column"
    log = PredictionLog(str(tmp_path / "log"), "v1", "digest")
    with pytest.raises(UserError, match=refused):
        serve.create_app(log=log)
    log.close()
    rows = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).head(3)
    rows.to_parquet(tmp_path / "rows.parquet")
    with pytest.raises(UserError, match=refused):
        score.run(tmp_path / "rows.parquet", tmp_path / "out.parquet", log_dir=str(tmp_path / "log"))
    assert not (tmp_path / "out.parquet").exists()
