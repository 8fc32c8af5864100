"""The service's limits, against the real service (`python -m ml_gitops serve` in its own process, real sockets:
a test client would hand the app a whole body at once): an oversize body gets 413 without the service's memory
growing, a body that trickles gets 408, more requests than allowed get 503 at once, and /health answers quickly
meanwhile."""

import contextlib
import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from ml_gitops import UserError
from ml_gitops.core import paths
from ml_gitops.release import serve
from ml_gitops.release.limits import Limits

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

OVERSIZE = 23 * 1024 * 1024  # the attack's body: 23 MB
CHUNK = 64 * 1024
BODY_TIMEOUT = 1.0
MAX_REQUESTS = 3
MEMORY_GROWTH = 5 * 1024 * 1024  # "a few MB": the body the service may hold, 1 MiB, and what Python keeps


@pytest.fixture
def service(trained):
    """The service on a free port with its default body limit (1 MiB), a 1 s body timeout and 3 requests at once;
    yields (port, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SERVE_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "SERVE_MAX_REQUESTS": str(MAX_REQUESTS),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_gitops", "serve", "--port", str(port), "--log-dir", "off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if get(port, "/health")[0] == 200:
                    break
            assert process.poll() is None, "the service stopped"
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def rows(trained):
    return serve.json_records(pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]))


def get(port: int, path: str) -> tuple[int, float]:
    """GET path: (status, seconds it took)."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    status = connection.getresponse().status
    connection.close()
    return status, time.monotonic() - started


def predict(port: int, body: bytes) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class PeakMemory:
    """The highest resident memory of a process while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._done = pid, resident_bytes(pid), threading.Event()

    def __enter__(self) -> "PeakMemory":
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, resident_bytes(self.pid))

    def __exit__(self, *_) -> None:
        time.sleep(0.2)  # what the last chunks cost, if anything
        self._done.set()
        self._thread.join()


def open_request(port: int, headers: dict[str, str]) -> socket.socket:
    """A POST /predict whose headers are sent; its body is the caller's to send."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = ["POST /predict HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def stream_until_answered(sock: socket.socket, chunks, pause: float = 0.0) -> tuple[int, dict, int]:
    """Send chunks until the service answers (or stops reading); return (status, JSON body, bytes sent)."""
    sent = 0
    for chunk in chunks:
        if select.select([sock], [], [], pause)[0]:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    status, body = read_answer(sock)
    return status, body, sent


def read_answer(sock: socket.socket) -> tuple[int, dict]:
    """The first answer on the connection: (status, JSON body)."""
    sock.settimeout(30)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "the service closed the connection without an answer"
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:"))
    text = body[:length]
    as_json = any(line.lower().startswith("content-type: application/json") for line in lines)
    return int(lines[0].split()[1]), json.loads(text) if as_json else {"text": text.decode()}


