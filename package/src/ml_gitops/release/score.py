"""Batch scoring: `python -m ml_gitops score INPUT OUTPUT` scores a CSV or Parquet file.

The file is read and written in batches of `--batch-rows`, so memory stays bounded whatever its size. Each row is
checked as /predict checks a request (release/serve.py's schema, column by column): a row that does not fit is
left out and reported by its row number (the first data row is 1), and `--strict` refuses the whole file instead.
OUTPUT holds the input's columns, the prediction's id, `prediction` and, for a classifier, `proba_<class>` (an input
column of one of these names is refused before anything is written); it is written under a temporary name and
appears only once complete. A Parquet OUTPUT keeps each input column in one type whatever its batches hold: a
Parquet input's own, and for a CSV's, text (as the file holds it), or a number for a feature the model reads as
one. The predictions go to the prediction log as the service's do, through the same function
(release/prediction_log.py: `monitoring.exclude` left out, `monitoring.hash` keyed with PREDICTION_LOG_KEY, refused
without it), under ids `<run id>-<row number>`, with the milliseconds of the model call that scored their batch
(`score_ms`).

`--shadow PATH` scores each batch with a challenger too (release/shadow.py): loaded and checked as the service
loads one, its answers go to the prediction log only, under the same ids and time, with its own version and
digest. OUTPUT is the same with or without it. Rows the challenger fails on are found (a failing call is split
in halves) and left out of the log; a challenger that cannot be loaded scores nothing. Either way the summary
says so, and the production scores are written as without it.
"""

import datetime
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd

from .. import UserError, project
from ..core import files, paths
from . import prediction_log, shadow, threads
from .serve import MAX_MAGNITUDE, answer_of, feature_schema

SHOWN_PROBLEMS = 20


@dataclass
class ShadowOutcome:
    """What the challenger did: its state ("scored", or "not loaded: <category>"), rows scored and failed."""

    version: str
    state: str
    sha256: str = ""
    scored: int = 0
    failed: int = 0
    error: str = ""  # the category of the last failure
    details: str = ""  # why it is not loaded, or the first failure's message

    def summary(self) -> str:
        name = f"the challenger {self.version}"
        if self.state != "scored":
            return f"{name} scored nothing: {self.state} ({self.details})"
        line = f"{name} (sha256 {self.sha256[:12]}) scored {self.scored:,} rows into the prediction log"
        if self.failed:
            line += f"; it failed on {self.failed:,} rows, left out ({self.error}: {self.details[:200]})"
        return line


@dataclass
class Outcome:
    scored: int = 0
    refused: int = 0
    problems: list[str] = field(default_factory=list)
    run_id: str = ""
    shadow: ShadowOutcome | None = None

    def note(self, problems: list[str]) -> None:
        self.refused += len(problems)
        self.problems += problems[: max(SHOWN_PROBLEMS - len(self.problems), 0)]


