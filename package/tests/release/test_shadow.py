"""A challenger in shadow, against the service and `score` with real models of the fixture project: the production
model (the trained fixture) answers byte for byte as without a challenger; the challenger (a second model, trained
with other parameters) writes its own rows to the prediction log under the same ids and times; and each fault (a
challenger missing, refused, unfit, failing on some rows, slow) leaves production's answers alone and shows on
/health, in the service's log and in the counts."""

import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from fixture_model.pipeline import TASK, train
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml_gitops.core import files, paths
from ml_gitops.release import score, serve, shadow
from ml_gitops.release.prediction_log import PredictionLog
from ml_gitops.release.shadow import Challenger, QueueSettings

HOLD = QueueSettings(rows=10_000, wait_seconds=600)  # the challenger scores only when the service stops


@pytest.fixture
def train_rows(trained):
    frame = pd.read_parquet(paths.TRAIN)
    return frame.drop(columns=[trained.data.target]), frame[trained.data.target]


@pytest.fixture
def rows(trained):
    return serve.json_records(pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).head(12))


def saved(model, path) -> Challenger:
    files.save_model(model, path)
    return Challenger(path, version="v2-candidate")


@pytest.fixture
def challenger(trained, train_rows, tmp_path):
    """The fixture's own pipeline trained with other parameters."""
    config = replace(trained.model, params={"learning_rate": 0.3, "max_iter": 30, "max_leaf_nodes": 4})
    model = train.build(replace(trained, model=config), train_rows[0]).fit(*train_rows)
    return saved(model, tmp_path / "challenger.skops")


def without_imputer(train_rows):
    """A pipeline that cannot take a missing value: scikit-learn raises on any row holding one."""
    estimator = LogisticRegression(max_iter=500) if TASK == "classification" else Ridge()
    return Pipeline([("scale", StandardScaler()), ("model", estimator)]).fit(*train_rows)


@pytest.fixture
def app(monkeypatch):
    """app(log, challenger, queue) -> the service, its challenger's queue settings given as the environment's."""

    def create(log=None, challenger=None, queue=HOLD):
        monkeypatch.setenv("SERVE_SHADOW_QUEUE_ROWS", str(queue.rows))
        monkeypatch.setenv("SERVE_SHADOW_WAIT_MS", str(queue.wait_seconds * 1000))
        return serve.create_app(log=log, challenger=challenger)

    return create


def log_of(tmp_path, version="v1") -> PredictionLog:
    return PredictionLog(str(tmp_path / "log"), version, files.sha256(paths.MODEL), flush_seconds=600)


def read_log(tmp_path) -> pd.DataFrame:
    found = list((tmp_path / "log").rglob("*.parquet"))
    return (
        pd.concat([pd.read_parquet(path) for path in found], ignore_index=True) if found else pd.DataFrame()
    )


def answers(client, rows) -> list[bytes]:
    """Each row alone, then all together, each under a fixed id: the bytes of each answer."""
    bodies = [({"rows": [row]}, f"one-{i}") for i, row in enumerate(rows)] + [({"rows": rows}, "all")]
    return [client.post("/predict", json=body, headers={"X-Request-ID": rid}).content for body, rid in bodies]


def in_process(model, rows) -> pd.DataFrame:
    frame = serve.frame_of(rows, serve.feature_schema(files.load_model(paths.MODEL, train.MODEL_TYPES)))
    return serve.answer_of(model, frame[list(model.feature_names_in_)])


