"""Serve the model over HTTP: GET /health and POST /predict, with a request schema derived from the model.

The schema comes from the trained pipeline itself: every feature it was fitted on, numeric ones as numbers from
-1e19 to 1e19 (or null, which the pipeline imputes), categorical ones as one of the categories seen in training (as
text, or as the number code the data holds) and dates as ISO 8601 text (never a number). A request that does not
fit gets 422 with the field named, and so does one whose rows the model itself refuses (it raises ValueError). The
model is loaded with skops' trusted-types check.

Concurrent requests are scored together, in one call of the model (release/batching.py: adaptive micro-batching),
on a thread of its own that uses one core; each caller gets its own rows' answers and ids, and a request whose rows
make the model fail gets its error (422 or 500) alone. For more cores, run one service process per core (`serve
--workers N` or `--workers auto`): each process writes its own prediction log files, under names that never collide.

Every prediction gets an id, returned in `request_ids` (the caller's X-Request-ID when it sends one), and is
written to the prediction log (release/prediction_log.py) when the service runs with one: the monitor joins it
with the true outcomes that arrive later. `/health` shows the log's counts and the category of its last failure;
the failure's details go to the service's own log.

A challenger can score the same rows in shadow (`serve --shadow PATH`, release/shadow.py): off the request path,
after the production model's answers are handed back, its answers written to the prediction log under its own
version and digest. The answers the callers get are the same with or without it; /health's `shadow` entry gives
its state, counts and the category of its last failure ("off" without a challenger). To stop it, restart the
service without --shadow: what it has scored is written first.

A/B, off by default (release/ab.py): with `--ab-share S` (or SERVE_AB_SHARE) above 0 and a challenger, a request
that sends a key of its own in X-AB-Key is answered by the challenger when the key's SHA-256 falls in the share
(sticky per key); production answers a request without a key, and any row the challenger cannot answer. /health's
`ab` entry counts each arm's rows and the fallbacks; the log's rows carry the arm.

Settings, from environment variables read when the service starts (a bad value is refused with one line):
- SERVE_MAX_BODY_BYTES (default 1048576, 1 MiB): a longer request body gets 413, from its Content-Length or as it
  streams. A thousand rows of 30 numeric features are about 0.8 MB as JSON; raise it for wider rows.
- SERVE_MAX_REQUESTS (default 32): requests in progress at once (GET /health aside); one more gets 503 at once.
  The server also accepts at most 8 times as many connections, and answers 503 beyond.
- SERVE_BODY_TIMEOUT (seconds, default 10): a request body not fully arrived by then gets 408.
- SERVE_BATCH_ROWS (default 256): rows scored in one call at most; 1 scores each request alone (no batching). A
  request with more rows is scored alone.
- SERVE_BATCH_WAIT_MS (milliseconds, default 10): the longest a request waits for others to join its batch. It
  waits only for requests worth it (still sending their body, or coming closer together than a model call takes):
  a lone request, or requests one after another, are scored at once.
- SERVE_DOCS (on or off, default off): on serves the interactive docs (/docs, /redoc, /openapi.json).
- PREDICTION_LOG_DIR, PREDICTION_LOG_KEY, MODEL_VERSION: the prediction log's directory, the key of its hashed
  columns (release/prediction_log.py) and the model version it records.
- SERVE_SHADOW_QUEUE_ROWS (default 10000): rows waiting for the challenger at most; rows offered beyond are
  skipped and counted (a challenger slower than the traffic scores a part of it, never delaying an answer).
- SERVE_SHADOW_WAIT_MS (milliseconds, default 500): how long the challenger gathers rows before it scores them
  in one call (at most 1024 rows a call): fewer, larger calls leave the cores to the production model.
- SERVE_AB_SHARE (0 to 1, default 0: off): the share of keyed requests the challenger answers (`--ab-share`).
"""

import datetime
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from .. import UserError, project
from ..core import files, paths
from . import ab
from .batching import Batcher, BatchSettings
from .limits import Limits, LimitsMiddleware, Traffic
from .prediction_log import PredictionLog, configured_columns, new_ids
from .shadow import Challenger, Shadow, pass_on

