"""The prediction log: complete under load, bounded loss when killed, never in the way of a request."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Literal

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from fastapi.testclient import TestClient

from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.release import prediction_log, serve
from ml_gitops.release.prediction_log import Columns, PredictionLog


@pytest.fixture
def rows(trained):
    return serve.json_records(pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]))


def logged(directory) -> pd.DataFrame:
    return pd.read_parquet(directory) if any(directory.rglob("*.parquet")) else pd.DataFrame()


def post(port: int, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST", "/predict", json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return response.status, answer


def health(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/health")
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def test_every_answered_prediction_is_logged_with_its_id_model_features_and_answer(trained, rows, tmp_path):
    import uvicorn

    log = PredictionLog(
        str(tmp_path / "log"), "v1.0.0", files.sha256(paths.MODEL), batch_rows=25, flush_seconds=0.5
    )
    server = uvicorn.Server(
        uvicorn.Config(serve.create_app(log=log), host="127.0.0.1", port=0, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    requests = [{"rows": [row]} for row in rows] * 2  # a bounded load: every test row twice, from 4 threads
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda body: post(port, body), requests))
    server.should_exit = True
    thread.join(timeout=30)  # the service's shutdown writes what is still in memory

    answered = [answer for status, answer in answers if status == 200]
    assert len(answered) == len(requests)
    log_rows = logged(tmp_path / "log")
    assert len(log_rows) == len(answered)
    assert sorted(log_rows["request_id"]) == sorted(answer["request_ids"][0] for answer in answered)
    assert set(log_rows["model_version"]) == {"v1.0.0"}
    assert set(log_rows["model_sha256"]) == {files.sha256(paths.MODEL)}
    by_id = log_rows.set_index("request_id")
    for answer in answered[:20]:
        assert by_id.loc[answer["request_ids"][0], "prediction"] == answer["predictions"][0]
    features = pd.DataFrame(rows).columns
    assert list(log_rows.columns[4 : 4 + len(features)]) == list(features)


def test_the_callers_request_id_names_its_predictions(trained, rows, tmp_path):
    log = PredictionLog(str(tmp_path / "log"), "v1", "digest", batch_rows=1000)
    with TestClient(serve.create_app(log=log)) as client:
        answer = client.post("/predict", json={"rows": rows[:2]}, headers={"X-Request-ID": "order-17"}).json()
        refused = client.post("/predict", json={"rows": rows[:1]}, headers={"X-Request-ID": "../etc"})
    assert answer["request_ids"] == ["order-17-0", "order-17-1"]
    assert refused.status_code == 422
    assert sorted(logged(tmp_path / "log")["request_id"]) == ["order-17-0", "order-17-1"]


def test_an_unwritable_sink_keeps_serving_and_says_so_on_health(trained, rows, tmp_path, caplog):
    """/health gives the failure's category and counts, never its text (a path, a bucket, an account): that goes
    to the service's own log."""
    blocker = tmp_path / "secret-bucket-name"
    blocker.write_text("a file where the log's directory should be")
    log = PredictionLog(str(blocker / "log"), "v1", "digest", batch_rows=2, flush_seconds=0.2)
    with TestClient(serve.create_app(log=log)) as client:
        statuses = [client.post("/predict", json={"rows": [row]}).status_code for row in rows[:6]]
        deadline = time.monotonic() + 10
        while log.status.dropped < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        health = client.get("/health")
    assert statuses == [200] * 6
    assert health.json()["status"] == "ok"
    logged_state = health.json()["prediction_log"]
    failed = logged_state.pop("failed_writes")
    assert logged_state == {"written": 0, "dropped": 6, "files": 0, "error": "bad path"}
    assert 3 <= failed <= 6  # batches of 2 rows, or fewer when flush_seconds passes first
    assert "secret-bucket-name" not in health.text
    details = [record.getMessage() for record in caplog.records if record.name.endswith("prediction_log")]
    assert len(details) == failed
    assert all(str(blocker / "log") in line and "Error" in line for line in details), details


def test_excluded_columns_are_not_written_and_hashed_ones_are_not_readable(trained, rows, tmp_path):
    first, second = list(rows[0])[:2]
    columns = Columns(exclude=(first,), hashed=(second,), key=b"k" * 32)
    log = PredictionLog(str(tmp_path / "log"), "v1", "digest", columns=columns)
    with TestClient(serve.create_app(log=log)) as client:
        client.post("/predict", json={"rows": rows[:3]})
    log_rows = logged(tmp_path / "log")
    assert first not in log_rows.columns
    assert log_rows[second].str.fullmatch(r"[0-9a-f]{32}").all()
    assert str(rows[0][second]) not in set(log_rows[second])


