"""Synthetic production traffic for the monitoring benchmarks, in a trained project: the test set's rows repeated
into REQUESTS logged predictions (written by the log's own `write_batch`, 100,000 a file, over 30 days), true
outcomes for LABELS of them picked at random, and SCORE rows of features in a Parquet file to score.

With `shadow`, a challenger (another digest and version; its answers those of the next test row, so a worse model)
answers every request too, in files of its own as the service writes them, with the same ids and times; both
models' rows carry score_ms: 2 * REQUESTS logged predictions.

Usage: python make_traffic.py REQUESTS LABELS SCORE OUTDIR [shadow]
"""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from churn_model.pipeline.train import MODEL_TYPES
from ml_gitops.core import config, files, paths
from ml_gitops.release import prediction_log, serve

PER_FILE = 100_000
DAYS = 30
CHALLENGER = ("v1.1.0-rc1", hashlib.sha256(b"the challenger").hexdigest())


def main() -> None:
    requests, labels, score_rows, out = (*map(int, sys.argv[1:4]), Path(sys.argv[4]))
    shadow = sys.argv[5:] == ["shadow"]
    settings = config.load()
    target = settings.data.target
    test = pd.read_parquet(paths.TEST)
    features = pd.DataFrame(serve.json_records(test.drop(columns=[target])))
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    answer = serve.answer_of(model, features)
    ids = ["x"] * len(features)
    models = [prediction_log.log_rows(features, answer, ids, "v1.0.0", files.sha256(paths.MODEL))]
    if shadow:
        models.append(
            prediction_log.log_rows(
                features, answer.iloc[np.roll(np.arange(len(answer)), 1)], ids, *CHALLENGER
            )
        )
    truth = test[target].astype(str).to_numpy()
    start = pd.Timestamp("2026-01-01", tz="UTC")
    seconds = DAYS * 86_400 / max(requests, 1)
    rng = np.random.default_rng(1)
    for first in range(0, requests, PER_FILE):
        rows = np.arange(first, min(first + PER_FILE, requests))
        for milliseconds, base in zip((2.0, 6.0), models, strict=False):
            batch = base.iloc[rows % len(base)].reset_index(drop=True)
            batch["request_id"] = np.char.add("req-2f9c41d07ab3e8-", rows.astype(str))
            batch["time"] = start + pd.to_timedelta(rows * seconds, unit="s")
            if shadow:
                batch["score_ms"] = milliseconds * rng.lognormal(0, 0.5, len(rows))
            prediction_log.write_batch(batch, str(out / "log"))
    picked = np.sort(np.random.default_rng(0).choice(requests, size=labels, replace=False))
    (out / "labels").mkdir(parents=True)
    pd.DataFrame(
        {
            "request_id": np.char.add("req-2f9c41d07ab3e8-", picked.astype(str)),
            "label": truth[picked % len(features)],
        }
    ).to_parquet(out / "labels" / "labels.parquet", index=False)
    features.iloc[np.arange(score_rows) % len(features)].to_parquet(out / "score.parquet", index=False)


if __name__ == "__main__":
    main()