MAX_ROWS = 1000
MAX_ERRORS = 20  # a 422 names at most this many problems, each in at most MAX_MESSAGE characters
MAX_MESSAGE = 200
# The largest magnitude a number in a request may have. It is above every 64-bit integer (9.2e18: ids, nanosecond
# timestamps, amounts in cents), so no value an integer column can hold is refused, and far below where a model
# breaks: float32's largest number (3.4e38, scikit-learn's forests read features as float32) and float64's (1.8e308,
# which a scaler's (x - mean) / scale overflows past, and scikit-learn then refuses the row).
MAX_MAGNITUDE = 1e19
OUT_OF_RANGE = f"Input should be a number from {-MAX_MAGNITUDE:g} to {MAX_MAGNITUDE:g}: no feature is larger"
ISO_DATE = re.compile(r"\d{4}-\d{2}")  # how a date in a request starts: ISO 8601 text, as training reads it
REQUEST_ID = r"^[A-Za-z0-9._:-]+$"  # a caller's X-Request-ID: it becomes the prediction's id in the log
CONNECTIONS_PER_REQUEST = 8  # the server's connections at most, per request SERVE_MAX_REQUESTS allows
# --checksums, as `serve --workers N` passes it to its processes
CHECKSUMS_VARIABLE = "ML_GITOPS_SERVE_CHECKSUMS"
LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scoring:
    """One request's validated rows (as the model reads them) and their ids."""

    rows: list[dict[str, Any]]
    ids: list[str]
    arm: str | None = None  # with A/B on: the request's arm (release/ab.py)


class RowsRefused(Exception):
    """The model raised ValueError on a request's rows (a value it cannot read): the caller's fault, a 422."""

    def response(self, scoring: Scoring) -> JSONResponse:
        """422 with one short message (not the model's, which can echo a value); one line in the service's log."""
        kind = type(self.__cause__).__name__
        LOGGER.warning(
            "predict: the model refused %d rows (ids %s ...): %s", len(scoring.ids), scoring.ids[0], kind
        )
        message = f"The model cannot score these rows: it refused a value in them ({kind})"
        return JSONResponse(
            status_code=422,
            content={"detail": [{"loc": ["body", "rows"], "type": "model_refused", "msg": message}]},
        )


def create_app(
    model_path: Path = paths.MODEL,
    checksums: Path | None = None,
    log: PredictionLog | None = None,
    limits: Limits | None = None,
    docs: bool | None = None,
    batching: BatchSettings | None = None,
    challenger: Challenger | None = None,
    ab_share: float | None = None,
) -> FastAPI:
    """The service, with `challenger` in shadow when given, and answering `ab_share` of the keyed requests (A/B);
    `limits`, `docs` (the interactive docs served or not), `batching` and `ab_share` default to the environment's.
    The app's state holds the shadow (`app.state.shadow`, or None)."""
    share = ab.share_from_environment() if ab_share is None else ab_share
    limits = Limits.from_environment() if limits is None else limits
    docs = docs_wanted() if docs is None else docs
    batching = BatchSettings.from_environment() if batching is None else batching
    model = files.load_model(model_path, project.pipeline("train").MODEL_TYPES, checksums)
    digest = files.sha256(model_path)
    features = feature_schema(model)
    if log is not None:  # before the challenger's log copies its columns: a feature named like a log column
        log.for_features(features)
    shadow = (
        Shadow(challenger, model, list(features), digest, answer_of, log) if challenger is not None else None
    )
    experiment = ab.Experiment(share, shadow) if share > 0 else None
    Row = row_model(features)
    PredictRequest = create_model(
        "PredictRequest",
        rows=(list[Row], Field(min_length=1, max_length=MAX_ROWS)),
        __config__=ConfigDict(extra="forbid"),
    )

    traffic = Traffic()
    batcher = Batcher(
        partial(score_requests, model, features, log, shadow, experiment=experiment),
        lambda scoring: len(scoring.ids),
        batching,
        arriving=lambda: traffic.reading,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        batcher.close()
        if shadow is not None:
            shadow.close()  # scores what is queued and writes it
        if log is not None:
            log.close()  # write the predictions still in memory

    app = FastAPI(
        title=project.pipeline_package().partition(".")[0],
        description=__doc__,
        lifespan=lifespan,
        **({} if docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}),
    )
    app.add_middleware(LimitsMiddleware, limits=limits, traffic=traffic)
    app.state.shadow = shadow

    @app.get("/health")
    def health() -> dict[str, Any]:
        logged = log.status.as_dict() if log is not None else "off"
        return {
            "status": "ok",
            "model_sha256": digest,
            "features": len(features),
            "prediction_log": logged,
            "batching": batcher.counts.as_dict(),
            "shadow": shadow.status() if shadow is not None else "off",
            **({"ab": experiment.counts.as_dict()} if experiment is not None else {}),
        }

    # Validated on the event loop, scored in batches on the model's own thread (release/batching.py).
    @app.post("/predict", response_class=JSONResponse)
    async def predict(
        request: PredictRequest,  # type: ignore[valid-type]
        x_request_id: Annotated[str | None, Header(max_length=64, pattern=REQUEST_ID)] = None,
        x_ab_key: Annotated[str | None, Header(max_length=ab.MAX_KEY_CHARS)] = None,
    ) -> JSONResponse:
        rows = [row.model_dump(by_alias=True) for row in request.rows]
        arm = ab.arm(x_ab_key, share) if experiment is not None else None
        scoring = Scoring(rows, new_ids(len(rows), x_request_id), arm)
        try:
            return await batcher.answer(scoring)
        except RowsRefused as refused:
            return refused.response(scoring)

    @app.exception_handler(RequestValidationError)
    def refuse(_: Request, error: RequestValidationError) -> JSONResponse:
        """422 naming each field and what is wrong, short: never the input echoed, nor every allowed category."""
        return JSONResponse(status_code=422, content={"detail": short_errors(error.errors())})

    return app


