"""Adaptive micro-batching against the real service (uvicorn on a loopback port, the fixture project's trained
model): concurrent requests are scored in fewer model calls than requests, each caller gets exactly its own rows'
answers and ids, a bad request or a request whose rows make the model fail leaves its neighbours' answers alone,
and the prediction log holds every row once. The model is the real one, wrapped to count its calls (and, where a
test says so, to be slow or to fail on one marked row)."""

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from fixture_model.pipeline.train import MODEL_TYPES

from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.release import serve
from ml_gitops.release.batching import BatchSettings
from ml_gitops.release.prediction_log import PredictionLog

CLIENTS = 24
POISON = -987654.25  # a row whose first feature holds this makes the wrapped model raise ValueError
REFUSED = {  # the 422 of a request whose rows the model refuses with ValueError
    "loc": ["body", "rows"],
    "type": "model_refused",
    "msg": "The model cannot score these rows: it refused a value in them (ValueError)",
}


class Counted:
    """The real model, counting its calls and the rows of each; `delay` seconds per call; a row marked POISON
    makes the call raise."""

    def __init__(self, model, delay: float = 0.0) -> None:
        self.model, self.delay, self.calls, self.failed = model, delay, [], []

    def __getattr__(self, name):
        attribute = getattr(self.model, name)
        return self._counted(attribute) if name in ("predict", "predict_proba") else attribute

    def _counted(self, method):
        def call(frame: pd.DataFrame):
            self.calls.append(len(frame))
            time.sleep(self.delay)
            if (frame.iloc[:, 0] == POISON).any():
                self.failed.append(len(frame))
                raise ValueError("the model cannot score this row")
            return method(frame)

        return call


@pytest.fixture
def rows(trained):
    features = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).head(CLIENTS)
    return json.loads(features.to_json(orient="records", double_precision=15))


@pytest.fixture
def model(trained):
    return files.load_model(paths.MODEL, MODEL_TYPES)


@pytest.fixture
def service(trained, monkeypatch):
    """start(delay=..., log=..., batching=...) -> (port, the counted model): the service on a free loopback port,
    in a thread, as `serve` runs it; stopped (its log written) when the test ends."""
    import uvicorn

    servers = []

    def start(delay: float = 0.0, log: PredictionLog | None = None, batching: BatchSettings | None = None):
        real = files.load_model
        counted = []
        monkeypatch.setattr(
            files, "load_model", lambda *a, **k: counted.append(Counted(real(*a, **k), delay)) or counted[-1]
        )
        app = serve.create_app(log=log, batching=batching)
        monkeypatch.setattr(files, "load_model", real)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        servers.append((server, thread))
        return server.servers[0].sockets[0].getsockname()[1], counted[0]

    yield start
    for server, thread in servers:
        stop(server, thread)


def stop(server, thread) -> None:
    server.should_exit = True
    thread.join(timeout=30)


def post(port: int, body, request_id: str | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} | ({"X-Request-ID": request_id} if request_id else {})
    connection.request("POST", "/predict", json.dumps(body), headers)
    response = connection.getresponse()
    status, content = response.status, response.read()
    connection.close()
    return status, json.loads(content) if status != 500 else {"error": content.decode()}


def all_at_once(port: int, bodies: list, ids: list[str | None]) -> list[tuple[int, dict]]:
    """Every request sent at the same moment, each from its own thread and connection."""
    start = threading.Barrier(len(bodies))

    def send(body, request_id):
        start.wait()
        return post(port, body, request_id)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies, ids))


def alone(model, row: dict) -> dict:
    """What the model answers for this row scored alone, in process, as /predict reports it."""
    frame = serve.frame_of([row], serve.feature_schema(model))
    return serve.response_bodies(serve.answer_of(model, frame), [["id"]])[0]


def assert_own_answer(model, row: dict, answer: dict) -> None:
    expected = alone(model, row)
    assert answer["predictions"] == pytest.approx(expected["predictions"], rel=1e-9)
    if "probabilities" in expected:
        assert answer["probabilities"] == [pytest.approx(p, rel=1e-9) for p in expected["probabilities"]]