def test_production_answers_the_same_bytes_and_the_challenger_logs_its_own_rows(
    trained, challenger, rows, tmp_path, app
):
    with TestClient(serve.create_app()) as client:
        alone = answers(client, rows)
    log = log_of(tmp_path)
    with TestClient(app(log, challenger)) as client:
        shadowed = answers(client, rows)
        health = client.get("/health").json()["shadow"]
    assert shadowed == alone
    assert health["state"] == "scoring"
    assert health["scored"] == 0
    logged = read_log(tmp_path)
    production, candidate = (logged[logged["model_version"] == v] for v in ("v1", "v2-candidate"))
    assert len(production) == len(candidate) == 2 * len(rows)
    assert set(candidate["model_sha256"]) == {files.sha256(challenger.path)}
    assert set(production["model_sha256"]) == {files.sha256(paths.MODEL)}
    pairs = production.merge(candidate, on="request_id", suffixes=("", "_shadow"), validate="one_to_one")
    assert len(pairs) == len(production)
    assert (pairs["time"] == pairs["time_shadow"]).all()
    features = list(rows[0])
    pd.testing.assert_frame_equal(
        pairs[features], pairs[[f"{name}_shadow" for name in features]].set_axis(features, axis=1)
    )
    expected = in_process(files.load_model(challenger.path, train.MODEL_TYPES), rows + rows)
    ids = [f"one-{i}" for i in range(len(rows))] + [f"all-{i}" for i in range(len(rows))]
    by_id = candidate.set_index("request_id").loc[ids]
    answer_columns = list(expected.columns)
    assert list(candidate.columns) == list(production.columns)
    np.testing.assert_array_equal(by_id["prediction"].to_numpy(), expected["prediction"].to_numpy())
    np.testing.assert_allclose(
        by_id[answer_columns[1:]].to_numpy(float), expected[answer_columns[1:]].to_numpy(float)
    )
    own = production.set_index("request_id").loc[ids, answer_columns[-1]].to_numpy(float)
    assert not np.allclose(
        own, by_id[answer_columns[-1]].to_numpy(float)
    )  # the challenger's answers, not production's
    assert logged["score_ms"].dtype == float
    assert (logged["score_ms"] > 0).all()


def test_health_without_a_challenger_says_off(trained):
    with TestClient(serve.create_app()) as client:
        assert client.get("/health").json()["shadow"] == "off"


class Marker:
    """A type no allow-list names."""


def refused_file(case, tmp_path, challenger, train_rows) -> Challenger:
    if case == "not found":
        return Challenger(tmp_path / "nowhere" / "challenger.skops")
    if case == "wrong digest":
        (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  {challenger.path.name}\n")
        return replace(challenger, checksums=tmp_path / "SHA256SUMS")
    if case == "untrusted types":
        model = files.load_model(challenger.path, train.MODEL_TYPES)
        model.marker_ = Marker()
        return saved(model, tmp_path / "untrusted.skops")
    if case == "unreadable":
        (tmp_path / "broken.skops").write_bytes(b"not a zip archive")
        return Challenger(tmp_path / "broken.skops")
    if case == "missing columns":
        features, target = train_rows
        model = without_imputer((features.assign(account_age=1.0), target))
        return saved(model, tmp_path / "wider.skops")
    if case == "same model":
        return Challenger(paths.MODEL)
    features, target = train_rows
    if case == "unknown columns":  # fitted on an array: it cannot say which features it reads
        return saved(without_imputer((features.to_numpy(), target)), tmp_path / "array.skops")
    if case == "other task":  # a regressor beside a classifier, or a classifier beside a regressor
        other = (target > target.median()) if TASK == "regression" else target
        estimator = Ridge() if TASK == "classification" else LogisticRegression(max_iter=500)
        return saved(
            Pipeline([("scale", StandardScaler()), ("model", estimator)]).fit(features, other),
            tmp_path / "other.skops",
        )
    if case == "other classes":
        return saved(
            without_imputer((features, target.map(lambda label: f"class {label}"))), tmp_path / "named.skops"
        )
    raise AssertionError(case)


CASES = [
    "not found",
    "wrong digest",
    "untrusted types",
    "unreadable",
    "unknown columns",
    "missing columns",
    "other task",
    *(["other classes"] if TASK == "classification" else []),
    "same model",
]


@pytest.mark.parametrize("case", CASES)
def test_a_challenger_that_cannot_be_loaded_leaves_the_service_serving_and_says_why(
    case, trained, challenger, train_rows, rows, tmp_path, caplog, app
):
    refused = refused_file(case, tmp_path, challenger, train_rows)
    with TestClient(serve.create_app()) as client:
        alone = answers(client, rows)
    log = log_of(tmp_path)
    with TestClient(app(log, refused)) as client:
        assert answers(client, rows) == alone
        health = client.get("/health")
    entry = health.json()["shadow"]
    assert entry["state"] == f"not loaded: {case}"
    assert (entry["scored"], entry["failed"], entry["skipped"]) == (0, 0, 0)
    assert str(tmp_path) not in health.text
    details = [r.getMessage() for r in caplog.records if r.name.endswith("shadow")]
    assert len(details) == 1
    assert f"not loaded ({case})" in details[0]
    assert set(read_log(tmp_path)["model_version"]) == {"v1"}  # production's rows only


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"deadbeef\n", ": line 1 is not '<sha256>  <name>'"), (b"\xff\xfe\n", " is not UTF-8")],
)
def test_a_challenger_whose_checksums_file_is_malformed_is_left_out_and_the_service_serves(
    content, problem, trained, challenger, rows, tmp_path, caplog, app
):
    checksums = tmp_path / "SHA256SUMS"
    checksums.write_bytes(content)
    with TestClient(app(log_of(tmp_path), replace(challenger, checksums=checksums))) as client:
        assert client.post("/predict", json={"rows": rows}).status_code == 200
        entry = client.get("/health").json()["shadow"]
    assert (entry["state"], entry["scored"]) == ("not loaded: wrong digest", 0)
    details = [r.getMessage() for r in caplog.records if r.name.endswith("shadow")]
    assert len(details) == 1
    assert f"is not loaded (wrong digest): {checksums}{problem}" in details[0]


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc")
def test_a_challenger_whose_checksums_file_cannot_be_read_is_left_out_and_the_service_serves(
    trained, challenger, rows, tmp_path, caplog, app
):
    """/proc/self/mem is a file whose reading fails (EIO): the OSError a failing disk or a permission gives."""
    unreadable = replace(challenger, checksums=Path("/proc/self/mem"))
    with TestClient(app(log_of(tmp_path), unreadable)) as client:
        assert client.post("/predict", json={"rows": rows}).status_code == 200
        entry = client.get("/health").json()["shadow"]
    assert entry["state"] == "not loaded: unreadable"
    details = [r.getMessage() for r in caplog.records if r.name.endswith("shadow")]
    assert "is not loaded (unreadable): [Errno 5] Input/output error" in details[0]


