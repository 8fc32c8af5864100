"""Time the project's drift check and scipy's per-column ks_2samp on the same data (run in the project's venv).

usage: drift_compare.py REFERENCE CURRENT  -> JSON on stdout: seconds and the drifted columns of each
"""

import json
import sys
import time

import pandas as pd
from ml_gitops.core import config
from ml_gitops.monitor import drift
from scipy import stats

P_VALUE = 0.01


def main(reference_path: str, current_path: str) -> None:
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    settings = config.load()
    features = [column for column in reference.columns if column != settings.data.target]

    started = time.perf_counter()
    summary = drift.check(reference[features], current[features], settings)
    ours = time.perf_counter() - started

    started = time.perf_counter()
    p_values = {column: stats.ks_2samp(reference[column], current[column]).pvalue for column in features}
    scipy_seconds = time.perf_counter() - started

    print(
        json.dumps(
            {
                "ours": {"seconds": ours, "drifted": summary["drifted_features"]},
                "ours_ks": [row["column"] for row in summary["features"] if row["p_value"] < P_VALUE],
                "scipy": {
                    "seconds": scipy_seconds,
                    "drifted": [column for column, p in p_values.items() if p < P_VALUE],
                },
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