def run(
    source: Path,
    output: Path,
    batch_rows: int = 100_000,
    strict: bool = False,
    log_dir: str = "",
    model_version: str = "unreleased",
    columns: prediction_log.Columns | None = None,
    challenger: shadow.Challenger | None = None,
) -> Outcome:
    """Score `source` into `output`, and into the log with `challenger` in shadow when given; return how many
    rows were scored and refused, with the first problems, and what the challenger did. The log's `columns` are
    params.yaml's (monitoring.exclude, monitoring.hash) unless given."""
    if challenger is not None and not log_dir:
        raise UserError(
            "--shadow writes the challenger's answers to the prediction log, and it is off: give --log-dir or set "
            "monitoring.log_dir"
        )
    if log_dir and columns is None:
        columns = prediction_log.configured_columns()  # refuses hashing without its key, before any work
    model = files.load_model(paths.MODEL, project.pipeline("train").MODEL_TYPES)
    digest = files.sha256(paths.MODEL)
    schema = feature_schema(model)
    if log_dir:  # a feature named like a log column is refused before any row is scored
        columns = columns.for_features(schema)
    inputs = input_columns(source)
    _refuse_output_names(source, inputs, output_names(model))
    outcome = Outcome(run_id=uuid.uuid4().hex[:16])
    loaded, outcome.shadow = (
        _challenger(challenger, model, list(schema), digest) if challenger else (None, None)
    )
    # one batch is written (output and log) by a thread while the next is scored: at most two in memory
    with (
        threads.every_core(),  # batches of many rows: worth every core (the service's small ones use one)
        files.atomic_path(output) as temporary,
        _Writer(temporary, output.suffix, kept_types(inputs, schema)) as writer,
        ThreadPoolExecutor(max_workers=1) as background,
    ):
        written = None
        for first_row, batch in read_batches(source, batch_rows, text=list(inputs.keys() - schema.keys())):
            features, problems = validate(batch, schema, first_row)
            if problems and strict:
                raise UserError(f"{source}: {problems[0]} (--strict refuses the file; nothing was written)")
            outcome.note(problems)
            if features.empty:
                continue
            now, started = pd.Timestamp.now(tz="UTC"), time.perf_counter()
            answer = answer_of(model, features).set_axis(features.index)
            score_ms = (time.perf_counter() - started) * 1000
            ids = _request_ids(outcome.run_id, features.index)
            kept = batch if len(features) == len(batch) else batch.loc[features.index]
            scored = pd.concat([kept, answer], axis=1).assign(request_id=ids)
            log = partial(prediction_log.write_predictions, log_dir, columns=columns, times=now)
            logged = (
                [partial(log, features, answer, ids, (model_version, digest), score_ms=score_ms)]
                if log_dir
                else []
            )
            if loaded is not None and outcome.shadow is not None:
                logged += _shadow_rows(loaded, features, ids, outcome.shadow, log)
            if written is not None:
                written.result()
            written = background.submit(_write, writer, scored, logged)
            outcome.scored += len(features)
        if written is not None:
            written.result()
        if not outcome.scored:
            raise UserError(
                f"{source}: no row fits the model's schema ({outcome.problems[0] if outcome.problems else 'the file is empty'})"
            )
    return outcome


def _request_ids(run_id: str, rows: pd.Index) -> pd.Index:
    """`<run id>-<row number>` for each row (numbered from 1), joined by Arrow: five times pandas' speed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(rows.to_numpy() + 1), pa.string())
    return pd.Index(pc.binary_join_element_wise(f"{run_id}-", numbers, "").to_pandas())


def _write(writer: "_Writer", scored: pd.DataFrame, logs: list[Callable[[], str]]) -> None:
    """Append the scored rows to the output, then write the batch to the prediction log."""
    writer.write(scored)
    for log in logs:
        log()


def _challenger(
    challenger: shadow.Challenger, model, features: list[str], digest: str
) -> tuple[shadow.Loaded | None, ShadowOutcome]:
    """The challenger loaded for `score --shadow` (None when it is not) and its outcome so far."""
    try:
        loaded = shadow.load(challenger, model, features, digest)
    except shadow.NotLoaded as problem:
        state = f"not loaded: {problem.category}"
        return None, ShadowOutcome(challenger.version, state, details=problem.details)
    return loaded, ShadowOutcome(challenger.version, "scored", loaded.sha256)


def _shadow_rows(
    loaded: shadow.Loaded,
    features: pd.DataFrame,
    ids: pd.Index,
    outcome: ShadowOutcome,
    log: Callable[..., str],
) -> list[Callable[[], str]]:
    """The challenger's answers for a batch, as writes to the log; the rows it fails on counted and left out."""
    parts = shadow.score_in_parts(lambda inputs: answer_of(loaded.model, inputs), loaded.inputs(features))
    writes = []
    for part in parts:
        if part.error is not None:
            outcome.failed += 1
            outcome.error = shadow.failure_category(part.error)
            outcome.details = outcome.details or f"row {features.index[part.start] + 1}: {part.error}"
            continue
        rows = slice(part.start, part.stop)
        outcome.scored += part.stop - part.start
        writes.append(
            partial(
                log,
                features.iloc[rows],
                part.answer,
                ids[rows],
                (outcome.version, loaded.sha256),
                score_ms=part.score_ms,
            )
        )
    return writes


