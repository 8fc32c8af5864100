"""`serve --workers N`: several service processes on one port, each with its own prediction log files (names that
never collide, every row once); the settings checked before any process starts; the model scored on one thread.
Against the real command (`python -m ml_gitops serve` in its own process, real sockets)."""

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
from pathlib import Path

import pandas as pd
import pytest

from ml_gitops.core import paths

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

REQUESTS = 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(**settings: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **settings}


def serve(*options: str, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ml_gitops", "serve", *options],
        capture_output=True,
        text=True,
        env=environment(**settings),
        timeout=120,
    )


def request(
    port: int, method: str, path: str, body: dict | None = None, request_id: str = ""
) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"} | ({"X-Request-ID": request_id} if request_id else {})
    connection.request(method, path, None if body is None else json.dumps(body), headers)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def test_two_processes_answer_and_each_writes_its_own_log_files(trained, tmp_path):
    """Two processes answer on one port; every row is logged once, in files named after the process that wrote
    them. (Which process accepts a connection is the kernel's choice: the test cannot make both answer.)"""
    port = free_port()
    log_dir = tmp_path / "log"
    command = ["serve", "--port", str(port), "--workers", "2", "--log-dir", str(log_dir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_gitops", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment(),
    )
    rows = json.loads(
        pd.read_parquet(paths.TEST)
        .drop(columns=[trained.data.target])
        .head(REQUESTS)
        .to_json(orient="records")
    )
    try:
        assert "in 2 processes" in process.stdout.readline()
        workers = wait_for_workers(process.pid, 2)
        wait_for_health(port, process)
        answers = all_at_once(port, [{"rows": [row]} for row in rows], [f"w-{i}" for i in range(REQUESTS)])
        assert [status for status, _ in answers] == [200] * REQUESTS
        assert [answer["request_ids"] for _, answer in answers] == [[f"w-{i}"] for i in range(REQUESTS)]
    finally:
        process.send_signal(signal.SIGTERM)  # each process writes the predictions it still holds
        process.wait(timeout=60)
    files = sorted(log_dir.rglob("*.parquet"))
    logged = pd.concat([pd.read_parquet(path) for path in files])
    assert sorted(logged["request_id"]) == sorted(f"w-{i}" for i in range(REQUESTS))
    writers = {path.name.split("-")[1] for path in files}  # <time>-<pid>-<random>.parquet
    assert writers <= {str(pid) for pid in workers}, files


def wait_for_workers(parent: int, count: int, seconds: float = 90) -> list[int]:
    """The service's worker processes (children of uvicorn's supervisor), once `count` of them run."""
    deadline = time.monotonic() + seconds
    children = Path(f"/proc/{parent}/task/{parent}/children")
    while True:
        workers = [
            int(pid)
            for pid in children.read_text().split()
            if b"spawn_main"
            in Path(f"/proc/{pid}/cmdline").read_bytes()  # not multiprocessing's resource tracker
        ]
        if len(workers) == count:
            return workers
        assert time.monotonic() < deadline, f"{len(workers)} worker processes after {seconds} s"
        time.sleep(0.2)


def wait_for_health(port: int, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if request(port, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        assert process.poll() is None, "the service stopped"
        assert time.monotonic() < deadline, "the service did not answer"
        time.sleep(0.2)


def all_at_once(port: int, bodies: list[dict], ids: list[str]) -> list[tuple[int, dict]]:
    start = threading.Barrier(len(bodies))

    def send(body: dict, request_id: str) -> tuple[int, dict]:
        start.wait()
        return request(port, "POST", "/predict", body, request_id)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies, ids))


@pytest.mark.parametrize(("value", "shown"), [("0", "'0'"), ("many", "'many'"), ("-2", "'-2'")])
def test_a_bad_number_of_workers_is_refused_with_one_line(trained, value, shown):
    result = serve("--workers", value)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith(
        f"argument --workers: {shown}: give a positive whole number of processes, or auto"
    )
    assert "Traceback" not in result.stderr


def test_a_bad_batching_setting_stops_the_service_before_it_starts(trained):
    result = serve("--workers", "2", "--port", str(free_port()), SERVE_BATCH_ROWS="lots")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: SERVE_BATCH_ROWS is 'lots': give a positive whole number, e.g. 256"
    )


SCORING_THREADS = """
import asyncio, json
from threadpoolctl import threadpool_info
from ml_gitops.release.batching import Batcher, BatchSettings

def threads(items):
    return [[pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"] for _ in items]

async def main():
    batcher = Batcher(threads, lambda item: 1, BatchSettings())
    alone = await batcher.answer("row")  # scored on the event loop's thread
    together = await asyncio.gather(batcher.answer("a"), batcher.answer("b"))  # on the model's thread
    print(json.dumps([*alone, *together[0], *together[1]]))
    batcher.close()

asyncio.run(main())
"""


def test_the_model_scores_on_one_thread_whatever_openmp_would_use():
    """In a process where OpenMP would use every core (no OMP_NUM_THREADS), the batcher's thread uses one."""
    import sklearn.ensemble  # noqa: F401  (loads OpenMP here too, to read its default)

    settings = {key: value for key, value in environment().items() if key != "OMP_NUM_THREADS"}
    probe = "import sklearn.ensemble; from threadpoolctl import threadpool_info; " + (
        "print(max(p['num_threads'] for p in threadpool_info() if p['user_api'] == 'openmp'))"
    )
    default = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=settings, check=True
    )
    if int(default.stdout) < 2:
        pytest.skip("one core here: one thread is OpenMP's default too")
    script = "import sklearn.ensemble\n" + SCORING_THREADS
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=settings, check=True
    )
    assert set(json.loads(result.stdout)) == {1}
