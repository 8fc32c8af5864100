"""The prediction log: every prediction the service or `score` makes, written as Parquet files for the monitor.

Each row holds the prediction's id (returned to the caller, who sends it back with the true outcome), the time,
the model's version and digest, the validated features and the answer (`prediction`, and `proba_<class>` for a
classifier): the columns of reports/predictions.parquet, so the monitor scores a labelled log like a test set.
Then comes `score_ms`, the wall milliseconds of the model call that scored the batch the row was in, and, only
with A/B on (release/ab.py), `arm`: the arm of the request (production, challenger, or null without a key). A challenger
scoring in shadow (release/shadow.py) writes rows of its own: its version and digest, its answer and its call's
`score_ms`, under the same id, time and features as the production model's row.

Requests never wait for storage. Rows gather in memory and a background thread writes them, one Parquet file per
batch, to `monitoring.log_dir` (a directory, or any fsspec URL such as s3://bucket/logs), under `date=YYYY-MM-DD/`:
a file holds at most `monitoring.batch_rows` rows and `monitoring.flush_seconds` of predictions, so a crash loses
at most that (plus, only while the sink is slower than the traffic, the QUEUED_BATCHES batches waiting for it).
When the sink fails, the rows of that batch are dropped and counted; /health shows the counts and a category of
the last failure (never its text, which can name a bucket, an account or a path), the service's own log the
details; requests are still answered.

Personal data: columns under `monitoring.exclude` are not written; those under `monitoring.hash` are written as
an HMAC-SHA256 (its first 128 bits, in hex) keyed with the PREDICTION_LOG_KEY environment variable, a secret of at
least 32 bytes (`openssl rand -hex 32`). Without the key nobody can compute the hash of a guess, but whoever holds
it can: a column with few distinct values (a postcode, an age, a yes/no) is still told apart by its hashes'
frequencies, so exclude such columns rather than hash them. `serve` and `score` refuse to write a log that hashes
without a valid key, and refuse the old PREDICTION_LOG_SALT.

`write_predictions` is the one function that writes log rows: the service's writer thread and `score` both call
it, so both drop and hash the same columns.

Told the model's features (`Columns.for_features`, `PredictionLog.for_features`), the log refuses, before any
request, a feature named like a column of its own (`time`, `prediction`, `proba_1`, or `date`, the name of its
folders; each write refuses it too), and writes each feature with its type even in a batch whose rows all miss it
(else Arrow's null type, into which no other file's values cast).
"""

import datetime
import hashlib
import hmac
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import UserError

if TYPE_CHECKING:
    import pyarrow as pa

LOGGER = logging.getLogger(__name__)
QUEUED_BATCHES = 4  # batches waiting for the sink at most; beyond that, new rows are dropped and counted
KEY_VARIABLE = "PREDICTION_LOG_KEY"
OLD_SALT_VARIABLE = "PREDICTION_LOG_SALT"
MIN_KEY_BYTES = 32
NEW_KEY = "openssl rand -hex 32"
# the log's own columns, and `date`, which its date=YYYY-MM-DD/ folders add when it is read; answers add proba_<class>
LOG_COLUMNS = ("request_id", "time", "model_version", "model_sha256", "score_ms", "arm", "prediction", "date")
PROBABILITY = "proba_"
NUMBER, DATE, TEXT = "number", "date", "text"  # a feature's kind, as the request schema gives it


