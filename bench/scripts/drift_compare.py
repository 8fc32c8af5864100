"""Time the project's drift check and scipy's per-column ks_2samp on the same data (run in the project's venv).

Like with like: both compare every row of the reference with every row of the current data (the product's own
reference is a sample, data.reference_rows, 10,000 by default; here both files are whole). Each is timed ROUNDS
times, in turns, and the median kept, so that a burst of load on a shared machine weighs on both alike.

usage: drift_compare.py REFERENCE CURRENT  -> JSON on stdout: seconds and the drifted columns of each
"""

import json
import statistics
import sys
import time

import pandas as pd
from ml_gitops.core import config
from ml_gitops.monitor import drift
from scipy import stats

P_VALUE = 0.01
ROUNDS = 3


def main(reference_path: str, current_path: str) -> None:
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    settings = config.load()
    features = [column for column in reference.columns if column != settings.data.target]

    def ours():
        return drift.check(reference[features], current[features], settings)

    def scipy():
        return {column: stats.ks_2samp(reference[column], current[column]).pvalue for column in features}

    times = {"ours": [], "scipy": []}
    for _ in range(ROUNDS):
        summary, ours_seconds = timed(ours)
        p_values, scipy_seconds = timed(scipy)
        times["ours"].append(ours_seconds)
        times["scipy"].append(scipy_seconds)
    print(
        json.dumps(
            {
                "ours": {"seconds": statistics.median(times["ours"]), "drifted": summary["drifted_features"]},
                "ours_ks": [row["column"] for row in summary["features"] if row["p_value"] < P_VALUE],
                "scipy": {
                    "seconds": statistics.median(times["scipy"]),
                    "drifted": [column for column, p in p_values.items() if p < P_VALUE],
                },
                "rows": {"reference": len(reference), "current": len(current)},
            }
        )
    )


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


if __name__ == "__main__":
    main(*sys.argv[1:])
