# ruff: noqa: F811 (the fixtures of test_shadow.py, taken as arguments)
"""A/B (release/ab.py), off by default: with a share above 0, the challenger answers the keyed requests of its arm
(sticky per key); production answers the rest, and any row the challenger cannot answer, counted on /health and in
the service's log; the log's rows carry the arm. With the share at 0 the service is exactly as without it."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from fixture_model.pipeline import train
from test_shadow import (  # noqa: F401 (fixtures)
    HOLD,
    challenger,
    in_process,
    log_of,
    read_log,
    refused_file,
    rows,
    saved,
    train_rows,
    without_imputer,
)

from ml_gitops.core import files
from ml_gitops.release import ab, serve

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

KEYED = {"X-AB-Key": "user-1"}


def post_each(client, rows, headers=None) -> list[dict]:
    return [
        client.post(
            "/predict", json={"rows": [row]}, headers={"X-Request-ID": f"r-{i}", **(headers or {})}
        ).json()
        for i, row in enumerate(rows)
    ]


def service(monkeypatch, log=None, challenger=None, share=None):
    monkeypatch.setenv("SERVE_SHADOW_QUEUE_ROWS", str(HOLD.rows))
    monkeypatch.setenv("SERVE_SHADOW_WAIT_MS", str(HOLD.wait_seconds * 1000))
    return serve.create_app(log=log, challenger=challenger, ab_share=share)


def test_the_arm_is_sticky_per_key_and_the_share_of_keys_it_names(monkeypatch):
    keys = [f"user-{n}" for n in range(20_000)]
    tenth = [ab.arm(key, 0.1) for key in keys]
    assert tenth == [ab.arm(key, 0.1) for key in keys], "the same key, the same arm"
    assert 0.09 < tenth.count(ab.CHALLENGER) / len(keys) < 0.11
    fifth = [ab.arm(key, 0.2) for key in keys]
    assert all(b == ab.CHALLENGER for a, b in zip(tenth, fifth, strict=True) if a == ab.CHALLENGER), (
        "a larger share keeps the challenger's keys"
    )
    assert ab.arm(None, 0.5) is None
    assert ab.arm("", 0.5) is None
    assert ab.arm("user-1", 1.0) == ab.CHALLENGER
    assert ab.arm("user-1", 0.0) == ab.PRODUCTION
    monkeypatch.setenv("PYTHONHASHSEED", "1")
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ml_gitops.release import ab; print([ab.arm(f'user-{n}', 0.1) for n in range(50)])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout.strip() == str(tenth[:50]), "a stable hash: the same arm in every process"


def test_share_zero_is_exactly_today_s_service_and_log(trained, challenger, rows, tmp_path, monkeypatch):
    today = tmp_path / "today"
    with TestClient(service(monkeypatch, log_of(today), challenger)) as client:
        alone = [client.post("/predict", json={"rows": rows}, headers={"X-Request-ID": "all"}).content]
        alone_health = client.get("/health").json()
    zero = tmp_path / "zero"
    with TestClient(service(monkeypatch, log_of(zero), challenger, share=0.0)) as client:
        keyed = [
            client.post("/predict", json={"rows": rows}, headers={"X-Request-ID": "all", **KEYED}).content
        ]
        health = client.get("/health").json()
    assert keyed == alone
    assert "ab" not in health
    assert set(health) == set(alone_health)
    before, after = read_log(today), read_log(zero)
    assert list(after.columns) == list(before.columns)
    assert "arm" not in after.columns
    pd.testing.assert_frame_equal(
        after.drop(columns=["time", "score_ms"]).sort_values(
            ["model_version", "request_id"], ignore_index=True
        ),
        before.drop(columns=["time", "score_ms"]).sort_values(
            ["model_version", "request_id"], ignore_index=True
        ),
    )


def test_the_challenger_answers_its_arm_and_production_the_requests_without_a_key(
    trained, challenger, rows, tmp_path, monkeypatch
):
    log = log_of(tmp_path)
    with TestClient(service(monkeypatch, log, challenger, share=1.0)) as client:
        keyed = post_each(client, rows[:6], KEYED)
        unkeyed = [
            client.post("/predict", json={"rows": [row]}, headers={"X-Request-ID": f"u-{i}"}).json()
            for i, row in enumerate(rows[6:])
        ]
        health = client.get("/health").json()["ab"]
    candidate = files.load_model(challenger.path, train.MODEL_TYPES)
    production = files.load_model(serve.paths.MODEL, train.MODEL_TYPES)
    expected = in_process(candidate, rows[:6])["prediction"].tolist()
    assert [body["predictions"][0] for body in keyed] == expected
    assert [body["predictions"][0] for body in unkeyed] == in_process(production, rows[6:])[
        "prediction"
    ].tolist()
    assert health == {"share": 1.0, "production": 6, "challenger": 6, "fallback": 0, "error": ""}
    logged = read_log(tmp_path).set_index("request_id")
    served = logged.loc[[f"r-{i}" for i in range(6)]]
    assert set(served["model_version"]) == {"v2-candidate"}, (
        "no production row for what the challenger answered"
    )
    assert set(served["arm"]) == {"challenger"}
    assert served["prediction"].tolist() == expected
    outside = logged.loc[[f"u-{i}" for i in range(len(rows) - 6)]]
    assert outside["arm"].isna().all()
    assert set(outside.query("model_version == 'v1'")["model_sha256"]) == {files.sha256(serve.paths.MODEL)}
    shadowed = outside.query("model_version == 'v2-candidate'")
    assert len(shadowed) == len(rows) - 6, "the shadow scores what production answered, and only that"


def test_a_challenger_that_did_not_load_leaves_production_answering_its_arm(
    trained, challenger, train_rows, rows, tmp_path, monkeypatch, caplog
):
    with TestClient(service(monkeypatch)) as client:
        alone = post_each(client, rows)
    missing = refused_file("not found", tmp_path, challenger, train_rows)
    with TestClient(service(monkeypatch, log_of(tmp_path), missing, share=1.0)) as client:
        assert post_each(client, rows, KEYED) == alone
        health = client.get("/health").json()["ab"]
    assert health["fallback"] == len(rows)
    assert health["challenger"] == 0
    assert health["error"] == "challenger not loaded: not found"
    logged = read_log(tmp_path)
    assert set(logged["model_version"]) == {"v1"}
    assert set(logged["arm"]) == {"challenger"}, "production answered, in the challenger's arm: a fallback"
    assert any("A/B: production answered 1 of 1 rows" in r.getMessage() for r in caplog.records)


def test_rows_the_challenger_raises_on_are_answered_by_production(
    trained, train_rows, rows, tmp_path, monkeypatch, caplog
):
    failing = saved(without_imputer(train_rows), tmp_path / "no-imputer.skops")
    first = next(iter(rows[0]))
    holes = {2, 5}
    mixed = [{**row, first: None} if i in holes else row for i, row in enumerate(rows)]
    with TestClient(service(monkeypatch)) as client:
        alone = client.post("/predict", json={"rows": mixed}).json()
    with TestClient(service(monkeypatch, log_of(tmp_path), failing, share=1.0)) as client:
        answer = client.post("/predict", json={"rows": mixed}, headers={"X-Request-ID": "all", **KEYED})
        health = client.get("/health").json()["ab"]
    assert answer.status_code == 200
    got = answer.json()["predictions"]
    theirs = in_process(
        files.load_model(failing.path, train.MODEL_TYPES), [r for i, r in enumerate(mixed) if i not in holes]
    )
    assert [got[i] for i in sorted(holes)] == [alone["predictions"][i] for i in sorted(holes)]
    assert [p for i, p in enumerate(got) if i not in holes] == theirs["prediction"].tolist()
    assert (health["fallback"], health["challenger"], health["error"]) == (
        2,
        len(rows) - 2,
        "raised ValueError",
    )
    logged = read_log(tmp_path).set_index("request_id")
    assert set(logged.loc[[f"all-{i}" for i in holes], "model_version"]) == {"v1"}
    assert set(logged["arm"]) == {"challenger"}
    assert any("production answered 2 of 12 rows" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--ab-share", "1.5"], {}, "error: --ab-share is '1.5': give the share of keyed traffic"),
        (["--ab-share", "-0.1"], {}, "error: --ab-share is '-0.1': give the share"),
        ([], {"SERVE_AB_SHARE": "ten percent"}, "error: SERVE_AB_SHARE is 'ten percent': give the share"),
        ([], {"SERVE_AB_SHARE": "nan"}, "error: SERVE_AB_SHARE is 'nan': give the share"),
        (
            ["--ab-share", "0.1"],
            {},
            "error: the A/B share is 0.1 (--ab-share or SERVE_AB_SHARE) but the service "
            "has no challenger: give --shadow PATH, or set the share to 0",
        ),
    ],
)
def test_a_bad_share_is_refused_with_one_line(tmp_path, monkeypatch, capsys, arguments, environment, message):
    import uvicorn

    from ml_gitops.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("the service started"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", "--port", "0", "--log-dir", str(tmp_path / "log"), *arguments]) == 1
    error = capsys.readouterr().err
    assert error.startswith(message), error
    assert error.count("\n") == 1
    assert not (tmp_path / "log").exists()


def test_the_arm_column_reads_back_as_text_with_nulls(tmp_path):
    from ml_gitops.release.prediction_log import Columns, write_predictions

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    answer = pd.DataFrame({"prediction": [0.1, 0.2, 0.3]})
    path = write_predictions(
        str(tmp_path),
        frame,
        answer,
        ["a", "b", "c"],
        ("v1", "0" * 64),
        Columns(),
        arms=[None, "production", None],
    )
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    assert schema.field("arm").type == schema.field("model_version").type, "text, as the log's other texts"
    assert pd.read_parquet(path)["arm"].tolist()[1] == "production"
    assert np.array_equal(pd.read_parquet(path)["arm"].isna().to_numpy(), [True, False, True])