def test_rows_the_challenger_fails_on_are_counted_and_only_they_are_lost(
    trained, train_rows, rows, tmp_path, caplog, app
):
    """Rows holding a missing value make the challenger raise; its neighbours in the same call are scored."""
    failing = saved(without_imputer(train_rows), tmp_path / "no-imputer.skops")
    first = next(iter(rows[0]))
    holes = {2, 5, 6}
    mixed = [{**row, first: None} if i in holes else row for i, row in enumerate(rows)]
    with TestClient(serve.create_app()) as client:
        alone = answers(client, mixed)
    log = log_of(tmp_path)
    service = app(log, failing)
    with TestClient(service) as client:
        assert answers(client, mixed) == alone
    entry = service.state.shadow.status()
    assert entry["batches"] == 1  # all held, then scored together when the service stopped
    assert (entry["scored"], entry["failed"], entry["skipped"]) == (2 * len(rows) - 6, 6, 0)
    assert entry["error"] == "raised ValueError"
    assert entry["state"] == "stopped"
    shadow_rows = read_log(tmp_path).query("model_version == 'v2-candidate'")
    lost = {f"one-{i}" for i in holes} | {f"all-{i}" for i in holes}
    everyone = {f"one-{i}" for i in range(len(rows))} | {f"all-{i}" for i in range(len(rows))}
    assert set(shadow_rows["request_id"]) == everyone - lost
    details = [r.getMessage() for r in caplog.records if r.name.endswith("shadow")]
    assert len(details) == 1
    assert "could not score 6 of 24 rows" in details[0]
    assert "NaN" in details[0]


def test_the_challenger_scores_a_failing_call_in_parts_down_to_the_rows_that_fail(trained, train_rows, rows):
    model = without_imputer(train_rows)
    first = next(iter(rows[0]))
    frame = serve.frame_of(rows, serve.feature_schema(files.load_model(paths.MODEL, train.MODEL_TYPES)))
    frame.loc[[0, 7, 11], first] = np.nan
    parts = shadow.score_in_parts(lambda inputs: serve.answer_of(model, inputs), frame)
    assert sorted(part.start for part in parts if part.error is not None) == [0, 7, 11]
    scored = sorted((part.start, part.stop) for part in parts if part.answer is not None)
    covered = [row for start, stop in scored for row in range(start, stop)]
    assert covered == [row for row in range(len(rows)) if row not in (0, 7, 11)]
    for part in parts:
        if part.answer is not None:
            expected = serve.answer_of(model, frame.iloc[part.start : part.stop])
            pd.testing.assert_frame_equal(part.answer, expected)


