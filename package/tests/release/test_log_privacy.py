"""Personal data in the prediction log: `serve` and `score` leave out and hash the same columns (one writer), the
hash is keyed (HMAC with PREDICTION_LOG_KEY), and both refuse to start when hashing is asked for without a key."""

import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from ml_gitops.core import files, paths
from ml_gitops.release import serve

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

KEY = "0123456789abcdef" * 4  # 64 bytes: `openssl rand -hex 32`'s shape
OTHER_KEY = "fedcba9876543210" * 4


@pytest.fixture
def personal(trained):
    """params.yaml leaves out the first feature and hashes the second; returns (features, left out, hashed)."""
    features = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).head(8)
    left_out, hashed = features.columns[:2]
    settings = yaml.safe_load(paths.PARAMS.read_text())
    settings["monitoring"] |= {"exclude": [left_out], "hash": [hashed]}
    paths.PARAMS.write_text(yaml.safe_dump(settings))
    return features, left_out, hashed


def command(*arguments: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m ml_gitops ...` in the project's directory, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ml_gitops", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def logged(directory) -> pd.DataFrame:
    return pd.read_parquet(directory)


def scored_log(features: pd.DataFrame, where, key: str) -> pd.DataFrame:
    """The log `score` writes for these rows, run from the command line with this key."""
    features.to_csv(where / "new.csv", index=False)
    environment = {**os.environ, "PREDICTION_LOG_KEY": key}
    result = command(
        "score",
        str(where / "new.csv"),
        str(where / "scored.parquet"),
        "--log-dir",
        str(where / "log"),
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return logged(where / "log")


def served_log(features: pd.DataFrame, where, monkeypatch) -> pd.DataFrame:
    """The log the service writes for these rows, set up as `serve` sets it up (params.yaml, the environment)."""
    monkeypatch.setenv("PREDICTION_LOG_KEY", KEY)
    log = serve.prediction_log(str(where / "log"), files.sha256(paths.MODEL))
    with TestClient(serve.create_app(log=log)) as client:
        answer = client.post("/predict", json={"rows": serve.json_records(features)})
    assert answer.status_code == 200
    return logged(where / "log")


def test_serve_and_score_leave_out_and_hash_the_same_columns(personal, tmp_path, monkeypatch):
    features, left_out, hashed = personal
    (tmp_path / "served").mkdir()
    (tmp_path / "scored").mkdir()
    served = served_log(features, tmp_path / "served", monkeypatch)
    scored = scored_log(features, tmp_path / "scored", KEY)
    for log in (served, scored):
        assert left_out not in log.columns
        assert log[hashed].str.fullmatch(r"[0-9a-f]{32}").all()
        assert not set(log[hashed]) & {str(value) for value in features[hashed]}
    shown = [column for column in features.columns if column in served.columns]
    assert shown == [column for column in features.columns if column in scored.columns]
    assert shown == [column for column in features.columns if column != left_out]
    assert served[hashed].tolist() == scored[hashed].tolist(), "the same rows get the same hashes in both"


def test_the_hash_is_keyed_stable_for_one_key_and_different_for_another(personal, tmp_path):
    features, _, hashed = personal
    runs = {}
    for name, key in (("first", KEY), ("again", KEY), ("other", OTHER_KEY)):
        (tmp_path / name).mkdir()
        runs[name] = scored_log(features, tmp_path / name, key)[hashed].tolist()
    assert runs["first"] == runs["again"]
    assert not set(runs["first"]) & set(runs["other"])


@pytest.mark.parametrize(
    ("environment", "refusal"),
    [
        (
            {},
            "error: monitoring.hash names '{hashed}' but PREDICTION_LOG_KEY is not set: set it to a random "
            "secret of at least 32 bytes (openssl rand -hex 32), kept out of Git",
        ),
        (
            {"PREDICTION_LOG_KEY": "short-secret"},
            "error: PREDICTION_LOG_KEY is 12 bytes: monitoring.hash needs a key of at least 32 bytes "
            "(openssl rand -hex 32 gives one)",
        ),
        (
            {"PREDICTION_LOG_SALT": "pepper"},
            "error: PREDICTION_LOG_SALT is no longer read: monitoring.hash is now a keyed hash; set "
            "PREDICTION_LOG_KEY to a random secret of at least 32 bytes (openssl rand -hex 32) and unset "
            "PREDICTION_LOG_SALT",
        ),
    ],
    ids=["no key", "short key", "old salt"],
)
@pytest.mark.parametrize("what", ["serve", "score"])
def test_serve_and_score_refuse_to_start_when_hashing_has_no_valid_key(
    personal, tmp_path, what, environment, refusal
):
    features, _, hashed = personal
    features.to_csv(tmp_path / "new.csv", index=False)
    arguments = {
        "serve": ["serve", "--port", "0", "--log-dir", str(tmp_path / "log")],
        "score": [
            "score",
            str(tmp_path / "new.csv"),
            str(tmp_path / "out.csv"),
            "--log-dir",
            str(tmp_path / "log"),
        ],
    }[what]
    bare = {k: v for k, v in os.environ.items() if k not in ("PREDICTION_LOG_KEY", "PREDICTION_LOG_SALT")}
    result = command(*arguments, env={**bare, **environment}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == refusal.format(hashed=hashed)
    assert not (tmp_path / "log").exists()
    assert not (tmp_path / "out.csv").exists()
