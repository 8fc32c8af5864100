"""The service under a bounded load on loopback: /predict against /health on the same server (its floor)."""

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.loadtest import bounded_load

from .common import Figure, in_project, project_env, ratio_target, scripts

REQUESTS, THREADS = 2000, 4
SEQUENTIAL = 500
SAMPLE_ROWS = (
    "import pandas as pd\n"
    "rows = pd.read_parquet('data/prepared/test.parquet').drop(columns=['target']).head(1)\n"
    "print(rows.to_json(orient='records', double_precision=15))\n"
)


def serving(trained: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    rows = json.loads(in_project(trained, "python", "-c", SAMPLE_ROWS).output)
    port = free_port()
    command = ["python", "-m", "churn_model", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=trained, env=project_env(trained), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health")
        health = bounded_load(port, "/health", None, REQUESTS, THREADS)
        predict = bounded_load(port, "/predict", {"rows": rows}, REQUESTS, THREADS)
        one_by_one = bounded_load(port, "/predict", {"rows": rows}, SEQUENTIAL, 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    in_process = float(
        in_project(trained, "python", str(scripts() / "predict_one.py"), str(SEQUENTIAL)).output
    )
    figures = [
        ratio_target(
            f"`/predict` of one row, p50 of {SEQUENTIAL} requests one after another",
            one_by_one.p50_ms,
            "the pipeline's own prediction of that row in process",
            in_process,
            2.0,
            unit="ms",
        ),
        Figure(
            f"`/predict` p50 latency, {REQUESTS:,} requests from {THREADS} threads, no errors",
            predict.p50_ms,
            "`/health` on the same server",
            health.p50_ms,
            "(reported)",
            predict.errors == 0,
            "ms",
        ),
    ]
    details = ["| endpoint | requests | errors | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    details += [
        f"| {name} | {result.requests} | {result.errors} | {result.per_second:.0f} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} |"
        for name, result in (
            ("GET /health", health),
            ("POST /predict (one row)", predict),
            ("POST /predict (one row), one request at a time", one_by_one),
        )
    ]
    return figures, ("Serving on loopback", details)


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
