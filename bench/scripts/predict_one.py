"""The pipeline's own prediction of one test row in process, as /predict makes it (predict_proba for a classifier):
the median of N calls in milliseconds (run in the project's venv, in the project's directory).

usage: predict_one.py N
"""

import statistics
import sys
import time

import pandas as pd
from churn_model.core import files, paths
from churn_model.pipeline.train import MODEL_TYPES


def main(calls: int) -> None:
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    row = pd.read_parquet(paths.TEST).drop(columns=["target"]).head(1)
    score = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        score(row)
        times.append((time.perf_counter() - started) * 1000)
    print(statistics.median(times))


if __name__ == "__main__":
    main(int(sys.argv[1]))