def test_concurrent_requests_are_scored_together_and_each_gets_its_own_answer(service, rows, model):
    port, counted = service(delay=0.2)  # a slow model: the other requests arrive while it scores the first
    ids = [f"client-{i}" for i in range(CLIENTS)]
    answers = all_at_once(port, [{"rows": [row]} for row in rows], ids)
    for row, request_id, (status, answer) in zip(rows, ids, answers, strict=True):
        assert status == 200
        assert answer["request_ids"] == [request_id]
        assert_own_answer(model, row, answer)
    assert sum(counted.calls) == CLIENTS
    assert len(counted.calls) <= CLIENTS // 4, counted.calls
    health = json.loads(http_get(port, "/health"))
    assert health["batching"] == {"calls": len(counted.calls), "requests": CLIENTS, "rows": CLIENTS}


def test_requests_of_several_rows_keep_their_rows_in_order(service, rows, model):
    port, counted = service(delay=0.2)
    groups = [rows[i : i + 3] for i in range(0, 18, 3)]
    answers = all_at_once(port, [{"rows": group} for group in groups], [f"r{i}" for i in range(len(groups))])
    for i, (group, (status, answer)) in enumerate(zip(groups, answers, strict=True)):
        assert status == 200
        assert answer["request_ids"] == [f"r{i}-{row}" for row in range(3)]
        for row, prediction, probability in zip(
            group, answer["predictions"], answer.get("probabilities", [None] * 3), strict=True
        ):
            assert_own_answer(
                model,
                row,
                {"predictions": [prediction]} | ({"probabilities": [probability]} if probability else {}),
            )
    assert len(counted.calls) < len(groups)


def test_a_batch_holds_at_most_the_configured_rows(service, rows):
    port, counted = service(delay=0.2, batching=BatchSettings(max_rows=4))
    answers = all_at_once(port, [{"rows": [row]} for row in rows], [None] * CLIENTS)
    assert [status for status, _ in answers] == [200] * CLIENTS
    assert max(counted.calls) <= 4
    assert len(counted.calls) >= CLIENTS // 4


def test_a_bad_request_among_good_ones_gets_its_422_and_the_others_their_answers(service, rows, model):
    port, counted = service(delay=0.2)
    first = next(iter(rows[0]))
    bad = {"rows": [{**rows[0], first: "big"}]}
    bodies = [{"rows": [row]} for row in rows[:10]] + [bad]
    answers = all_at_once(port, bodies, [f"c{i}" for i in range(len(bodies))])
    assert answers[-1][0] == 422
    assert [(error["loc"][-1], error["type"]) for error in answers[-1][1]["detail"]] == [
        (first, "float_parsing")
    ]
    for row, (status, answer) in zip(rows[:10], answers[:-1], strict=True):
        assert status == 200
        assert_own_answer(model, row, answer)
    assert sum(counted.calls) == 10


def test_a_request_whose_rows_make_the_model_fail_does_not_fail_its_neighbours(service, rows, model):
    port, counted = service(delay=0.2)
    first = next(iter(rows[0]))
    poisoned = {"rows": [{**rows[0], first: POISON}]}
    bodies = [poisoned] + [{"rows": [row]} for row in rows[1:12]]
    answers = all_at_once(port, bodies, [f"c{i}" for i in range(len(bodies))])
    assert answers[0] == (422, {"detail": [REFUSED]})  # the model's ValueError: the caller's rows, not a 500
    for row, (status, answer) in zip(rows[1:12], answers[1:], strict=True):
        assert status == 200
        assert_own_answer(model, row, answer)
    assert any(size > 1 for size in counted.failed), counted.failed  # it was scored with others, then alone
    assert counted.failed[-1] == 1


def test_a_number_beyond_any_feature_is_refused_before_the_model_and_its_neighbours_scored_once(
    service, rows
):
    """1e308 overflows a scaler, and the model's error would have each request of its batch scored again alone."""
    port, counted = service(delay=0.2)
    first = next(iter(rows[0]))
    bodies = [{"rows": [row]} for row in rows[:10]] + [{"rows": [{**rows[10], first: 1e308}]}]
    answers = all_at_once(port, bodies, [None] * len(bodies))
    assert [status for status, _ in answers] == [200] * 10 + [422]
    assert answers[-1][1]["detail"][0]["type"] == "less_than_equal"
    assert (counted.failed, sum(counted.calls)) == ([], 10)


