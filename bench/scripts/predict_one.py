"""One test row scored N times each way, the ways taking turns so that all see the same machine (a shared VM's
speed drifts by 2x within a minute): POST /predict to each given service port, one request after another over a
keep-alive connection, and the pipeline's own prediction in process, as /predict makes it (predict_proba for a
classifier, on one thread as the service scores: its fastest for one row). Prints a JSON object of median milliseconds: {"in_process": ..., "<port>": ...}.

usage: predict_one.py N [PORT ...]   (run in the project's venv, in the project's directory)
"""

import http.client
import json
import statistics
import sys
import time

import pandas as pd
from churn_model.pipeline.train import MODEL_TYPES
from ml_gitops.core import files, paths
from ml_gitops.release import serve
from threadpoolctl import threadpool_limits


def main(calls: int, ports: list[int]) -> None:
    threadpool_limits(limits=1)
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    row = pd.read_parquet(paths.TEST).drop(columns=["target"]).head(1)
    score = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    body = json.dumps({"rows": serve.json_records(row)})
    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for port in ports}
    ways = {"in_process": lambda: score(row)} | {
        str(port): (lambda connection=connection: post(connection, body))
        for port, connection in connections.items()
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for round_ in range(calls + 20):  # the first 20 rounds warm up
        for name, way in ways.items():
            started = time.perf_counter()
            way()
            if round_ >= 20:
                times[name].append((time.perf_counter() - started) * 1000)
    print(json.dumps({name: statistics.median(values) for name, values in times.items()}))


def post(connection: http.client.HTTPConnection, body: str) -> None:
    try:
        connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
    except (BrokenPipeError, ConnectionResetError):  # the service closed the connection, idle for 5 s
        connection.close()
        connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"/predict answered {response.status}")


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(port) for port in sys.argv[2:]])