@pytest.mark.any_task
def test_a_killed_service_loses_at_most_one_batch(trained, rows, tmp_path):
    """`serve` in its own process, killed with SIGKILL mid-traffic: what it answered is logged, less at most the
    batch in memory (monitoring.batch_rows)."""
    settings = yaml.safe_load(paths.PARAMS.read_text())
    settings["monitoring"] |= {"batch_rows": 10, "flush_seconds": 3600}
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_dir = tmp_path / "log"
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ml_gitops",
            "serve",
            "--port",
            str(port),
            "--log-dir",
            str(log_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = post(port, {"rows": rows[:1]})
                break
            except OSError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        answered = 1 + sum(post(port, {"rows": [row]})[0] == 200 for row in rows[:56])
        while health(port)["prediction_log"]["written"] < 50 and time.monotonic() < deadline:
            time.sleep(0.05)  # the five whole batches have reached the sink; seven rows wait in memory
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait(timeout=30)
    assert answered == 57
    assert len(logged(log_dir)) == 50  # lost: the 7 rows in memory, fewer than monitoring.batch_rows


# a request schema as serve.feature_schema gives it: a number, a category, a date
SCHEMA = {"x1": float, "color": Literal["red", "blue"], "signup": datetime}
ANSWER = pd.DataFrame({"prediction": [1], "proba_0": [0.2], "proba_1": [0.8]})


@pytest.mark.any_task
def test_a_feature_missing_in_every_row_of_a_batch_is_written_with_its_type(tmp_path):
    """Such a column was written as Arrow's null type, into which no later file's values cast: the monitor failed
    with an Arrow traceback, and so does reading the log as one table."""
    columns = Columns().for_features(SCHEMA)
    log = PredictionLog(str(tmp_path), "v1", "digest", columns=Columns(hashed=("color",), key=b"k" * 32))
    assert log.for_features(SCHEMA).columns.kinds == {"x1": "number", "color": "text", "signup": "date"}
    log.close()
    written = []
    for day, color, signup in [("2026-03-02", None, None), ("2026-03-03", "red", datetime(2024, 1, 1))]:
        features = pd.DataFrame({"x1": [0.3], "color": [color], "signup": [signup]})
        written.append(
            prediction_log.write_predictions(
                str(tmp_path), features, ANSWER, [day], ("v1", "digest"), columns, pd.Timestamp(day, tz="UTC")
            )
        )
    empty, full = (pq.read_schema(path) for path in written)
    assert [empty.field(name).type for name in SCHEMA] == [full.field(name).type for name in SCHEMA]
    assert pq.read_table(tmp_path)["color"].to_pylist() == [None, "red"]


@pytest.mark.any_task
@pytest.mark.parametrize("name", ["time", "prediction", "request_id", "proba_1", "arm", "date"])
def test_a_feature_named_like_a_log_column_is_refused_in_one_line(name, tmp_path):
    """Its rows could not be written (the service still answered 200, the log dropped them) or read back (date
    is the name of the log's folders, proba_1 an answer's)."""
    refused = (
        rf"feature column '{name}' has the name of a prediction-log column \(.*\): rename it in the data"
    )
    schema = {"x1": float, name: float}
    with pytest.raises(UserError, match=refused):
        prediction_log.refuse_log_column_names(schema)
    log = PredictionLog(str(tmp_path), "v1", "digest")
    with pytest.raises(UserError, match=refused):
        log.for_features(schema)
    log.close()
    features = pd.DataFrame({"x1": [0.3], name: [0.1]})
    with pytest.raises(UserError, match=refused):
        prediction_log.write_predictions(str(tmp_path), features, ANSWER, ["r1"], ("v1", "digest"), Columns())
    assert not list(tmp_path.rglob("*.parquet"))
    Columns(exclude=(name,)).for_features(schema)  # left out of the log: no clash


@pytest.mark.any_task
def test_several_features_named_like_log_columns_are_named_together():
    with pytest.raises(
        UserError, match=r"^feature columns 'time', 'date' have the names of prediction-log columns"
    ):
        prediction_log.refuse_log_column_names(["time", "x1", "date"])