def test_rows_beyond_a_full_queue_are_skipped_and_counted_never_waited_for(
    trained, challenger, rows, tmp_path, caplog, app
):
    log = log_of(tmp_path)
    service = app(log, challenger, QueueSettings(rows=3, wait_seconds=600))
    with TestClient(service) as client:
        for i, row in enumerate(rows[:5]):
            assert (
                client.post("/predict", json={"rows": [row]}, headers={"X-Request-ID": f"r{i}"}).status_code
                == 200
            )
        entry = client.get("/health").json()["shadow"]
    assert (entry["scored"], entry["skipped"], entry["error"]) == (0, 2, "queue full")
    final = service.state.shadow.status()
    assert (final["scored"], final["skipped"]) == (
        3,
        2,
    )  # the queued rows were scored when the service stopped
    logged = read_log(tmp_path)
    assert sorted(logged.query("model_version == 'v2-candidate'")["request_id"]) == ["r0", "r1", "r2"]
    assert len(logged.query("model_version == 'v1'")) == 5
    assert any("behind" in r.getMessage() for r in caplog.records if r.name.endswith("shadow"))


def test_a_slow_challenger_leaves_answers_alone_and_what_it_cannot_keep_up_with_is_skipped(
    trained, train_rows, rows, tmp_path, app
):
    """A forest of 1,500 stumps on one thread takes about 0.1 s a call, many requests' time: while it scores one
    row, the queue (one row) fills, and the rows after are skipped, counted, never waited for."""
    forest = RandomForestClassifier if TASK == "classification" else RandomForestRegressor
    slow = saved(
        forest(n_estimators=1500, max_depth=1, n_jobs=1, random_state=0).fit(*train_rows),
        tmp_path / "slow.skops",
    )
    singles = [({"rows": [row]}, f"s-{i}") for i, row in enumerate(rows * 3)]

    def each_alone(client) -> list[bytes]:
        return [client.post("/predict", json=b, headers={"X-Request-ID": i}).content for b, i in singles]

    with TestClient(serve.create_app()) as client:
        alone = each_alone(client)
    log = log_of(tmp_path)
    service = app(log, slow, QueueSettings(rows=1, wait_seconds=0.001))
    with TestClient(service) as client:
        assert each_alone(client) == alone
    entry = service.state.shadow.status()
    assert entry["skipped"] > 0
    assert entry["failed"] == 0
    assert entry["scored"] + entry["skipped"] == len(singles)
    logged = read_log(tmp_path).query("model_version == 'v2-candidate'")
    assert len(logged) == entry["scored"]


def test_score_with_a_challenger_writes_the_same_output_and_logs_the_challenger(
    trained, challenger, train_rows, tmp_path
):
    source = tmp_path / "new.parquet"
    pd.read_parquet(paths.TEST).drop(columns=[trained.data.target]).to_parquet(source)
    score.run(source, tmp_path / "alone.parquet", batch_rows=50, log_dir=str(tmp_path / "plain"))
    outcome = score.run(
        source,
        tmp_path / "shadowed.parquet",
        batch_rows=50,
        log_dir=str(tmp_path / "log"),
        challenger=challenger,
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "shadowed.parquet").drop(columns="request_id"),
        pd.read_parquet(tmp_path / "alone.parquet").drop(columns="request_id"),
    )
    logged = read_log(tmp_path)
    production, candidate = (logged[logged["model_version"] == v] for v in ("unreleased", "v2-candidate"))
    assert sorted(production["request_id"]) == sorted(candidate["request_id"])
    assert len(candidate) == outcome.scored
    pairs = production.merge(candidate, on="request_id", suffixes=("", "_shadow"))
    assert (pairs["time"] == pairs["time_shadow"]).all()
    expected = in_process(
        files.load_model(challenger.path, train.MODEL_TYPES), serve.json_records(pd.read_parquet(source))
    )
    by_row = candidate.assign(
        row=candidate["request_id"].str.rsplit("-", n=1).str[1].astype(int)
    ).sort_values("row")
    np.testing.assert_array_equal(by_row["prediction"].to_numpy(), expected["prediction"].to_numpy())
    assert (logged["score_ms"] > 0).all()
    assert outcome.shadow.scored == outcome.scored
    assert (
        score.report(source, tmp_path / "shadowed.parquet", outcome)
        .splitlines()[0]
        .endswith(
            f"; the challenger v2-candidate (sha256 {files.sha256(challenger.path)[:12]}) scored {outcome.scored:,} rows "
            "into the prediction log"
        )
    )