@dataclass(frozen=True)
class Columns:
    """What the log writes of the features: all but `exclude`, those in `hashed` as a keyed hash."""

    exclude: tuple[str, ...] = ()
    hashed: tuple[str, ...] = ()
    key: bytes = field(default=b"", repr=False)
    kinds: Mapping[str, str] = field(default_factory=dict)  # each written feature's NUMBER, DATE or TEXT

    def __post_init__(self) -> None:
        if self.hashed and len(self.key) < MIN_KEY_BYTES:
            raise UserError(
                f"{KEY_VARIABLE} is {len(self.key)} bytes: monitoring.hash needs a key of at least "
                f"{MIN_KEY_BYTES} bytes ({NEW_KEY} gives one)"
            )

    @classmethod
    def from_environment(
        cls, exclude: Sequence[str], hashed: Sequence[str], environ: Mapping[str, str] = os.environ
    ) -> "Columns":
        """The columns of monitoring.exclude and monitoring.hash, with the key from PREDICTION_LOG_KEY; refuse
        hashing without the key, or with the old unkeyed PREDICTION_LOG_SALT still set."""
        if hashed and environ.get(OLD_SALT_VARIABLE):
            raise UserError(
                f"{OLD_SALT_VARIABLE} is no longer read: monitoring.hash is now a keyed hash; set {KEY_VARIABLE} "
                f"to a random secret of at least {MIN_KEY_BYTES} bytes ({NEW_KEY}) and unset {OLD_SALT_VARIABLE}"
            )
        key = environ.get(KEY_VARIABLE, "")
        if hashed and not key:
            raise UserError(
                f"monitoring.hash names {', '.join(map(repr, hashed))} but {KEY_VARIABLE} is not set: set it to a "
                f"random secret of at least {MIN_KEY_BYTES} bytes ({NEW_KEY}), kept out of Git"
            )
        return cls(tuple(exclude), tuple(hashed), key.encode())

    def for_features(self, schema: Mapping[str, Any]) -> "Columns":
        """These columns for a model's features (name -> the type a request carries: serve.feature_schema):
        refuse a feature named like a log column, and keep each written one's kind (a hashed one is text)."""
        refuse_log_column_names(schema, self)
        kinds = {
            name: TEXT if name in self.hashed else _kind(kind)
            for name, kind in schema.items()
            if name not in self.exclude
        }
        return replace(self, kinds=kinds)

    def apply(self, features: pd.DataFrame) -> pd.DataFrame:
        kept = features.drop(columns=[column for column in self.exclude if column in features.columns])
        return kept.assign(
            **{
                column: kept[column].map(self._hash, na_action="ignore")
                for column in self.hashed
                if column in kept.columns
            }
        )

    def _hash(self, value: object) -> str:
        return hmac.new(self.key, str(value).encode(), hashlib.sha256).hexdigest()[:32]


def _kind(kind: Any) -> str:
    return NUMBER if kind is float else DATE if kind is datetime.datetime else TEXT


def refuse_log_column_names(features: Iterable[str], columns: Columns = Columns()) -> None:
    """Refuse the logged features (those `columns` does not exclude) named like a column of the log: their rows
    could not be written (time, request_id), or the monitor would read them as the answer (prediction, proba_<class>)
    or as the log's folders (date)."""
    clashing = [
        str(name)
        for name in features
        if name not in columns.exclude and (name in LOG_COLUMNS or str(name).startswith(PROBABILITY))
    ]
    if clashing:
        named = ", ".join(f"'{name}'" for name in clashing[:5])
        clash = (
            f"columns {named} have the names of prediction-log columns"
            if len(clashing) > 1
            else f"column {named} has the name of a prediction-log column"
        )
        raise UserError(
            f"feature {clash} ({', '.join(LOG_COLUMNS)}, {PROBABILITY}<class>): rename it in the data and "
            "retrain, or leave it out of the log (monitoring.exclude)"
        )


def configured_columns(monitoring=None) -> Columns:
    """The columns params.yaml's monitoring section (a MonitoringConfig; read here when not given, none without
    params.yaml) leaves out and hashes, keyed from the environment: what `serve` and `score` both log."""
    from ..core import config, paths

    if monitoring is None and paths.PARAMS.exists():
        monitoring = config.load().monitoring
    if monitoring is None:
        return Columns()
    return Columns.from_environment(monitoring.exclude, monitoring.hash)


@dataclass
class Status:
    """What /health says of the log: counts, and the category of the last failure (its details are logged)."""

    written: int = 0
    dropped: int = 0
    error: str = ""
    files: int = 0
    failed_writes: int = 0

    def as_dict(self) -> dict:
        return {
            "written": self.written,
            "dropped": self.dropped,
            "files": self.files,
            "failed_writes": self.failed_writes,
            "error": self.error,
        }


def failure_category(error: BaseException) -> str:
    """A word for /health that names the kind of failure, never a path, bucket or account."""
    kinds = [
        (PermissionError, "permission denied"),
        ((FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError), "bad path"),
        (TimeoutError, "timeout"),
        (ConnectionError, "unreachable"),
        (OSError, "storage error"),
    ]
    return next((word for kind, word in kinds if isinstance(error, kind)), "write failed")


