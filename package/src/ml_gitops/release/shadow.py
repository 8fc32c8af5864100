"""A challenger in shadow: a second model beside the production one that scores the same validated rows off the
request path, its answers written to the prediction log under its own version and digest.

The production model answers every request as it would alone. Once a batch's answers are ready, its rows are
offered to the challenger: a reference put on a bounded queue (SERVE_SHADOW_QUEUE_ROWS rows), never waited for;
when the queue is full, the rows are skipped and counted. The challenger's own thread (one native thread, as the
model's) gathers what is queued for up to SERVE_SHADOW_WAIT_MS, scores it in one call and hands the answers to a
prediction log of its own (same directory, same columns left out and hashed), under the production rows' ids,
times and features. A call that raises is split in halves until the rows that make the challenger fail are
found: only those are lost (not written, counted).

A challenger that cannot be loaded (missing, a digest its checksums do not list, a type outside the allow-list,
an unreadable file), that reads a feature the requests do not carry, that answers another task or other classes,
or that is the production model itself, is not loaded: the service serves without it, /health says why (a
category, never a path or a message) and the service's log gives the details. The same holds for `score --shadow`.
"""

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import UserError, project
from ..core import files, skops_reader
from . import threads
from .limits import positive
from .prediction_log import PredictionLog

LOGGER = logging.getLogger(__name__)
CALL_ROWS = 1024  # rows the challenger scores in one call at most
DEFAULT_VERSION = "challenger"
# --shadow, --shadow-checksums and --shadow-version, as `serve --workers N` passes them to its processes
PATH_VARIABLE = "ML_GITOPS_SERVE_SHADOW"
CHECKSUMS_VARIABLE = "ML_GITOPS_SERVE_SHADOW_CHECKSUMS"
VERSION_VARIABLE = "ML_GITOPS_SERVE_SHADOW_VERSION"

Answer = Callable[[Any, pd.DataFrame], pd.DataFrame]  # (model, features) -> prediction[, proba_<class>]


@dataclass(frozen=True)
class Challenger:
    """Which model scores in shadow: its file, the SHA256SUMS it must match, the version the log records."""

    path: Path
    checksums: Path | None = None
    version: str = DEFAULT_VERSION

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Challenger | None":
        path, checksums = environ.get(PATH_VARIABLE), environ.get(CHECKSUMS_VARIABLE)
        if not path:
            return None
        return cls(
            Path(path),
            Path(checksums) if checksums else None,
            environ.get(VERSION_VARIABLE) or DEFAULT_VERSION,
        )


def pass_on(challenger: Challenger | None, environ: MutableMapping[str, str]) -> None:
    """Name the challenger to the processes of `serve --workers N` (or none, whatever `environ` held)."""
    environ[PATH_VARIABLE] = str(challenger.path) if challenger else ""
    environ[CHECKSUMS_VARIABLE] = str(challenger.checksums or "") if challenger else ""
    environ[VERSION_VARIABLE] = challenger.version if challenger else ""


@dataclass(frozen=True)
class QueueSettings:
    rows: int = 10_000
    wait_seconds: float = 0.5

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "QueueSettings":
        """SERVE_SHADOW_QUEUE_ROWS (rows waiting for the challenger at most) and SERVE_SHADOW_WAIT_MS (how long
        the challenger gathers rows before a call); unset: the defaults; anything but a positive number is
        refused with one line."""
        wait_ms = positive(environ, "SERVE_SHADOW_WAIT_MS", float, cls.wait_seconds * 1000)
        return cls(positive(environ, "SERVE_SHADOW_QUEUE_ROWS", int, cls.rows), wait_ms / 1000)


@dataclass(frozen=True)
class Loaded:
    """A challenger that can score the service's rows: the model, its digest and the features it reads."""

    model: Any
    sha256: str
    columns: list[str]

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The production rows as the challenger reads them: its own features, in its order."""
        return frame if list(frame.columns) == self.columns else frame[self.columns]


class NotLoaded(Exception):
    """Why a challenger is not loaded: a category for /health, and the details for the service's log."""

    def __init__(self, category: str, details: str) -> None:
        super().__init__(details)
        self.category, self.details = category, details


