"""The HTTP service: health, predictions for valid rows, 422 naming the field for anything else."""

import json
import socket
import threading
import time
from dataclasses import replace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.module_name }} import UserError
from {{ cookiecutter.module_name }}.core import paths
from {{ cookiecutter.module_name }}.pipeline import data, prepare, train
from {{ cookiecutter.module_name }}.release import serve


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
