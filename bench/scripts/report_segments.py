"""`report` with segments against the same report without: two segment columns of 20 values each, on 1M test
predictions of a binary classifier (issue 30: within 2x). Runs in the package's environment, on the package's
fixture project (package/tests/conftest.py renders the template's pipeline), in a scratch Git repository: the
champion's predictions committed through the DVC cache as a project commits them, the candidate's in place.

usage (from package/): uv run --locked python ../bench/scripts/report_segments.py [ROWS] [REPEATS]
  -> JSON on stdout: wall and CPU seconds without and with segments (the best of REPEATS runs each), and their
     ratios
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

PACKAGE_TESTS = Path(__file__).resolve().parents[2] / "package" / "tests"
COLUMNS = {"plan": 20, "region": 20}  # segment columns and their number of values


def predictions(rows: int, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    truth = rng.integers(0, 2, rows)
    frames = []
    for noise in (0.7, 0.65):
        score = np.clip(truth * 0.3 + rng.random(rows) * noise, 0, 1)
        frames.append(
            pd.DataFrame(
                {
                    "y_true": np.where(truth == 1, "yes", "no"),
                    "y_pred": np.where(score > 0.5, "yes", "no"),
                    "proba_no": 1 - score,
                    "proba_yes": score,
                }
            )
        )
    return frames[0], frames[1]


def git(*arguments: str) -> None:
    subprocess.run(["git", *arguments], check=True, capture_output=True)


def set_up(rows: int) -> None:
    """The champion committed (metrics, params, dvc.lock naming its predictions in the cache), the candidate's
    predictions, metrics, test rows and segment side file in the working tree."""
    from conftest import ROOT
    from ml_gitops import metrics
    from ml_gitops.core import paths
    from ml_gitops.review import champion, segments

    rng = np.random.default_rng(0)
    old, new = predictions(rows, rng)
    shutil.copy(ROOT / "params.yaml", paths.PARAMS)
    paths.PREDICTIONS.parent.mkdir(parents=True)
    old.to_parquet(paths.PREDICTIONS)
    digest = hashlib.md5(paths.PREDICTIONS.read_bytes()).hexdigest()  # noqa: S324 - DVC's content address
    cached = champion.CACHE / digest[:2] / digest[2:]
    cached.parent.mkdir(parents=True)
    shutil.copy(paths.PREDICTIONS, cached)
    paths.METRICS.write_text(json.dumps(metrics.compute("classification", old)))
    lock = {"stages": {"evaluate": {"outs": [{"path": str(paths.PREDICTIONS), "md5": digest}]}}}
    Path("dvc.lock").write_text(yaml.safe_dump(lock))
    git("init", "-q")
    git("add", "params.yaml", "dvc.lock", str(paths.METRICS))
    git("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "champion")
    new.to_parquet(paths.PREDICTIONS)
    paths.METRICS.write_text(json.dumps(metrics.compute("classification", new)))
    paths.PREPARED.mkdir(parents=True)
    new[["y_true"]].rename(columns={"y_true": "target"}).to_parquet(paths.TEST)
    values = {
        name: rng.choice([f"{name}-{k}" for k in range(count)], rows) for name, count in COLUMNS.items()
    }
    pd.DataFrame(values).to_parquet(segments.SEGMENTS_FILE)
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {"columns": {name: {} for name in COLUMNS}, "min_rows": 100}
    paths.PARAMS.write_text(yaml.safe_dump(raw, sort_keys=False))


def seconds(settings, repeats: int) -> tuple[float, float]:
    """The best wall and the best CPU seconds (every thread's) of `repeats` reports."""
    from ml_gitops.review import report

    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        report.run(settings, "HEAD", "publish", pull_request=1, head_sha="0" * 40)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def main(rows: int = 1_000_000, repeats: int = 2) -> None:
    os.environ.setdefault("ML_GITOPS_TEST_TASK", "classification")
    sys.path.insert(0, str(PACKAGE_TESTS))
    import conftest  # renders the fixture project and names its pipeline (ML_GITOPS_PIPELINE)
    from ml_gitops.core import config

    scratch = Path(tempfile.mkdtemp(prefix="report-segments-"))
    os.chdir(scratch)
    try:
        set_up(rows)
        with_segments = config.load()
        without = replace(with_segments, segments=replace(with_segments.segments, columns=()))
        plain = seconds(without, repeats)
        segmented = seconds(with_segments, repeats)
    finally:
        os.chdir("/")
        shutil.rmtree(scratch, ignore_errors=True)
        conftest.pytest_unconfigure()
    print(
        json.dumps(
            {
                "rows": rows,
                "segment_columns": COLUMNS,
                "report_seconds": round(plain[0], 3),
                "report_with_segments_seconds": round(segmented[0], 3),
                "ratio": round(segmented[0] / plain[0], 3),
                "report_cpu_seconds": round(plain[1], 3),
                "report_with_segments_cpu_seconds": round(segmented[1], 3),
                "cpu_ratio": round(segmented[1] / plain[1], 3),
                "limit": 2.0,
            }
        )
    )


if __name__ == "__main__":
    main(*(int(argument) for argument in sys.argv[1:]))
