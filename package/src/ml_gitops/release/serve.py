"""Serve the model over HTTP: GET /health and POST /predict, with a request schema derived from the model.

The schema comes from the trained pipeline itself: every feature it was fitted on, numeric ones as numbers (or
null, which the pipeline imputes), categorical ones as one of the categories seen in training (as text, or as the
number code the data holds) and dates as ISO 8601 text. A request that
does not fit gets 422 with the field named. The model is loaded with skops' trusted-types check.

Every prediction gets an id, returned in `request_ids` (the caller's X-Request-ID when it sends one), and is
written to the prediction log (release/prediction_log.py) when the service runs with one: the monitor joins it
with the true outcomes that arrive later. `/health` shows the log's counts and the category of its last failure;
the failure's details go to the service's own log.

Settings, from environment variables read when the service starts (a bad value is refused with one line):
- SERVE_MAX_BODY_BYTES (default 1048576, 1 MiB): a longer request body gets 413, from its Content-Length or as it
  streams. A thousand rows of 30 numeric features are about 0.8 MB as JSON; raise it for wider rows.
- SERVE_MAX_REQUESTS (default 32): requests in progress at once (GET /health aside); one more gets 503 at once.
  The server also accepts at most 8 times as many connections, and answers 503 beyond.
- SERVE_BODY_TIMEOUT (seconds, default 10): a request body not fully arrived by then gets 408.
- SERVE_DOCS (on or off, default off): on serves the interactive docs (/docs, /redoc, /openapi.json).
- PREDICTION_LOG_DIR, PREDICTION_LOG_KEY, MODEL_VERSION: the prediction log's directory, the key of its hashed
  columns (release/prediction_log.py) and the model version it records.
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
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from .. import UserError, project
from ..core import files, paths
from .limits import Limits, LimitsMiddleware
from .prediction_log import PredictionLog, configured_columns, new_ids

MAX_ROWS = 1000
MAX_ERRORS = 20  # a 422 names at most this many problems, each in at most MAX_MESSAGE characters
MAX_MESSAGE = 200
REQUEST_ID = r"^[A-Za-z0-9._:-]+$"  # a caller's X-Request-ID: it becomes the prediction's id in the log
CONNECTIONS_PER_REQUEST = 8  # the server's connections at most, per request SERVE_MAX_REQUESTS allows


def create_app(
    model_path: Path = paths.MODEL,
    checksums: Path | None = None,
    log: PredictionLog | None = None,
    limits: Limits | None = None,
    docs: bool | None = None,
) -> FastAPI:
    """The service; `limits` and `docs` (the interactive docs served or not) default to the environment's."""
    limits = Limits.from_environment() if limits is None else limits
    docs = docs_wanted() if docs is None else docs
    model = files.load_model(model_path, project.pipeline("train").MODEL_TYPES, checksums)
    digest = files.sha256(model_path)
    features = feature_schema(model)
    Row = row_model(features)
    PredictRequest = create_model(
        "PredictRequest",
        rows=(list[Row], Field(min_length=1, max_length=MAX_ROWS)),
        __config__=ConfigDict(extra="forbid"),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if log is not None:
            log.close()  # write the predictions still in memory

    app = FastAPI(
        title=project.pipeline_package().partition(".")[0],
        description=__doc__,
        lifespan=lifespan,
        **({} if docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}),
    )
    app.add_middleware(LimitsMiddleware, limits=limits)

    @app.get("/health")
    def health() -> dict[str, Any]:
        logged = log.status.as_dict() if log is not None else "off"
        return {"status": "ok", "model_sha256": digest, "features": len(features), "prediction_log": logged}

    # Scored on the event loop, not in a thread pool: a one-row prediction is mostly Python under the GIL, so a
    # thread adds a hand-off to every request and no parallelism (more cores: more service processes).
    @app.post("/predict", response_class=JSONResponse)
    async def predict(
        request: PredictRequest,  # type: ignore[valid-type]
        x_request_id: Annotated[str | None, Header(max_length=64, pattern=REQUEST_ID)] = None,
    ) -> JSONResponse:
        frame = pd.DataFrame([row.model_dump(by_alias=True) for row in request.rows], columns=list(features))
        answer = answer_of(model, frame)
        ids = new_ids(len(frame), x_request_id)
        if log is not None:
            log.record(frame, answer, ids)
        return JSONResponse(response_body(answer, ids))

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


def answer_of(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The model's answer per row: `prediction`, and `proba_<class>` for a classifier (one pass: the predicted
    class is the most probable one)."""
    if not hasattr(model, "predict_proba"):
        return pd.DataFrame({"prediction": model.predict(frame)})
    probabilities = model.predict_proba(frame)
    columns = {f"proba_{label}": probabilities[:, i] for i, label in enumerate(model.classes_)}
    return pd.DataFrame({"prediction": model.classes_[probabilities.argmax(axis=1)], **columns})


def response_body(answer: pd.DataFrame, ids: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"request_ids": ids, "predictions": answer["prediction"].tolist()}
    columns = [column for column in answer.columns if column.startswith("proba_")]
    if columns:
        labels = [column.removeprefix("proba_") for column in columns]
        rows = answer[columns].to_numpy().tolist()
        body["probabilities"] = [dict(zip(labels, row, strict=True)) for row in rows]
    return body


def short_errors(errors: list[dict]) -> list[dict]:
    shown = [
        {"loc": list(error["loc"]), "type": error["type"], "msg": _shorten(str(error["msg"]))}
        for error in errors[:MAX_ERRORS]
    ]
    if len(errors) > MAX_ERRORS:
        shown.append(
            {"loc": ["body"], "type": "too_many_errors", "msg": f"and {len(errors) - MAX_ERRORS} more"}
        )
    return shown


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
    """One request row: every feature required (null allowed: the pipeline imputes it), nothing else; numbers are
    finite (1e309 parses as infinity, which no model can score)."""
    fields = {
        _identifier(name, index): (
            kind | None,
            Field(alias=name, allow_inf_nan=False) if kind is float else Field(alias=name),
        )
        for index, (name, kind) in enumerate(features.items())
    }
    return create_model("Row", __config__=ConfigDict(extra="forbid", populate_by_name=False), **fields)


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
    frame = pd.DataFrame([row.model_dump(by_alias=True) for row in validated], columns=list(sample.columns))
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


def run(host: str, port: int, checksums: Path | None, log_dir: str | None) -> None:
    import uvicorn

    limits = Limits.from_environment()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = prediction_log(log_dir, files.sha256(paths.MODEL))
    app = create_app(checksums=checksums, log=log, limits=limits)
    where = f"writing the prediction log to {log.directory}" if log else "without a prediction log"
    print(f"serving {paths.MODEL} on http://{host}:{port}, {where}", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        limit_concurrency=CONNECTIONS_PER_REQUEST * limits.max_requests,
        timeout_keep_alive=5,
    )


def prediction_log(log_dir: str | None, digest: str) -> PredictionLog | None:
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
    version = os.environ.get("MODEL_VERSION", "unreleased")
    return PredictionLog(directory, model_version=version, model_sha256=digest, **tuning)