def docs_wanted(environ=os.environ) -> bool:
    """SERVE_DOCS: on serves /docs, /redoc and /openapi.json; off or unset does not."""
    value = environ.get("SERVE_DOCS", "").strip().lower()
    if value not in ("", "on", "off"):
        raise UserError(f"SERVE_DOCS is {value!r}: give on or off (off, the default, serves no /docs)")
    return value == "on"


def score_requests(
    model,
    features: dict[str, Any],
    log: PredictionLog | None,
    shadow: Shadow | None,
    requests: list[Scoring],
    experiment: ab.Experiment | None = None,
) -> list[JSONResponse]:
    """Requests scored in one call of the model, one answer each; once the answers are ready, their rows go to
    the prediction log (with the call's milliseconds) and are offered to the challenger in shadow. With A/B on,
    the challenger answers the rows of its arm it can (release/ab.py)."""
    frame = frame_of([row for request in requests for row in request.rows], features)
    started = time.perf_counter()
    try:
        answer = answer_of(model, frame)
    except ValueError as error:  # in a batch, the batcher then scores each request alone to find whose it is
        raise RowsRefused() from error
    score_ms = (time.perf_counter() - started) * 1000
    groups = [request.ids for request in requests]
    if experiment is not None:
        arms = [request.arm for request in requests for _ in request.ids]
        served = experiment.serve(frame, answer, arms)
        responses = [JSONResponse(body) for body in response_bodies(served.answer, groups)]
        ids = [row_id for group in groups for row_id in group]
        log_served(frame, served, ids, score_ms, log, shadow)
        return responses
    responses = [JSONResponse(body) for body in response_bodies(answer, groups)]
    if log is not None or shadow is not None:
        ids, now = [row_id for group in groups for row_id in group], pd.Timestamp.now(tz="UTC")
        if log is not None:
            log.record(frame, answer, ids, score_ms, now)
        if shadow is not None:
            shadow.offer(frame, ids, now)
    return responses


def log_served(
    frame: pd.DataFrame,
    served: ab.Served,
    ids: list[str],
    score_ms: float,
    log: PredictionLog | None,
    shadow: Shadow | None,
) -> None:
    """With A/B on: each row logged under the model that answered it, with its arm; the rows production answered
    outside the challenger's arm offered to the shadow."""
    now = pd.Timestamp.now(tz="UTC")
    by_challenger = np.asarray(served.by_challenger, dtype=bool)
    mine = np.flatnonzero(~by_challenger)
    if log is not None and len(mine):
        whole = len(mine) == len(ids)
        log.record(
            frame if whole else frame.iloc[mine],
            served.answer if whole else served.answer.iloc[mine],
            ids if whole else [ids[row] for row in mine],
            score_ms,
            now,
            served.arms if whole else [served.arms[row] for row in mine],
        )
    if shadow is None:
        return
    theirs = np.flatnonzero(by_challenger)
    if len(theirs) and served.challenger_answer is not None:
        rows = [ids[row] for row in theirs]
        shadow.record_served(
            frame.iloc[theirs],
            served.challenger_answer,
            rows,
            served.challenger_ms,
            now,
            [ab.CHALLENGER] * len(rows),
        )
    outside = np.flatnonzero([arm != ab.CHALLENGER for arm in served.arms])
    if len(outside):
        shadow.offer(
            frame.iloc[outside] if len(outside) < len(ids) else frame, [ids[row] for row in outside], now
        )


