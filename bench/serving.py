"""The service on loopback: 4,000 one-row requests from 32 concurrent clients, batched (the shipped defaults)
against the same service scoring each request alone; one row at a time against the pipeline's own prediction in
process; and the prediction log's cost, in both. Every pair is measured in alternation in the same run."""

import json
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.loadtest import bounded_load, concurrent_load

from .common import Figure, in_project, project_env, ratio_target, scripts

REQUESTS, CLIENTS = 4000, 32
HEALTH_REQUESTS, HEALTH_THREADS = 2000, 4
SEQUENTIAL = 500
ROUNDS = 4  # the load alternates between the services in this many rounds, so all see the same machine
P99_MS = 100
SAMPLE_ROWS = (
    "import pandas as pd\n"
    "rows = pd.read_parquet('data/prepared/test.parquet').drop(columns=['target']).head(1)\n"
    "print(rows.to_json(orient='records', double_precision=15))\n"
)
UNBATCHED = "the same service with SERVE_BATCH_ROWS=1 (each request scored alone: the service before batching), one process"
CLIENT = "an asyncio client over raw keep-alive sockets, in its own process"


def serving(trained: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    """The shipped service (batching on, prediction log on, one process) against itself with batching off and
    with its log off, under 32 concurrent clients and one request at a time."""
    rows = json.loads(in_project(trained, "python", "-c", SAMPLE_ROWS).output)
    ports = {"batched": free_port(), "unbatched": free_port(), "log off": free_port()}
    servers = [
        start(trained, ports["batched"]),
        start(trained, ports["unbatched"], environment={"SERVE_BATCH_ROWS": "1"}),
        start(trained, ports["log off"], "--log-dir", "off"),
    ]
    try:
        for port in ports.values():
            wait_for(f"http://127.0.0.1:{port}/health")
        health = bounded_load(ports["batched"], "/health", None, HEALTH_REQUESTS, HEALTH_THREADS)
        loads = {name: [] for name in ports}
        for _ in range(ROUNDS):
            for name, port in ports.items():
                loads[name].append(
                    concurrent_load(port, "/predict", {"rows": rows}, REQUESTS // ROUNDS, CLIENTS)
                )
        medians = json.loads(
            in_project(
                trained,
                "python",
                str(scripts() / "predict_one.py"),
                str(SEQUENTIAL),
                str(ports["batched"]),
                str(ports["log off"]),
            ).output
        )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    one_row, without_log = medians[str(ports["batched"])], medians[str(ports["log off"])]
    seconds = {name: sum(result.seconds for result in results) for name, results in loads.items()}
    batched = loads["batched"]
    p99 = percentile([latency for result in batched for latency in result.latencies_ms], 99)
    errors = sum(result.errors for result in batched)
    figures = [
        ratio_target(
            f"{REQUESTS:,} one-row `/predict` requests from {CLIENTS} concurrent clients ({CLIENT}), batching on "
            "(defaults), prediction log on: at least 10x the throughput",
            seconds["batched"],
            f"{UNBATCHED}, log on, in alternating rounds",
            seconds["unbatched"],
            0.1,
        ),
        Figure(
            f"p99 latency of those {REQUESTS:,} requests, batching on ({errors} errors)",
            p99,
            "",
            None,
            f"<= {P99_MS} ms, no error",
            p99 <= P99_MS and errors == 0,
            unit="ms",
        ),
        ratio_target(
            f"`/predict` of one row, p50 of {SEQUENTIAL} requests one after another (batching on, prediction log on)",
            one_row,
            "the pipeline's own prediction of that row in process, on one thread as the service scores, in "
            "alternation",
            medians["in_process"],
            1.5,
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
            f"{REQUESTS:,} `/predict` requests from {CLIENTS} concurrent clients, prediction log on",
            seconds["batched"],
            "the same service with the log off, in alternating rounds",
            seconds["log off"],
            1.1,
        ),
    ]
    details = ["| endpoint | requests | errors | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    details.append(_row(f"GET /health ({HEALTH_THREADS} threads)", health))
    names = {
        "batched": "batching on, log on",
        "unbatched": "SERVE_BATCH_ROWS=1, log on",
        "log off": "batching on, log off",
    }
    for name, results in loads.items():
        latencies = [latency for result in results for latency in result.latencies_ms]
        requests = sum(result.requests for result in results)
        details.append(
            f"| POST /predict (one row, {CLIENTS} clients), {names[name]} | {requests} | "
            f"{sum(r.errors for r in results)} | {requests / seconds[name]:.0f} | {percentile(latencies, 50):.1f} | "
            f"{percentile(latencies, 99):.1f} |"
        )
    details.append(
        f"| POST /predict (one row), one at a time: log on / log off / in process | {SEQUENTIAL} each | 0 | | "
        f"{one_row:.1f} / {without_log:.1f} / {medians['in_process']:.1f} | |"
    )
    return figures, ("Serving on loopback", details)


def percentile(values: list[float], which: int) -> float:
    return statistics.quantiles(values, n=100)[which - 1] if len(values) > 1 else float("nan")


def _row(name: str, result) -> str:
    return (
        f"| {name} | {result.requests} | {result.errors} | {result.per_second:.0f} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} |"
    )


def start(
    trained: Path, port: int, *options: str, environment: dict[str, str] | None = None
) -> subprocess.Popen:
    command = ["python", "-m", "churn_model", "serve", "--port", str(port), *options]
    return subprocess.Popen(
        command,
        cwd=trained,
        env=project_env(trained) | (environment or {}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