@dataclass
class PredictionLog:
    """Gather rows and write them from a background thread; `record` never touches storage."""

    directory: str
    model_version: str
    model_sha256: str
    batch_rows: int = 1000
    flush_seconds: float = 60.0
    columns: Columns = field(default_factory=Columns)
    status: Status = field(default_factory=Status)

    def __post_init__(self) -> None:
        self._rows: list[_Request] = []
        self._count = 0
        self._queue: list[list[_Request]] = []
        self._lock = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._write_batches, name="prediction-log", daemon=True)
        self._writer.start()

    def for_features(self, schema: Mapping[str, Any]) -> "PredictionLog":
        """This log, told the model's features (serve.feature_schema) before any request: it refuses one named
        like a log column, and writes each with its type (Columns.for_features)."""
        self.columns = self.columns.for_features(schema)
        return self

    def sibling(self, model_version: str, model_sha256: str) -> "PredictionLog":
        """A log of another model (a challenger in shadow) to the same place, with the same settings and columns,
        its own writer and counts."""
        return PredictionLog(
            self.directory,
            model_version,
            model_sha256,
            batch_rows=self.batch_rows,
            flush_seconds=self.flush_seconds,
            columns=self.columns,
        )

    def record(
        self,
        features: pd.DataFrame,
        answer: pd.DataFrame,
        ids: list[str],
        score_ms: float,
        time: pd.Timestamp | Sequence[pd.Timestamp] | None = None,
        arms: Sequence[str | None] | None = None,
    ) -> None:
        """Add scored rows: their validated features and the model's answer, under the given ids, with the
        milliseconds of the call that scored them, their time (one for all, one per row, or now) and, with A/B on,
        each row's arm. Only a reference is kept here; the writer thread builds the batch's table, off the
        request's path."""
        request = _Request(
            features, answer, ids, pd.Timestamp.now(tz="UTC") if time is None else time, score_ms, arms
        )
        with self._lock:
            self._rows.append(request)
            self._count += len(ids)
            if self._count >= self.batch_rows:
                self._hand_over()

    def close(self, timeout: float = 30.0) -> None:
        """Write what is gathered and stop the writer (the service's shutdown)."""
        with self._lock:
            self._hand_over()
            self._closed = True
            self._lock.notify_all()
        self._writer.join(timeout)

    def _hand_over(self) -> None:
        """Move the gathered requests to the writer's queue (the caller holds the lock)."""
        if not self._rows:
            return
        batch, count = self._rows, self._count
        self._rows, self._count = [], 0
        if len(self._queue) >= QUEUED_BATCHES:
            self.status.dropped += count
            LOGGER.error("prediction log: the sink is behind; dropped %d predictions", count)
            return
        self._queue.append(batch)
        self._lock.notify_all()

    def _write_batches(self) -> None:
        while True:
            with self._lock:
                if not self._queue and not self._closed:
                    self._lock.wait(self.flush_seconds)
                    if not self._queue:
                        self._hand_over()
                if not self._queue and self._closed:
                    return
                batch = self._queue.pop(0) if self._queue else None
            if batch is not None:
                self._write(batch)

    def _write(self, requests: list["_Request"]) -> None:
        count = sum(len(request.ids) for request in requests)
        try:
            write_predictions(
                self.directory,
                pd.concat([request.features for request in requests], ignore_index=True),
                pd.concat([request.answer for request in requests], ignore_index=True),
                [row_id for request in requests for row_id in request.ids],
                (self.model_version, self.model_sha256),
                self.columns,
                times=[time for request in requests for time in request.times()],
                score_ms=[request.score_ms for request in requests for _ in request.ids],
                arms=_arms(requests),
            )
        except Exception as error:  # any sink failure: count, report, keep serving
            self.status.dropped += count
            self.status.failed_writes += 1
            self.status.error = failure_category(error)
            LOGGER.error(
                "prediction log: could not write %d predictions to %s: %s: %s",
                count,
                self.directory,
                type(error).__name__,
                error,
            )
        else:
            self.status.written += count
            self.status.files += 1
            self.status.error = ""


@dataclass(frozen=True)
class _Request:
    features: pd.DataFrame
    answer: pd.DataFrame
    ids: list[str]
    time: pd.Timestamp | Sequence[pd.Timestamp]
    score_ms: float
    arms: Sequence[str | None] | None = None

    def times(self) -> Sequence[pd.Timestamp]:
        return [self.time] * len(self.ids) if isinstance(self.time, pd.Timestamp) else self.time


def _arms(requests: list[_Request]) -> list[str | None] | None:
    """Each row's arm when A/B is on for any of the requests (None: no arm column, as without A/B)."""
    if all(request.arms is None for request in requests):
        return None
    return [arm for request in requests for arm in (request.arms or [None] * len(request.ids))]