def oversize_json(size: int):
    """A valid-looking JSON body of about `size` bytes, in chunks."""
    yield b'{"rows": ['
    row = json.dumps({"x": "y" * 1000}).encode() + b","
    for _ in range(size // len(row)):
        yield row * (CHUNK // len(row))


def chunked(chunks):
    """The chunks in HTTP's chunked transfer encoding (no Content-Length)."""
    for chunk in chunks:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


def test_an_oversize_body_is_refused_with_413_without_the_memory_to_hold_it(service, rows):
    port, pid = service
    assert predict(port, json.dumps({"rows": rows[:50]}).encode())[0] == 200  # warm: the model has answered
    baseline = resident_bytes(pid)
    answers = {}
    with PeakMemory(pid) as memory:
        declared = open_request(port, {"Content-Length": str(OVERSIZE)})
        answers["with Content-Length"] = stream_until_answered(declared, oversize_json(OVERSIZE))
        streamed = open_request(port, {"Transfer-Encoding": "chunked"})
        answers["chunked, without Content-Length"] = stream_until_answered(
            streamed, chunked(oversize_json(OVERSIZE))
        )
    assert memory.peak - baseline < MEMORY_GROWTH, f"grew by {(memory.peak - baseline) / 1e6:.1f} MB"
    for how, (status, body, sent) in answers.items():
        assert status == 413, how
        assert body == {"detail": "the request body is over 1048576 bytes: send fewer rows per request"}, how
        assert sent < OVERSIZE / 2, f"{how}: the service kept reading {sent} bytes"
    assert get(port, "/health")[0] == 200


def test_a_content_length_shorter_than_the_body_gets_no_more_than_it_says(service):
    """A lying Content-Length: the body is what it declares (HTTP's framing); the rest is no request, refused."""
    port, pid = service
    baseline = resident_bytes(pid)
    with PeakMemory(pid) as memory:
        sock = open_request(port, {"Content-Length": "100"})
        status, body, _ = stream_until_answered(sock, oversize_json(OVERSIZE))
    # Refused either way: httptools parses ahead and answers the bytes after the declared body (no request) with 400
    # at once; h11 reads only the declared 100 bytes and answers them, as a body that is no JSON, with 422.
    assert (status, body) in ((400, {"text": "Invalid HTTP request received."}), (422, body))
    assert memory.peak - baseline < MEMORY_GROWTH, f"grew by {(memory.peak - baseline) / 1e6:.1f} MB"


def test_a_body_that_trickles_gets_408_and_health_answers_meanwhile(service):
    port, _ = service
    sock = open_request(port, {"Content-Length": "1000"})
    started = time.monotonic()
    answer = {}
    trickle = threading.Thread(
        target=lambda: answer.update(result=stream_until_answered(sock, [b" " * 10] * 100, pause=0.1))
    )
    trickle.start()
    time.sleep(BODY_TIMEOUT / 2)
    health, seconds = get(port, "/health")
    trickle.join(timeout=30)
    status, body, sent = answer["result"]
    assert status == 408
    assert body == {"detail": f"the request body did not arrive within {BODY_TIMEOUT:g} s"}
    assert time.monotonic() - started < BODY_TIMEOUT + 1.5
    assert sent < 1000
    assert (health, seconds < 0.5) == (200, True), f"/health took {seconds:.2f} s"


def test_more_requests_than_allowed_get_503_at_once_and_health_still_answers(service, rows):
    port, _ = service
    stalled = [open_request(port, {"Content-Length": "1000"}) for _ in range(MAX_REQUESTS)]
    time.sleep(0.2)  # the service has begun reading each
    started = time.monotonic()
    status, body = predict(port, json.dumps({"rows": rows[:1]}).encode())
    refused_in = time.monotonic() - started
    health, seconds = get(port, "/health")
    assert (status, body) == (503, {"detail": "the service is busy: retry in a moment"})
    assert refused_in < 0.5, f"the refusal took {refused_in:.2f} s"
    assert (health, seconds < 0.5) == (200, True), f"/health took {seconds:.2f} s"
    assert [read_answer(sock)[0] for sock in stalled] == [408] * MAX_REQUESTS
    assert predict(port, json.dumps({"rows": rows[:1]}).encode())[0] == 200


@pytest.mark.parametrize(
    ("name", "value", "refusal"),
    [
        (
            "SERVE_MAX_BODY_BYTES",
            "1MB",
            "SERVE_MAX_BODY_BYTES is '1MB': give a positive whole number, e.g. 1048576",
        ),
        ("SERVE_MAX_REQUESTS", "0", "SERVE_MAX_REQUESTS is '0': give a positive whole number, e.g. 32"),
        ("SERVE_BODY_TIMEOUT", "nan", "SERVE_BODY_TIMEOUT is 'nan': give a positive number, e.g. 10.0"),
    ],
)
def test_a_limit_that_is_no_positive_number_is_refused_at_start(name, value, refusal):
    assert Limits.from_environment({}) == Limits(1_048_576, 32, 10.0)
    with pytest.raises(UserError) as refused:
        Limits.from_environment({name: value})
    assert str(refused.value) == refusal
