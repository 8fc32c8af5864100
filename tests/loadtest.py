"""A bounded load test of an HTTP endpoint on loopback: N requests from a few threads, errors and latencies.

`concurrent_load` is the cheap one, for many clients: asyncio over raw keep-alive sockets in a process of its own
(`python -m tests.loadtest`), so that the client takes a small share of the cores and none of the service's.
"""

import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    latencies_ms: tuple[float, ...] = ()  # each request's, when the caller asked for them (concurrent_load)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def __str__(self) -> str:
        return (
            f"{self.requests} requests, {self.errors} errors, {self.per_second:.0f} req/s, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
        )


def bounded_load(
    port: int, path: str, body: dict | None, requests: int = 2000, threads: int = 4
) -> LoadResult:
    """POST `body` (GET when None) `requests` times over keep-alive connections to 127.0.0.1; bounded in count."""
    method, payload = ("GET", None) if body is None else ("POST", json.dumps(body).encode())
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(count):
            started = time.perf_counter()
            try:
                connection.request(method, path, payload, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                latencies.append(time.perf_counter() - started)
                errors[0] += not ok
        connection.close()

    share = [requests // threads + (i < requests % threads) for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(count,)) for count in share]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return LoadResult(len(latencies), errors[0], elapsed, cuts[49] * 1000, cuts[98] * 1000)


def concurrent_load(port: int, path: str, body: dict, requests: int = 4000, clients: int = 32) -> LoadResult:
    """POST `body` `requests` times from `clients` keep-alive connections at once, each sending its next request
    when the last is answered; the client runs in its own process."""
    process = subprocess.run(
        [sys.executable, "-m", "tests.loadtest", str(port), path, str(requests), str(clients)],
        input=json.dumps(body),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        check=True,
    )
    fields = json.loads(process.stdout)
    return LoadResult(**fields | {"latencies_ms": tuple(fields["latencies_ms"])})


async def _load(port: int, path: str, payload: bytes, requests: int, clients: int) -> LoadResult:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    message = head + payload
    latencies: list[float] = []
    errors = [0]
    share = [requests // clients + (i < requests % clients) for i in range(clients)]

    async def client(count: int) -> None:
        connection = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(count):
            started = time.perf_counter()
            try:
                ok, keep = await _exchange(*connection, message)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok, keep = False, False
            latencies.append(time.perf_counter() - started)
            errors[0] += not ok
            if not keep:
                connection[1].close()
                connection = await asyncio.open_connection("127.0.0.1", port)
        connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client(count) for count in share if count))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    milliseconds = tuple(latency * 1000 for latency in latencies)
    return LoadResult(len(latencies), errors[0], elapsed, cuts[49] * 1000, cuts[98] * 1000, milliseconds)


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes
) -> tuple[bool, bool]:
    """Send one request and read its answer: (status was 200, the connection stays open)."""
    writer.write(message)
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    length = int(head.split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
    await reader.readexactly(length)
    return head[9:12] == b"200", b"connection: close" not in head


if __name__ == "__main__":  # PORT PATH REQUESTS CLIENTS, the JSON body on stdin; prints the result as JSON
    port, path, requests, clients = sys.argv[1:5]
    result = asyncio.run(_load(int(port), path, sys.stdin.read().encode(), int(requests), int(clients)))
    print(json.dumps(asdict(result)))