def load(challenger: Challenger, production: Any, features: list[str], production_sha256: str) -> Loaded:
    """The challenger, loaded as the production model is (the same allow-list and checksum check), and checked
    to score the same rows into the same kind of answer; NotLoaded says why not."""
    if not challenger.path.is_file():
        raise NotLoaded("not found", f"{challenger.path} not found: give the challenger's model file")
    try:
        model = files.load_model(challenger.path, project.pipeline("train").MODEL_TYPES, challenger.checksums)
    except Exception as error:  # a UserError for what load_model refuses, anything else for a damaged file
        raise NotLoaded(_load_failure(challenger), str(error)) from None
    digest = files.sha256(challenger.path)
    columns = [str(column) for column in getattr(model, "feature_names_in_", [])]
    missing = [column for column in columns if column not in set(features)]
    problems = [
        (not columns, "unknown columns", "it names no features (feature_names_in_): train it on a table"),
        (bool(missing), "missing columns", f"it reads features the requests lack: {', '.join(missing[:10])}"),
        (
            hasattr(model, "predict_proba") != hasattr(production, "predict_proba"),
            "other task",
            "one of it and the production model is a classifier, the other not",
        ),
        (
            list(getattr(model, "classes_", [])) != list(getattr(production, "classes_", [])),
            "other classes",
            f"its classes {list(getattr(model, 'classes_', []))} differ from the production model's",
        ),
        (digest == production_sha256, "same model", "it is the production model's file itself"),
    ]
    for wrong, category, details in problems:
        if wrong:
            raise NotLoaded(category, details)
    return Loaded(model, digest, columns)


def _load_failure(challenger: Challenger) -> str:
    """The category of load_model's refusal, found by its checks in its order (never raising: the service
    serves without the challenger whatever stopped it)."""
    if challenger.checksums is not None:
        try:
            files.check_release_digest(challenger.path, challenger.checksums)
        except UserError:  # a digest not listed or another, or a SHA256SUMS that is none
            return "wrong digest"
        except (OSError, ValueError):  # a file it cannot read
            return "unreadable"
    try:
        untrusted = set(skops_reader.untrusted_types(challenger.path))
    except Exception:
        return "unreadable"
    return "untrusted types" if untrusted - project.pipeline("train").MODEL_TYPES else "unreadable"


@dataclass(frozen=True)
class Part:
    """Rows [start, stop) of a batch: the challenger's answer and its call's milliseconds, or the error."""

    start: int
    stop: int
    answer: pd.DataFrame | None
    score_ms: float
    error: Exception | None = None


def score_in_parts(answer: Callable[[pd.DataFrame], pd.DataFrame], inputs: pd.DataFrame) -> list[Part]:
    """The rows scored in one call; if it raises, each half alone, and so on down to the rows that fail."""
    parts, pending = [], [(0, len(inputs))]
    while pending:
        start, stop = pending.pop()
        started = time.perf_counter()
        try:
            scored = answer(inputs if (start, stop) == (0, len(inputs)) else inputs.iloc[start:stop])
        except Exception as error:
            if stop - start == 1:
                parts.append(Part(start, stop, None, 0.0, error))
            else:
                middle = (start + stop) // 2
                pending += [(middle, stop), (start, middle)]  # the first half next
            continue
        parts.append(Part(start, stop, scored, (time.perf_counter() - started) * 1000))
    return parts


def failure_category(error: Exception) -> str:
    """What /health shows of a scoring failure: the exception's type, never its message (it can echo a value)."""
    return f"raised {type(error).__name__}"


@dataclass
class Counts:
    """What the challenger did: the batches it scored, the rows it scored, failed on and skipped (queue full)."""

    batches: int = 0
    scored: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class _Offered:
    frame: pd.DataFrame
    ids: list[str]
    time: pd.Timestamp
    arrived: float