def frame_of(rows: list[dict[str, Any]], features: dict[str, Any]) -> pd.DataFrame:
    """Validated rows as the model reads them: numbers as floats (null as NaN) whatever rows they are scored with,
    all in one block (a frame of dicts, then cast, costs ten times more; a block per column slows the model)."""
    numeric = [name for name, kind in features.items() if kind is float]
    values = np.array([[row[name] for name in numeric] for row in rows], dtype=float).reshape(len(rows), -1)
    frame = pd.DataFrame(values, columns=numeric)
    if len(numeric) == len(features):
        return frame
    others = {name: [row[name] for row in rows] for name in features if name not in set(numeric)}
    return frame.assign(**others)[list(features)]


def answer_of(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's answer per row: `prediction`, and `proba_<class>` for a classifier (one pass: the predicted
    class is the most probable one)."""
    if not hasattr(model, "predict_proba"):
        return pd.DataFrame({"prediction": model.predict(frame)})
    probabilities = model.predict_proba(frame)
    columns = {f"proba_{label}": probabilities[:, i] for i, label in enumerate(model.classes_)}
    answer = {"prediction": model.classes_[probabilities.argmax(axis=1)], **columns}
    return pd.DataFrame(answer, copy=False)


def response_bodies(answer: pd.DataFrame, groups: list[list[str]]) -> list[dict[str, Any]]:
    """One body per request, whose ids are `groups` in the order of the answer's rows."""
    predictions = answer["prediction"].tolist()
    columns = [column for column in answer.columns if column.startswith("proba_")]
    labels = [column.removeprefix("proba_") for column in columns]
    columnwise = [answer[column].to_numpy().tolist() for column in columns]  # no sub-frame: 0.1 ms a request
    probabilities = [dict(zip(labels, row, strict=True)) for row in zip(*columnwise, strict=True)]
    bodies, start = [], 0
    for ids in groups:
        stop = start + len(ids)
        body: dict[str, Any] = {"request_ids": ids, "predictions": predictions[start:stop]}
        if columns:
            body["probabilities"] = probabilities[start:stop]
        bodies.append(body)
        start = stop
    return bodies


def short_errors(errors: list[dict]) -> list[dict]:
    shown = [
        {"loc": list(error["loc"]), "type": error["type"], "msg": _message(error)}
        for error in errors[:MAX_ERRORS]
    ]
    if len(errors) > MAX_ERRORS:
        shown.append(
            {"loc": ["body"], "type": "too_many_errors", "msg": f"and {len(errors) - MAX_ERRORS} more"}
        )
    return shown


def _message(error: dict) -> str:
    """The error's message, short; for a number beyond MAX_MAGNITUDE (the schema's only bounds), the range."""
    if error["type"] in ("less_than_equal", "greater_than_equal"):
        return OUT_OF_RANGE
    return _shorten(str(error["msg"]))