def test_the_log_holds_every_row_once_with_its_ids(service, rows, tmp_path):
    log = PredictionLog(str(tmp_path / "log"), "v1", files.sha256(paths.MODEL), flush_seconds=600)
    port, _ = service(delay=0.1, log=log)
    first = next(iter(rows[0]))
    bodies = [{"rows": [row]} for row in rows[:12]] + [{"rows": rows[12:15]}, {"rows": rows[15:17]}]
    ids = [f"one-{i}" for i in range(12)] + ["three", None]
    poisoned = {"rows": [{**rows[17], first: POISON}]}  # its request fails: none of its rows is logged
    answers = all_at_once(port, [*bodies, poisoned], [*ids, "poisoned"])
    assert [status for status, _ in answers] == [200] * len(bodies) + [422]
    log.close()
    expected = {
        request_id: (row[first], prediction)
        for body, (_, answer) in zip(bodies, answers, strict=False)
        for request_id, row, prediction in zip(
            answer["request_ids"], body["rows"], answer["predictions"], strict=True
        )
    }
    logged = pd.read_parquet(tmp_path / "log")
    assert sorted(logged["request_id"]) == sorted(expected)  # every row once, under the id its caller got
    for request_id, value, prediction in logged[["request_id", first, "prediction"]].itertuples(index=False):
        assert (value, prediction) == pytest.approx(expected[request_id]), request_id


def http_get(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    body = connection.getresponse().read()
    connection.close()
    return body


def test_a_lone_request_does_not_wait_for_the_window(service, rows):
    """A window of 30 s: a lone request must not wait for it, since nothing else is arriving."""
    port, counted = service(batching=BatchSettings(wait_seconds=30.0))
    started = time.monotonic()
    for row in rows[:3]:
        assert post(port, {"rows": [row]})[0] == 200
    assert time.monotonic() - started < 15
    assert counted.calls == [1, 1, 1]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SERVE_BATCH_ROWS", "0", r"^SERVE_BATCH_ROWS is '0': give a positive whole number, e\.g\. 256$"),
        ("SERVE_BATCH_ROWS", "many", r"^SERVE_BATCH_ROWS is 'many': give a positive whole number"),
        ("SERVE_BATCH_ROWS", "2.5", r"^SERVE_BATCH_ROWS is '2.5': give a positive whole number"),
        ("SERVE_BATCH_WAIT_MS", "-1", r"^SERVE_BATCH_WAIT_MS is '-1': give a positive number, e\.g\. 10\.0$"),
        ("SERVE_BATCH_WAIT_MS", "soon", r"^SERVE_BATCH_WAIT_MS is 'soon': give a positive number"),
    ],
)
def test_a_bad_batching_setting_is_refused_with_one_line(trained, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(UserError, match=message):
        serve.create_app()


def test_batching_settings_default_and_are_read():
    assert BatchSettings.from_environment({}) == BatchSettings(256, 0.010)
    assert BatchSettings.from_environment(
        {"SERVE_BATCH_ROWS": "1", "SERVE_BATCH_WAIT_MS": "0.5"}
    ) == BatchSettings(1, 0.0005)


def test_a_batch_answer_is_split_into_each_request_s_rows_in_order(model, rows):
    """The split of a batch's answer gives each request the rows it sent, in order (no service: the function)."""
    features = serve.feature_schema(model)
    frame = serve.frame_of(rows[:5], features)
    answer = serve.answer_of(model, frame)
    bodies = serve.response_bodies(answer, [["a"], ["b-0", "b-1", "b-2"], ["c"]])
    assert [body["request_ids"] for body in bodies] == [["a"], ["b-0", "b-1", "b-2"], ["c"]]
    assert [p for body in bodies for p in body["predictions"]] == answer["prediction"].tolist()
    if "probabilities" in bodies[0]:
        expected = answer.drop(columns="prediction").to_numpy().tolist()
        assert [list(p.values()) for body in bodies for p in body["probabilities"]] == expected
    assert np.isfinite(answer.drop(columns="prediction").to_numpy(dtype=float)).all()


def test_the_startup_state_is_frozen_out_of_the_collector_at_the_first_request_and_thawed_at_close():
    """A full collection under traffic scans only what requests made, not the model and every module (the p99)."""
    import asyncio
    import gc

    from ml_gitops.release.batching import Batcher

    batcher = Batcher(lambda items: [item * 2 for item in items], lambda _: 1, BatchSettings())
    gc.unfreeze()
    assert asyncio.run(batcher.answer(21)) == 42
    frozen = gc.get_freeze_count()
    batcher.close()
    assert frozen > 1000, "the objects alive at the first request are frozen"
    assert gc.get_freeze_count() == 0