class Shadow:
    """The challenger beside the production model: `offer` never waits; its own thread scores and logs."""

    def __init__(
        self,
        challenger: Challenger,
        production: Any,
        features: list[str],
        production_sha256: str,
        answer: Answer,
        log: PredictionLog | None,
        settings: QueueSettings | None = None,
    ) -> None:
        self.challenger, self.counts, self.error = challenger, Counts(), ""
        self.settings = QueueSettings.from_environment() if settings is None else settings
        self._answer = answer
        try:
            self._loaded: Loaded | None = load(challenger, production, features, production_sha256)
            self.state = "scoring"
        except NotLoaded as problem:
            self._loaded, self.state = None, f"not loaded: {problem.category}"
            LOGGER.error(
                "shadow: the challenger %s (%s) is not loaded (%s): %s",
                challenger.version,
                challenger.path,
                problem.category,
                problem.details,
            )
        self.sha256 = self._loaded.sha256 if self._loaded else _digest_if_any(challenger.path)
        self._log = log.sibling(challenger.version, self.sha256) if log is not None and self._loaded else None
        self._queue: deque[_Offered] = deque()
        self._queued_rows = 0
        self._lock = threading.Condition()
        self._closed = False
        self._behind = False  # skipping rows since the last one queued
        self._thread = threading.Thread(target=self._score_queue, name="shadow", daemon=True)
        if self._loaded:
            self._thread.start()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def offer(self, frame: pd.DataFrame, ids: list[str], when: pd.Timestamp) -> None:
        """Queue rows the production model scored (its frame, ids and time); skip them when the queue is full."""
        if self._loaded is None:
            return
        with self._lock:
            if self._closed or self._queued_rows + len(ids) > self.settings.rows:
                self._skip(len(ids))
                return
            self._behind = False
            self._queue.append(_Offered(frame, ids, when, time.monotonic()))
            self._queued_rows += len(ids)
            if len(self._queue) == 1 or self._queued_rows >= CALL_ROWS:  # the thread waits for these only
                self._lock.notify()

    def answer_now(self, frame: pd.DataFrame) -> list[Part] | None:
        """The challenger's answers to rows it serves (release/ab.py), scored now on the caller's thread, split
        down to the rows it fails on; None when it is not loaded."""
        if self._loaded is None:
            return None
        model = self._loaded.model
        return score_in_parts(lambda inputs: self._answer(model, inputs), self._loaded.inputs(frame))

    def record_served(
        self,
        features: pd.DataFrame,
        answer: pd.DataFrame,
        ids: list[str],
        score_ms: float,
        when: pd.Timestamp,
        arms: list[str | None],
    ) -> None:
        """Log the answers the challenger served (the A/B arm's), under its version and digest."""
        if self._log is not None:
            self._log.record(features, answer, ids, score_ms, when, arms)

    def status(self) -> dict[str, Any]:
        """The challenger's entry of /health."""
        return {
            "version": self.challenger.version,
            "sha256": self.sha256,
            "state": self.state,
            "batches": self.counts.batches,
            "scored": self.counts.scored,
            "failed": self.counts.failed,
            "skipped": self.counts.skipped,
            "error": self.error,
            "prediction_log": self._log.status.as_dict() if self._log is not None else "off",
        }

    def close(self, timeout: float = 60.0) -> None:
        """Score what is queued, write what is scored, stop (the service's shutdown)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._log is not None:
            self._log.close()
        if self._loaded:
            self.state = "stopped"

    def _skip(self, rows: int) -> None:
        """Count rows the challenger will not score (the caller holds the lock); log when it falls behind."""
        self.counts.skipped += rows
        self.error = "queue full"
        if not self._behind:
            self._behind = True
            LOGGER.warning(
                "shadow: the challenger %s is behind (%d rows queued); skipping rows, %d so far",
                self.challenger.version,
                self._queued_rows,
                self.counts.skipped,
            )

    def _score_queue(self) -> None:
        threads.one_thread()
        while (batch := self._next_batch()) is not None:
            try:
                self._score(batch)
            except Exception as error:  # not the challenger's answer (that is caught per part): count, go on
                rows = sum(len(item.ids) for item in batch)
                self.counts.failed += rows
                self.error = failure_category(error)
                LOGGER.exception("shadow: %d rows of the challenger %s lost", rows, self.challenger.version)

    def _next_batch(self) -> list[_Offered] | None:
        """What is queued, once the first has waited SERVE_SHADOW_WAIT_MS or CALL_ROWS rows are queued (at
        once when closing); None once closed and drained."""
        with self._lock:
            while not self._queue and not self._closed:
                self._lock.wait()
            if not self._queue:
                return None
            deadline = self._queue[0].arrived + self.settings.wait_seconds
            while not self._closed and self._queued_rows < CALL_ROWS:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            batch = [self._queue.popleft()]
            rows = len(batch[0].ids)
            while self._queue and rows + len(self._queue[0].ids) <= CALL_ROWS:
                rows += len(self._queue[0].ids)
                batch.append(self._queue.popleft())
            self._queued_rows -= rows
            return batch

    def _score(self, batch: list[_Offered]) -> None:
        """Score the offered rows, write those scored, count and log those that failed."""
        assert self._loaded is not None
        frame = (
            batch[0].frame
            if len(batch) == 1
            else pd.concat([item.frame for item in batch], ignore_index=True)
        )
        ids = [row_id for item in batch for row_id in item.ids]
        times = [item.time for item in batch for _ in item.ids]
        model = self._loaded.model
        parts = score_in_parts(lambda inputs: self._answer(model, inputs), self._loaded.inputs(frame))
        self.counts.batches += 1
        for part in parts:
            if part.answer is None:
                continue
            self.counts.scored += part.stop - part.start
            if self._log is not None:
                rows = slice(part.start, part.stop)
                features = frame if (part.start, part.stop) == (0, len(frame)) else frame.iloc[rows]
                self._log.record(features, part.answer, ids[rows], part.score_ms, times[rows])
        failures = [part for part in parts if part.error is not None]
        if failures:
            self.counts.failed += len(failures)
            self.error = failure_category(failures[-1].error)
            LOGGER.error(
                "shadow: the challenger %s could not score %d of %d rows (ids %s ...): %s: %s",
                self.challenger.version,
                len(failures),
                len(frame),
                ", ".join(ids[part.start] for part in failures[:3]),
                type(failures[0].error).__name__,
                failures[0].error,
            )


def _digest_if_any(path: Path) -> str:
    try:
        return files.sha256(path)
    except OSError:
        return ""
