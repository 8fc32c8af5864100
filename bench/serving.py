"""The service on loopback: 4,000 one-row requests from 32 concurrent clients, batched (the shipped defaults)
against the same service scoring each request alone; one row at a time against the pipeline's own prediction in
process; and the cost of the prediction log and of a challenger in shadow, in both. Every pair is measured in
alternation in the same run."""

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
SHADOW = "models/challenger.skops"  # bench/scripts/train_challenger.py writes it
UNBATCHED = "the same service with SERVE_BATCH_ROWS=1 (each request scored alone: the service before batching), one process"
CLIENT = "an asyncio client over raw keep-alive sockets, in its own process"


def serving(trained: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    """The shipped service (batching on, prediction log on, one process) against itself with batching off, with
    its log off and with a challenger in shadow, under 32 concurrent clients and one request at a time."""
    rows = json.loads(in_project(trained, "python", "-c", SAMPLE_ROWS).output)
    in_project(trained, "python", str(scripts() / "train_challenger.py"))
    ports = {"batched": free_port(), "unbatched": free_port(), "log off": free_port(), "shadow": free_port()}
    servers = [
        start(trained, ports["batched"]),
        start(trained, ports["unbatched"], environment={"SERVE_BATCH_ROWS": "1"}),
        start(trained, ports["log off"], "--log-dir", "off"),
        start(trained, ports["shadow"], "--shadow", SHADOW, "--shadow-version", "challenger"),
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
                str(ports["shadow"]),
            ).output
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['shadow']}/health", timeout=10) as answer:
            shadow = json.load(answer)["shadow"]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    one_row, without_log = medians[str(ports["batched"])], medians[str(ports["log off"])]
    with_shadow = medians[str(ports["shadow"])]
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
        ratio_target(
            "`/predict` of one row, p50, a challenger in shadow (the default pipeline with other parameters)",
            with_shadow,
            "the same service without a challenger, in alternation",
            one_row,
            1.1,
            unit="ms",
        ),
        Figure(
            f"{REQUESTS:,} `/predict` requests from {CLIENTS} concurrent clients, a challenger in shadow",
            seconds["shadow"],
            "the same service without a challenger, in alternating rounds",
            seconds["batched"],
            "<= 1.11x (>= 0.9x the throughput)",
            seconds["shadow"] <= seconds["batched"] / 0.9,
        ),
    ]
    details = ["| endpoint | requests | errors | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    details.append(_row(f"GET /health ({HEALTH_THREADS} threads)", health))
    names = {
        "batched": "batching on, log on",
        "unbatched": "SERVE_BATCH_ROWS=1, log on",
        "log off": "batching on, log off",
        "shadow": "batching on, log on, a challenger in shadow",
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
    details.append(
        f"| POST /predict (one row), one at a time, a challenger in shadow | {SEQUENTIAL} | 0 | | {with_shadow:.1f} | |"
    )
    details += [
        "",
        f"The challenger in shadow, over all its traffic: scored {shadow['scored']:,} rows in {shadow['batches']:,} "
        f"calls, skipped {shadow['skipped']:,} (queue full), failed on {shadow['failed']:,}; state {shadow['state']}.",
    ]
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
