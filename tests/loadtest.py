"""A bounded load test of an HTTP endpoint on loopback: N requests from a few threads, errors and latencies."""

import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

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
