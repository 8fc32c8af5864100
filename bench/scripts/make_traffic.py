"""Synthetic production traffic for the monitoring benchmarks, in a trained project: the test set's rows repeated
into PREDICTIONS logged predictions (written by the log's own `write_batch`, 100,000 a file, over 30 days), true
outcomes for LABELS of them picked at random, and SCORE rows of features in a Parquet file to score.

Usage: python make_traffic.py PREDICTIONS LABELS SCORE OUTDIR
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from churn_model.pipeline.train import MODEL_TYPES
from ml_gitops.core import config, files, paths
from ml_gitops.release import prediction_log, serve

PER_FILE = 100_000
DAYS = 30


def main() -> None:
    predictions, labels, score_rows, out = (*map(int, sys.argv[1:4]), Path(sys.argv[4]))
    settings = config.load()
    target = settings.data.target
    test = pd.read_parquet(paths.TEST)
    features = pd.DataFrame(serve.json_records(test.drop(columns=[target])))
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    base = prediction_log.log_rows(
        features, serve.answer_of(model, features), ["x"] * len(features), "v1.0.0", files.sha256(paths.MODEL)
    )
    truth = test[target].astype(str).to_numpy()
    start = pd.Timestamp("2026-01-01", tz="UTC")
    seconds = DAYS * 86_400 / max(predictions, 1)
    for first in range(0, predictions, PER_FILE):
        rows = np.arange(first, min(first + PER_FILE, predictions))
        batch = base.iloc[rows % len(base)].reset_index(drop=True)
        batch["request_id"] = np.char.add("req-2f9c41d07ab3e8-", rows.astype(str))
        batch["time"] = start + pd.to_timedelta(rows * seconds, unit="s")
        prediction_log.write_batch(batch, str(out / "log"))
    picked = np.sort(np.random.default_rng(0).choice(predictions, size=labels, replace=False))
    (out / "labels").mkdir(parents=True)
    pd.DataFrame(
        {
            "request_id": np.char.add("req-2f9c41d07ab3e8-", picked.astype(str)),
            "label": truth[picked % len(base)],
        }
    ).to_parquet(out / "labels" / "labels.parquet", index=False)
    features.iloc[np.arange(score_rows) % len(features)].to_parquet(out / "score.parquet", index=False)


if __name__ == "__main__":
    main()
