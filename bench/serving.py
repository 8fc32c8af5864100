"""The service under a bounded load on loopback: with its prediction log and without, and one row against the\npipeline's own prediction in process."""

import json
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.loadtest import bounded_load

from .common import Figure, in_project, project_env, ratio_target, scripts

REQUESTS, THREADS = 2000, 4
SEQUENTIAL = 500
ROUNDS = 4  # the load alternates between the two services in this many rounds, so both see the same machine
SAMPLE_ROWS = (
    "import pandas as pd\n"
    "rows = pd.read_parquet('data/prepared/test.parquet').drop(columns=['target']).head(1)\n"
    "print(rows.to_json(orient='records', double_precision=15))\n"
)


def serving(trained: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    """The shipped service (prediction log on) against the same service without its log, and against the
    pipeline's own prediction in process; every pair measured in alternation."""
    rows = json.loads(in_project(trained, "python", "-c", SAMPLE_ROWS).output)
    logged, unlogged = free_port(), free_port()
    servers = [start(trained, logged), start(trained, unlogged, "--log-dir", "off")]
    try:
        for port in (logged, unlogged):
            wait_for(f"http://127.0.0.1:{port}/health")
        health = bounded_load(logged, "/health", None, REQUESTS, THREADS)
        loads = {logged: [], unlogged: []}
        for _ in range(ROUNDS):
            for port in loads:
                loads[port].append(
                    bounded_load(port, "/predict", {"rows": rows}, REQUESTS // ROUNDS, THREADS)
                )
        medians = json.loads(
            in_project(
                trained,
                "python",
                str(scripts() / "predict_one.py"),
                str(SEQUENTIAL),
                str(logged),
                str(unlogged),
            ).output
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    one_row, without_log, in_process = medians[str(logged)], medians[str(unlogged)], medians["in_process"]
    with_log_seconds = sum(result.seconds for result in loads[logged])
    without_log_seconds = sum(result.seconds for result in loads[unlogged])
    figures = [
        ratio_target(
            f"`/predict` of one row, p50 of {SEQUENTIAL} requests one after another (prediction log on)",
            one_row,
            "the pipeline's own prediction of that row in process, in alternation",
            in_process,
            2.0,
            unit="ms",
        ),
        ratio_target(
            "`/predict` of one row, p50, prediction log on",
            one_row,
            "the same service with the log off, in alternation",
            without_log,
            1.1,
            unit="ms",
        ),
        ratio_target(
            f"{REQUESTS:,} `/predict` requests from {THREADS} threads, prediction log on",
            with_log_seconds,
            "the same service with the log off, in alternating rounds",
            without_log_seconds,
            1.1,
        ),
    ]
    details = ["| endpoint | requests | errors | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    details.append(_row("GET /health", health))
    for name, port in (("log on", logged), ("log off", unlogged)):
        results = loads[port]
        requests, errors = sum(r.requests for r in results), sum(r.errors for r in results)
        seconds = sum(r.seconds for r in results)
        p50 = statistics.median(r.p50_ms for r in results)
        p99 = max(r.p99_ms for r in results)
        details.append(
            f"| POST /predict (one row), {name} | {requests} | {errors} | {requests / seconds:.0f} | {p50:.1f} | "
            f"{p99:.1f} |"
        )
    details.append(
        f"| POST /predict (one row), one at a time: log on / log off / in process | {SEQUENTIAL} each | 0 | | "
        f"{one_row:.1f} / {without_log:.1f} / {in_process:.1f} | |"
    )
    return figures, ("Serving on loopback", details)


def _row(name: str, result) -> str:
    return (
        f"| {name} | {result.requests} | {result.errors} | {result.per_second:.0f} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} |"
    )


def start(trained: Path, port: int, *options: str) -> subprocess.Popen:
    command = ["python", "-m", "churn_model", "serve", "--port", str(port), *options]
    return subprocess.Popen(
        command, cwd=trained, env=project_env(trained), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