def input_columns(source: Path) -> dict[str, Any]:
    """The columns of a CSV or Parquet file: their types in a Parquet file, None in a CSV (text)."""
    if _readable(source) == ".csv":
        return dict.fromkeys(pd.read_csv(source, nrows=0).columns)
    import pyarrow.parquet as pq

    return {field.name: field.type for field in pq.read_schema(source)}


def _readable(source: Path) -> str:
    """The suffix of a file score reads; a missing file or another format refused."""
    if not source.is_file():
        raise UserError(f"{source} not found: give a CSV or Parquet file to score")
    if source.suffix not in (".csv", ".parquet"):
        raise UserError(f"{source}: score reads .csv or .parquet files")
    return source.suffix


def output_names(model) -> list[str]:
    """The columns score adds to the input's: answer_of's (`prediction`, `proba_<class>`) and `request_id`."""
    classes = getattr(model, "classes_", []) if hasattr(model, "predict_proba") else []
    return ["prediction", *(f"proba_{label}" for label in classes), "request_id"]


def _refuse_output_names(source: Path, columns: dict[str, Any], outputs: list[str]) -> None:
    """An input column named as an output column would be written twice (a CSV reader then takes the stale one)."""
    clashes = [name for name in columns if name in set(outputs)]
    if clashes:
        raise UserError(
            f"{source} has a column named {', '.join(map(repr, clashes))}, a name score gives its output: rename "
            f"or drop it (to score an earlier output again, drop its {', '.join(outputs)} columns)"
        )