def write_predictions(
    directory: str,
    features: pd.DataFrame,
    answer: pd.DataFrame,
    ids: Sequence[str],
    model: tuple[str, str],
    columns: Columns,
    times: pd.Timestamp | Sequence[pd.Timestamp] | None = None,
    score_ms: float | Sequence[float] | None = None,
    arms: Sequence[str | None] | None = None,
) -> str:
    """Write one batch of predictions to the log (the service's and `score`'s alike); return the file's path.
    `model` is (version, sha256)."""
    rows = log_rows(features, answer, ids, *model, columns=columns, times=times, score_ms=score_ms, arms=arms)
    return write_batch(rows, directory, columns.kinds)


def log_rows(
    features: pd.DataFrame,
    answer: pd.DataFrame,
    ids: Sequence[str],
    model_version: str,
    model_sha256: str,
    columns: Columns = Columns(),
    times: pd.Timestamp | Sequence[pd.Timestamp] | None = None,
    score_ms: float | Sequence[float] | None = None,
    arms: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """The log's rows: id, time (now, one for all or one per row), model, the features (as `columns` says), the
    answer, `score_ms` (one for all or one per row; missing: NaN) and, with A/B on, `arm`. Refuses a feature named
    like a log column."""
    kept = columns.apply(features)
    refuse_log_column_names(kept.columns)
    if times is None:
        times = pd.Timestamp.now(tz="UTC")
    meta = pd.DataFrame(
        {
            "request_id": ids,
            "time": times if isinstance(times, pd.Timestamp) else pd.DatetimeIndex(times),
            "model_version": model_version,
            "model_sha256": model_sha256,
        }
    )
    milliseconds = pd.DataFrame(
        {
            "score_ms": np.full(len(meta), np.nan)
            if score_ms is None
            else np.broadcast_to(score_ms, len(meta))
        },
        dtype=float,
    )
    if arms is not None:
        milliseconds["arm"] = pd.array(list(arms), dtype="string")
    return pd.concat([meta, kept.reset_index(drop=True), answer.reset_index(drop=True), milliseconds], axis=1)


def write_batch(batch: pd.DataFrame, directory: str, kinds: Mapping[str, str] | None = None) -> str:
    """Write one batch as a new Parquet file under date=YYYY-MM-DD/ of its first row, each feature of `kinds` with
    its kind's type; return its path.

    Locally the file is written under a temporary name and renamed, so a reader never sees half of one; an object
    store's upload is all-or-nothing by itself."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = _typed(pa.Table.from_pandas(batch, preserve_index=False), kinds or {})
    first = batch["time"].iloc[0]
    name = f"{first:%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:12]}.parquet"
    filesystem, root = fsspec.core.url_to_fs(directory)
    folder = f"{root.rstrip('/')}/date={first:%Y-%m-%d}"
    filesystem.makedirs(folder, exist_ok=True)
    target = f"{folder}/{name}"
    temporary = f"{folder}/.{name}.tmp" if _is_local(filesystem) else target
    with filesystem.open(temporary, "wb") as handle:
        pq.write_table(table, handle)
    if temporary != target:
        filesystem.mv(temporary, target)
    return target


def _typed(table: "pa.Table", kinds: Mapping[str, str]) -> "pa.Table":
    """The table with each feature of `kinds` that Arrow typed null (the batch's rows all miss it) given its
    kind's type, as the batches that hold it have."""
    import pyarrow as pa

    for index, column in enumerate(table.schema):
        if pa.types.is_null(column.type) and column.name in kinds:
            written = _arrow_type(kinds[column.name])
            table = table.set_column(index, pa.field(column.name, written), pa.nulls(table.num_rows, written))
    return table


def _arrow_type(kind: str) -> "pa.DataType":
    """The Arrow type pandas gives a value of this kind as the service passes it (a float, a datetime, a text:
    large_string from pandas 3 on, string before)."""
    import pyarrow as pa

    sample = {NUMBER: 0.0, DATE: datetime.datetime(2000, 1, 1), TEXT: "text"}[kind]
    return pa.Array.from_pandas(pd.Series([sample])).type


def _is_local(filesystem) -> bool:
    return "file" in (
        filesystem.protocol if isinstance(filesystem.protocol, tuple) else (filesystem.protocol,)
    )


def new_ids(count: int, given: str | None = None) -> list[str]:
    """One id per row: the caller's X-Request-ID (or a random one), with `-<row>` when the request has several."""
    base = given or uuid.uuid4().hex
    return [base] if count == 1 else [f"{base}-{row}" for row in range(count)]
