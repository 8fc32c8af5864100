"""The floor of `report`: read both models' test predictions and compute each metric of each once (run in the
project's venv). Whatever `report` does beyond this (intervals, comparison, charts, the page) is its own cost.

usage: report_floor.py TASK CHAMPION_PREDICTIONS CANDIDATE_PREDICTIONS  -> JSON on stdout: the metrics of each
"""

import json
import sys

import pandas as pd
from ml_gitops import metrics


def main(task: str, champion: str, candidate: str) -> None:
    scores = {
        name: metrics.compute(task, pd.read_parquet(path))
        for name, path in (("champion", champion), ("candidate", candidate))
    }
    print(json.dumps(scores))


if __name__ == "__main__":
    main(*sys.argv[1:])