def _shorten(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def feature_schema(model) -> dict[str, Any]:
    """Feature name -> Python type the request must carry, read from the fitted preprocessing step: a number, one
    of the categories seen in training (given as text or as a number code), or a date (ISO 8601; any date, later
    ones too)."""
    preprocess = model.named_steps["preprocess"]
    schema: dict[str, Any] = {name: float for name in preprocess.feature_names_in_}
    for name, transformer, columns in preprocess.transformers_:
        if name == "categorical" and len(columns):
            encoder = transformer.steps[-1][1]  # one-hot or ordinal: both know the categories seen
            for column, categories in zip(columns, encoder.categories_, strict=True):
                allowed = Literal[tuple(str(c) for c in categories if not pd.isna(c))]
                schema[column] = Annotated[allowed, BeforeValidator(_category)]
        if name == "datetime":
            schema |= dict.fromkeys(columns, datetime.datetime)
    return schema


def _category(value: object) -> object:
    return None if value is None else _category_text()(value)


@cache
def _category_text():
    """The project's category_text (one import lookup, not one per value)."""
    return project.pipeline("features").category_text


def row_model(features: dict[str, Any]) -> type[BaseModel]:
    """One request row: every feature required (null allowed: the pipeline imputes it), nothing else."""
    fields = {
        _identifier(name, index): _field(name, kind) for index, (name, kind) in enumerate(features.items())
    }
    return create_model("Row", __config__=ConfigDict(extra="forbid", populate_by_name=False), **fields)


def _field(name: str, kind: Any) -> tuple[Any, Any]:
    """A feature's type and constraints: numbers finite (1e309 parses as infinity, which no model can score) and
    within MAX_MAGNITUDE; dates ISO 8601 text."""
    if kind is float:
        return float | None, Field(alias=name, allow_inf_nan=False, ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)
    if kind is datetime.datetime:
        return Annotated[kind, BeforeValidator(_iso_date)] | None, Field(alias=name)
    return kind | None, Field(alias=name)


def _iso_date(value: object) -> object:
    """A date as training and `score` read one: ISO 8601 text, never a number (pydantic would read 1700000000, or
    the text "1700000000", as seconds since 1970); a datetime from Python callers (smoke) as it is."""
    if isinstance(value, datetime.datetime):
        return value
    if not (isinstance(value, str) and ISO_DATE.match(value)):
        raise PydanticCustomError(
            "iso_date", "Input should be a date as ISO 8601 text: YYYY-MM-DD, optionally with a time"
        )
    return value


def _identifier(name: str, index: int) -> str:
    return f"f{index}_" + re.sub(r"\W", "_", str(name))


def smoke(target: str, checksums: Path | None = None, rows: int = 20) -> str:
    """Load the model as the service does, push sample test rows through the request schema, score them."""
    model = files.load_model(paths.MODEL, project.pipeline("train").MODEL_TYPES, checksums)
    Row = row_model(feature_schema(model))
    sample = sample_rows(target, rows)
    try:
        validated = [Row.model_validate(record) for record in sample.to_dict(orient="records")]
    except ValidationError as error:
        raise UserError(
            f"smoke test: a test row does not fit the request schema: {error.errors()[0]['msg']}"
        ) from None
    frame = frame_of([row.model_dump(by_alias=True) for row in validated], feature_schema(model))
    check_predictions(model.predict(frame), len(sample))
    return (
        f"Smoke test passed: loaded `{paths.MODEL}` (sha256 `{files.sha256(paths.MODEL)[:12]}`) with trusted types "
        f"only, validated {len(sample)} test rows against the {len(frame.columns)}-feature request schema and scored them."
    )


def smoke_http(target: str, url: str, wait: float, rows: int = 20) -> str:
    """Smoke-test a running service: it serves this model (same sha256) and scores sample test rows."""
    url = url.rstrip("/")
    health = wait_for_health(url, wait)
    digest = files.sha256(paths.MODEL)
    if health.get("model_sha256") != digest:
        raise UserError(
            f"smoke test: {url} serves a model with sha256 {health.get('model_sha256')}, not {paths.MODEL}: "
            "rebuild the image after make repro"
        )
    sample = sample_rows(target, rows)
    records = json_records(sample)
    status, answer = http_json(f"{url}/predict", {"rows": records})
    if status != 200:
        raise UserError(f"smoke test: POST {url}/predict answered {status}: {answer}")
    check_predictions(answer.get("predictions", []), len(sample))
    return (
        f"Smoke test passed: the service at {url} is healthy, serves `{paths.MODEL}` (sha256 "
        f"`{digest[:12]}`) and answered POST /predict with one prediction for each of {len(sample)} test rows."
    )


def sample_rows(target: str, rows: int) -> pd.DataFrame:
    return pd.read_parquet(paths.TEST).drop(columns=[target]).head(rows)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON values: missing as null, dates as ISO 8601 text."""
    dates = {
        column: frame[column].map(pd.Timestamp.isoformat, na_action="ignore")
        for column in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[column])
    }
    frame = frame.assign(**dates).astype(object)
    return frame.where(frame.notna(), None).to_dict(orient="records")


def check_predictions(predictions, expected: int) -> None:
    values = np.asarray(predictions)
    if len(values) != expected or (values.dtype.kind == "f" and not np.isfinite(values).all()):
        raise UserError("smoke test: the model did not return one finite prediction per row")


def wait_for_health(url: str, wait: float) -> dict[str, Any]:
    """GET /health until it answers 200, for at most `wait` seconds (a container takes a moment to start)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status, answer = http_json(f"{url}/health")
            if status == 200:
                return answer
            problem = f"answered {status}"
        except OSError as error:
            problem = f"is unreachable ({error})"
        if time.monotonic() >= deadline:
            raise UserError(f"smoke test: {url}/health {problem} after {wait:g} s: is the service running?")
        time.sleep(0.5)


def http_json(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:500]


def run(
    host: str,
    port: int,
    checksums: Path | None,
    log_dir: str | None,
    workers: int = 1,
    challenger: Challenger | None = None,
    ab_share: float | None = None,
) -> None:
    """Serve on host:port, in one process or in `workers` processes sharing the port (uvicorn's supervisor
    restarts one that dies), with `challenger` in shadow when given. Every setting is checked and the models
    loaded before any process starts."""
    import uvicorn

    limits = Limits.from_environment()
    share = ab.share_from_environment() if ab_share is None else ab_share
    ab.require_a_challenger(share, challenger)
    configure_logging()
    settings = log_settings(log_dir)  # refuses a log that hashes without its key
    if challenger is not None and not settings:
        raise UserError(
            "--shadow writes the challenger's answers to the prediction log, and this service has none: give "
            "--log-dir, PREDICTION_LOG_DIR or monitoring.log_dir"
        )
    log = (
        PredictionLog(**settings, model_sha256=files.sha256(paths.MODEL))
        if settings and workers == 1
        else None
    )
    app = create_app(checksums=checksums, log=log, limits=limits, challenger=challenger, ab_share=share)
    if workers > 1:  # each process builds its own app and log from the environment
        os.environ[ab.SHARE_VARIABLE] = str(share)
        os.environ[CHECKSUMS_VARIABLE] = str(checksums or "")
        os.environ["PREDICTION_LOG_DIR"] = settings["directory"] if settings else "off"
        pass_on(challenger, os.environ)
    where = (
        f"writing the prediction log to {settings['directory']}" if settings else "without a prediction log"
    )
    processes = "one process" if workers == 1 else f"{workers} processes"
    print(
        f"serving {paths.MODEL} on http://{host}:{port} in {processes}, {where}{shadowing(app)}"
        + (
            f"; A/B: the challenger answers {share:.1%} of the keyed requests ({ab.KEY_HEADER})"
            if share
            else ""
        ),
        flush=True,
    )
    uvicorn.run(
        app if workers == 1 else f"{__name__}:app_from_environment",
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=False,  # a line per request costs about 5% of a one-row answer; the prediction log has each
        limit_concurrency=CONNECTIONS_PER_REQUEST * limits.max_requests,
        timeout_keep_alive=5,
    )


def app_from_environment() -> FastAPI:
    """The app of one of the processes of `serve --workers N` (uvicorn's factory), with `run`'s options, which it
    passes in the environment. Each process writes its own prediction log files."""
    configure_logging()
    settings = log_settings(None)
    digest = files.sha256(paths.MODEL)
    log = PredictionLog(**settings, model_sha256=digest) if settings else None
    checksums = os.environ.get(CHECKSUMS_VARIABLE)
    return create_app(
        checksums=Path(checksums) if checksums else None, log=log, challenger=Challenger.from_environment()
    )


def shadowing(app: FastAPI) -> str:
    """What the start-up line says of the challenger: none, scoring in shadow, or not loaded and why."""
    shadow: Shadow | None = app.state.shadow
    if shadow is None:
        return ""
    name = f"the challenger {shadow.challenger.path} ({shadow.challenger.version})"
    if shadow.loaded:
        return f"; {name} scores in shadow"
    return f"; {name} is {shadow.state}, serving without it (details above)"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def prediction_log(log_dir: str | None, digest: str) -> PredictionLog | None:
    """The service's log (see `log_settings`), or None."""
    settings = log_settings(log_dir)
    return PredictionLog(**settings, model_sha256=digest) if settings else None


def log_settings(log_dir: str | None) -> dict[str, Any] | None:
    """The service's log: to --log-dir, else PREDICTION_LOG_DIR, else params.yaml's monitoring.log_dir ("off":
    none). Its other settings come from params.yaml when the service has one (the image does)."""
    from ..core import config

    settings = config.load().monitoring if paths.PARAMS.exists() else None
    directory = log_dir or os.environ.get("PREDICTION_LOG_DIR") or (settings.log_dir if settings else "")
    if directory in ("", "off"):
        return None
    tuning = (
        {
            "batch_rows": settings.batch_rows,
            "flush_seconds": settings.flush_seconds,
            "columns": configured_columns(settings),  # refuses hashing without its key
        }
        if settings
        else {}
    )
    return {"directory": directory, "model_version": os.environ.get("MODEL_VERSION", "unreleased"), **tuning}
