"""Time Evidently's DataDriftPreset (KS test at p < 0.01 per column) on the same data (run in its own venv).

usage: drift_evidently.py REFERENCE CURRENT  -> JSON on stdout: seconds and the drifted columns
"""

import json
import sys
import time

import evidently
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

P_VALUE = 0.01


def main(reference_path: str, current_path: str) -> None:
    reference, current = pd.read_parquet(reference_path), pd.read_parquet(current_path)
    features = [column for column in reference.columns if column != "target"]
    started = time.perf_counter()
    preset = DataDriftPreset(method="ks", threshold=P_VALUE)
    snapshot = Report([preset]).run(current_data=current[features], reference_data=reference[features])
    seconds = time.perf_counter() - started
    p_values = {
        metric["config"]["column"]: metric["value"]
        for metric in snapshot.dict()["metrics"]
        if metric["config"]["type"].endswith("ValueDrift")
    }
    drifted = [column for column in features if p_values[column] < P_VALUE]
    print(json.dumps({"seconds": seconds, "drifted": drifted, "version": evidently.__version__}))


if __name__ == "__main__":
    main(*sys.argv[1:])