def kept_types(columns: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The type each input column keeps in a Parquet output, whatever its batches hold (a column empty in one batch
    and text in the next, whole numbers then fractions): a Parquet file's own; a CSV's (None) text, or a number
    for a feature the model reads as one."""
    import pyarrow as pa

    number, text = pa.float64(), pa.large_string()
    return {
        name: (number if schema.get(name) is float else text) if kind is None else kind
        for name, kind in columns.items()
    }


def read_batches(source: Path, batch_rows: int, text: list[str] = ()) -> Iterator[tuple[int, pd.DataFrame]]:
    """(index of the first row, rows) for each batch of a CSV or Parquet file, rows indexed from 0; the `text`
    columns of a CSV read as text (as the file holds them, whatever each batch's values look like)."""
    start = 0
    if _readable(source) == ".parquet":
        import pyarrow.parquet as pq

        batches = (batch.to_pandas() for batch in pq.ParquetFile(source).iter_batches(batch_size=batch_rows))
    else:
        batches = pd.read_csv(source, chunksize=batch_rows, low_memory=False, dtype=dict.fromkeys(text, str))
    for batch in batches:
        yield start, batch.set_axis(pd.RangeIndex(start, start + len(batch)))
        start += len(batch)


def validate(batch: pd.DataFrame, schema: dict[str, Any], first_row: int) -> tuple[pd.DataFrame, list[str]]:
    """The rows that fit /predict's schema, as the model reads them, and one problem per refused row."""
    missing = [column for column in schema if column not in batch.columns]
    if missing:
        raise UserError(
            f"the file has no column {', '.join(map(repr, missing[:5]))}: the model needs every feature"
        )
    checked, problems = {}, []
    refused = np.zeros(len(batch), dtype=bool)
    for column, kind in schema.items():
        values, wrong, what = _check_column(batch[column], kind)
        checked[column] = values
        new = wrong & ~refused  # a row is named for its first problem only
        refused |= wrong
        problems += [
            (row, f"row {batch.index[row] + 1}: column '{column}': '{str(value)[:40]}' {what}")
            for row, value in zip(np.flatnonzero(new), batch[column].to_numpy()[new], strict=True)
        ]
    features = pd.DataFrame(checked, index=batch.index)
    return features[~refused] if refused.any() else features, [
        text for _, text in sorted(problems, key=lambda problem: problem[0])
    ]


def _check_column(values: pd.Series, kind: Any) -> tuple[pd.Series, np.ndarray, str]:
    """The column as the model reads it, which rows /predict would refuse, and why."""
    present = values.notna().to_numpy()
    if kind is float:
        numbers = values if values.dtype == float else pd.to_numeric(values, errors="coerce").astype(float)
        wrong = present & ~(np.abs(numbers.to_numpy()) <= MAX_MAGNITUDE)  # NaN and infinity too
        return numbers, wrong, f"is not a finite number from {-MAX_MAGNITUDE:g} to {MAX_MAGNITUDE:g}"
    if kind is datetime.datetime:
        dates = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601").dt.tz_localize(None)
        return dates, present & dates.isna().to_numpy(), "is not an ISO 8601 date"
    allowed = {str(category) for category in get_args(get_args(kind)[0])}
    texts = project.pipeline("features").as_categories(values)
    return texts, present & ~texts.isin(allowed).to_numpy(), "is not a category seen in training"


class _Writer:
    """Append batches to a Parquet or CSV file; in Parquet, the input's columns in their `types` (kept_types) and
    the others in their first batch's."""

    def __init__(self, path: Path, suffix: str, types: dict[str, Any] | None = None) -> None:
        if suffix not in (".parquet", ".csv"):
            raise UserError(f"the output must end in .csv or .parquet, got '{suffix or 'no suffix'}'")
        self.path, self.suffix, self.types, self._parquet = path, suffix, types or {}, None

    def __enter__(self) -> "_Writer":
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.suffix == ".csv":
            frame.to_csv(self.path, mode="a", header=self.path.stat().st_size == 0, index=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self._numbers(frame), preserve_index=False)
        if self._parquet is None:
            fields = [field.with_type(self.types.get(field.name, field.type)) for field in table.schema]
            self._parquet = pq.ParquetWriter(self.path, pa.schema(fields))  # no pandas metadata: its types
        self._parquet.write_table(_cast(table, self._parquet.schema))

    def _numbers(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Text in a column written as numbers (a CSV's numeric feature, in a batch where a row was refused) read
        as `validate` reads it: every row kept is a number."""
        import pyarrow as pa

        texts = [
            name
            for name in frame.columns
            if self.types.get(name) == pa.float64() and not pd.api.types.is_numeric_dtype(frame[name])
        ]
        if not texts:
            return frame
        return frame.assign(**{name: pd.to_numeric(frame[name], errors="coerce") for name in texts})

    def __exit__(self, *_) -> None:
        if self._parquet is not None:
            self._parquet.close()


def _cast(table, schema):
    """The batch in the output's types; a value its column's type cannot hold refused with one line naming it."""
    try:
        return table.cast(schema)
    except _cast_errors():
        column = next(field for field in schema if not _fits(table[field.name], field.type))
        raise UserError(
            f"column '{column.name}' holds a value its type in the Parquet output ({column.type}) cannot hold: "
            "write the output as .csv"
        ) from None


def _fits(values, kind) -> bool:
    try:
        values.cast(kind)
    except _cast_errors():
        return False
    return True


def _cast_errors() -> tuple[type[Exception], ...]:
    import pyarrow as pa

    return pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError


def report(source: Path, output: Path, outcome: Outcome) -> str:
    first = f"scored {outcome.scored:,} rows of {source} into {output}"
    lines = [first if outcome.shadow is None else f"{first}; {outcome.shadow.summary()}"]
    if outcome.refused:
        lines.append(f"left out {outcome.refused:,} rows that do not fit the model's schema:")
        lines += [f"  {problem}" for problem in outcome.problems]
        if outcome.refused > len(outcome.problems):
            lines.append(f"  and {outcome.refused - len(outcome.problems):,} more")
    troubled = outcome.refused or (outcome.shadow is not None and outcome.shadow.details)
    print("\n".join(lines), file=sys.stderr if troubled else sys.stdout)
    return "\n".join(lines)