def test_score_with_a_failing_or_missing_challenger_scores_and_says_so(trained, train_rows, tmp_path):
    test = pd.read_parquet(paths.TEST).drop(columns=[trained.data.target])
    first = test.columns[0]
    test.loc[test.index[[3, 40]], first] = np.nan
    source = tmp_path / "new.csv"
    test.to_csv(source, index=False)
    failing = saved(without_imputer(train_rows), tmp_path / "no-imputer.skops")
    outcome = score.run(source, tmp_path / "out.csv", log_dir=str(tmp_path / "log"), challenger=failing)
    assert (outcome.scored, outcome.shadow.scored, outcome.shadow.failed) == (len(test), len(test) - 2, 2)
    line = score.report(source, tmp_path / "out.csv", outcome).splitlines()[0]
    assert "; the challenger v2-candidate" in line
    assert "it failed on 2 rows, left out (raised ValueError: row 4:" in line
    missing = score.run(
        source,
        tmp_path / "out.csv",
        log_dir=str(tmp_path / "log2"),
        challenger=Challenger(tmp_path / "gone.skops"),
    )
    assert missing.scored == len(test)
    assert (
        score.report(source, tmp_path / "out.csv", missing)
        .splitlines()[0]
        .endswith(
            f"; the challenger challenger scored nothing: not loaded: not found ({tmp_path / 'gone.skops'} not found: "
            "give the challenger's model file)"
        )
    )


def command(*arguments: str, **settings: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **settings}
    return subprocess.run(
        [sys.executable, "-m", "ml_gitops", *arguments], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["serve", "--log-dir", "off", "--shadow", "models/model.skops"],
            "error: --shadow writes the challenger's answers to the prediction log, and this service has none: "
            "give --log-dir, PREDICTION_LOG_DIR or monitoring.log_dir",
        ),
        (
            ["score", "in.csv", "out.csv", "--log-dir", "off", "--shadow", "models/model.skops"],
            "error: --shadow writes the challenger's answers to the prediction log, and it is off: give --log-dir or "
            "set monitoring.log_dir",
        ),
        (
            ["serve", "--shadow-version", "v2"],
            "error: --shadow-checksums and --shadow-version go with --shadow PATH: give the challenger's file",
        ),
    ],
)
def test_a_shadow_without_its_log_or_file_is_refused_with_one_line(trained, arguments, message):
    result = command(*arguments)
    assert result.returncode == 1
    assert result.stderr.strip() == message


@pytest.mark.any_task
def test_serve_with_workers_passes_the_challenger_to_each_process(trained, challenger, rows, tmp_path):
    """`serve --workers 2 --shadow ...`: each process loads the challenger and writes its rows (real command)."""
    from test_serve_workers import free_port, request, wait_for_health, wait_for_workers

    port, log_dir = free_port(), tmp_path / "log"
    arguments = ["serve", "--port", str(port), "--workers", "2", "--log-dir", str(log_dir)]
    arguments += ["--shadow", str(challenger.path), "--shadow-version", "v2-candidate"]
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_gitops", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SERVE_SHADOW_WAIT_MS": "1"},
    )
    try:
        line = process.stdout.readline()
        assert "in 2 processes" in line
        assert f"the challenger {challenger.path} (v2-candidate) scores in shadow" in line
        wait_for_workers(process.pid, 2)
        wait_for_health(port, process)
        assert request(port, "GET", "/health")[1]["shadow"]["state"] == "scoring"
        for i, row in enumerate(rows):
            assert request(port, "POST", "/predict", {"rows": [row]}, f"w-{i}")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    logged = pd.concat([pd.read_parquet(path) for path in log_dir.rglob("*.parquet")])
    assert sorted(logged.query("model_version == 'v2-candidate'")["request_id"]) == sorted(
        f"w-{i}" for i in range(len(rows))
    )


def test_serve_starts_and_answers_with_a_challenger_it_cannot_load(trained, rows, tmp_path):
    """The real command, one process: the start-up line and /health say why, the service answers."""
    from test_serve_workers import free_port, request, wait_for_health

    port, missing = free_port(), tmp_path / "gone.skops"
    arguments = ["serve", "--port", str(port), "--log-dir", str(tmp_path / "log"), "--shadow", str(missing)]
    process = subprocess.Popen(
        [sys.executable, "-m", "ml_gitops", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        line = process.stdout.readline()
        wait_for_health(port, process)
        entry = request(port, "GET", "/health")[1]["shadow"]
        status = request(port, "POST", "/predict", {"rows": rows[:2]})[0]
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
    assert line.endswith(
        f"; the challenger {missing} (challenger) is not loaded: not found, serving without it "
        "(details above)\n"
    )
    assert (entry["state"], entry["scored"]) == ("not loaded: not found", 0)
    assert status == 200
    assert f"{missing} not found: give the challenger's model file" in errors
