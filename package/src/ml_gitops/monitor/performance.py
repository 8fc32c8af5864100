"""How the model in production does: its prediction log joined with the true outcomes that have arrived.

The log (release/prediction_log.py) holds what the service and `score` answered; the labels (monitoring.labels: a
CSV or Parquet file, or a directory of them, with request_id, label and optionally time) arrive later, for part
of the predictions. Per time window (monitoring.window) the monitor scores the labelled predictions with the
pipeline's own metrics and their 95% bootstrap intervals, next to the released model's test metrics
(reports/metrics.json), and compares the served inputs of the newest window with the champion's reference sample
and its answers with the release's answers on its test set (reports/predictions.parquet).

Verdict: `decay` when the newest judged window's interval of the gate metric lies worse than the release's value
by more than monitoring.tolerance; else `drift` when the served inputs (or the answers) drifted; else `ok` when
that window had at least monitoring.min_labels labels; else `unlabelled`: without labels only drift is measured,
never performance (no estimate of accuracy without labels is offered: the libraries that make one do not install
with this project's locked dependencies).

With a challenger (`monitor --challenger`: a model that scored the same traffic in shadow), monitor/challenger.py
compares both on the labelled rows both answered: the summary's "challenger" entry, a section of monitor.md and
challenger.md alone. With A/B rows in the log (release/ab.py), monitor/arms.py measures each arm on its own labelled
requests: the summary's "ab" entry and a section of monitor.md.
"""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import UserError, project
from ..core import files, paths
from ..core.config import Config

if TYPE_CHECKING:
    import pyarrow as pa

DECAY, DRIFT, OK, UNLABELLED = "decay", "drift", "ok", "unlabelled"
UNDEFINED = (
    "undefined"  # a window whose metric is not a number on its labels (roc_auc on one class): not judged
)
DRIFT_ROWS = 50_000  # served rows of the newest window compared with the reference at most (a random sample)
SHOWN = re.compile(r"[^A-Za-z0-9._:-]")
SEPARATORS = (",", ";", "\t", "|")  # a label CSV's: the one its header holds most of (as data.read_csv)


class NothingToMonitor(UserError):
    """The log holds no prediction of the champion in the period (or there is no log yet)."""


LATENCY = (
    "score_ms"  # the wall milliseconds of the model call that scored the row's batch (absent in older logs)
)
ARM = "arm"  # with A/B on (release/ab.py): the request's arm, production or challenger (null: no key)
META = ["request_id", "time", "model_version", "model_sha256", LATENCY, ARM]


@dataclass
class Inputs:
    """The champion's labelled predictions (answer, label, window), how many it made per window, and what was
    left out. Only the ids and times of all predictions are needed, the answers of the labelled ones alone, and the
    features of the newest window alone (Log.features): ten million predictions fit in seconds."""

    labelled: pd.DataFrame
    predictions: pd.Series  # per window, in time order
    notes: list[str] = field(default_factory=list)


def run(
    config: Config,
    output: Path = paths.MONITOR,
    since: str | None = None,
    until: str | None = None,
    challenger: str | None = None,
) -> dict:
    """Join, score, compare; write monitor.json, monitor.md and metric.png into `output` (and challenger.md when
    `challenger`, a digest or version of the log, is given); return the summary."""
    from . import arms
    from . import challenger as shadow

    settings = config.monitoring
    digest = files.sha256(paths.MODEL)
    log = Log(settings.log_dir, digest, since, until)
    notes: list[str] = []
    log.require_the_champion(notes)
    segment_columns = logged_segments(config, log.dataset.schema.names, notes)
    extra = (*segment_columns, *log.latency()) if challenger else segment_columns
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Arrow reads without the GIL, while scikit-learn is imported; the challenger is found and read beside the
        # champion's rows, and compared beside the windows' scoring, which leaves a core to it
        answered = pool.submit(log.answered, extra)
        found = pool.submit(shadow.find, log, challenger) if challenger else None
        rival = pool.submit(lambda: shadow.read(log, found.result())) if found else None
        labels = usable_labels(read_labels(settings.labels, notes), notes)
        contender = found.result() if found else None  # its refusal (an unknown version, the champion) first
        answered = answered.result()
        if config.task == "classification":
            labels = as_logged_classes(labels, answered.schema)
        positions = Log.label_positions(answered, labels["request_id"])
        compared = rival and pool.submit(
            lambda: shadow.compare(
                config, contender, answered, positions, labels, rival.result(), segment_columns
            )
        )
        inputs = join(Log.labelled(answered, positions), labels, config, notes)
        split = arms.compare(config, log, labels, contender.digest if contender else None, inputs.notes)
        release = _release_metrics()
        windows = score_windows(inputs, config, release)
        newest = pd.Timestamp(windows[-1]["window"])
        drifted = served_drift(
            log.features(newest, newest + config.monitoring.window_offset, config.seed), config, notes
        )
        compared = compared and compared.result()
    summary = {
        "verdict": verdict(windows, drifted),
        "metric": config.gate.metric,
        "release": release.get(config.gate.metric),
        "tolerance": config.monitoring.tolerance.describe(),
        "model_sha256": digest,
        "windows": windows,
        "drift": drifted,
        "notes": inputs.notes,
    }
    if compared is not None:
        summary["challenger"] = compared
    if split is not None:
        summary["ab"] = split
    files.write_json(summary, output / "monitor.json")
    write_plot(summary, output / "metric.png")
    files.write_text(markdown(summary, "metric.png"), output / "monitor.md")
    section = output / shadow.SECTION_FILE
    if compared is not None:
        files.write_text(shadow.markdown(compared) + "\n", section)
    else:
        section.unlink(missing_ok=True)  # never a section of an earlier run's challenger
    return summary


class Log:
    """The prediction log (a directory or URL of Parquet files, `date=` folders) read for one model and period."""

    def __init__(self, log_dir: str, digest: str, since: str | None = None, until: str | None = None) -> None:
        import pyarrow.dataset as ds

        if not log_dir:
            raise UserError(
                "monitoring.log_dir is empty: set it to where the service writes its prediction log"
            )
        if "://" not in log_dir and not Path(log_dir).exists():
            raise NothingToMonitor(
                f"there is no prediction log at {log_dir} yet: serve the model (make serve) or point "
                "monitoring.log_dir at where the service writes it"
            )
        self.location, self.digest, self.period = log_dir, digest, _period(since, until)
        self.described = f" between {since or 'the start'} and {until or 'now'}" if since or until else ""
        # the model's version and digest as dictionaries: one value per file, not ten million strings to compare
        dictionaries = ds.ParquetReadOptions(dictionary_columns=["model_version", "model_sha256"])
        try:
            self.dataset = ds.dataset(
                log_dir,
                format=ds.ParquetFileFormat(read_options=dictionaries),
                partitioning="hive",
                exclude_invalid_files=True,
            )
        except (FileNotFoundError, OSError) as error:
            raise UserError(
                f"the prediction log {log_dir} cannot be read ({error}): check monitoring.log_dir"
            ) from None
        self.dataset = self._with_newer_columns(self.dataset)

    @staticmethod
    def _with_newer_columns(dataset):
        """The dataset with LATENCY and ARM when its newest file holds them, and with a type for each column the
        first file holds as Arrow's null type (a feature all its rows missed, which no other file's values cast
        to): the schema comes from the first file, which can be older than the model calls' times or A/B."""
        import pyarrow as pa

        schema = dataset.schema
        absent = [name for name in (LATENCY, ARM) if name not in schema.names]
        untyped = [column.name for column in schema if pa.types.is_null(column.type)]
        if not (absent or untyped) or not getattr(dataset, "files", None):
            return dataset
        # date=YYYY-MM-DD/<time>-...: the newest sorts last
        newest_first = sorted(dataset.files, reverse=True)
        if absent:
            newest = _file_schema(dataset, newest_first[0])
            for name in absent:
                if name in newest.names:
                    schema = schema.append(newest.field(name))
        if untyped:
            schema = _typed_by_newer_files(schema, dataset, newest_first)
        return dataset.replace_schema(schema)

    def read(self, columns: list[str], condition):
        try:
            return self.dataset.to_table(columns=columns, filter=condition)
        except (FileNotFoundError, OSError) as error:
            raise UserError(
                f"the prediction log {self.location} cannot be read ({error}): check monitoring.log_dir"
            ) from None

    def require_the_champion(self, notes: list[str]) -> None:
        """Note the predictions of other models in the period; refuse a period without the champion's."""
        import pyarrow.compute as pc

        champion = self._champion()
        kept = self.dataset.count_rows(filter=self.in_period(champion))
        total = self.dataset.count_rows(filter=self.period)
        if total == 0:
            raise NothingToMonitor(
                f"the prediction log {self.location} holds no predictions{self.described}: nothing to monitor"
            )
        others = []
        if kept < total:
            versions = self.read(["model_version"], self.in_period(~champion))["model_version"]
            others = sorted(shown(version) for version in pc.unique(versions).to_pylist())
            notes.append(
                f"left out {total - kept:,} predictions of other model versions ({', '.join(others[:5])})"
            )
        if not kept:
            raise NothingToMonitor(
                f"the prediction log {self.location} holds no predictions of the champion (models/model.skops, "
                f"sha256 {self.digest[:12]}), only of {', '.join(others[:5])}: monitor the version in production "
                "(check out its tag)"
            )

    def answer_columns(self) -> list[str]:
        return [
            name for name in self.dataset.schema.names if name == "prediction" or name.startswith("proba_")
        ]

    def answered(self, extra: tuple[str, ...] = ()) -> "pa.Table":
        """The champion's predictions in the period: request_id, time, the answer columns and `extra` ones."""
        return self.of_model(self.digest, ["request_id", "time", *self.answer_columns(), *extra])

    def of_model(self, digest: str, columns: list[str], also=None) -> "pa.Table":
        """The `columns` of one model's predictions (by digest) in the period (and `also`, a condition)."""
        import pyarrow.dataset as ds

        condition = ds.field("model_sha256") == digest
        return self.read(columns, self.in_period(condition if also is None else condition & also))

    def latency(self) -> tuple[str, ...]:
        """(LATENCY,) when the log holds the model calls' times, else (): a log written before them."""
        return (LATENCY,) if LATENCY in self.dataset.schema.names else ()

    @staticmethod
    def label_positions(answered: "pa.Table", labelled_ids: pd.Series) -> np.ndarray:
        """Each prediction's position in `labelled_ids`, or -1 when it has no label."""
        import pyarrow as pa

        ids = answered["request_id"]
        return index_in(ids, pa.array(labelled_ids, ids.type))

    @staticmethod
    def labelled(
        answered: "pa.Table", positions: np.ndarray
    ) -> tuple["pa.Table", np.ndarray, "pa.ChunkedArray"]:
        """The predictions that have a label, the position of each one's label, and the times of all."""
        import pyarrow as pa

        found = positions >= 0
        return answered.filter(pa.array(found)), positions[found], answered["time"]

    def _champion(self):
        import pyarrow.dataset as ds

        return ds.field("model_sha256") == self.digest

    def in_period(self, condition):
        return condition if self.period is None else condition & self.period

    def features(self, start: pd.Timestamp, end: pd.Timestamp, seed: int) -> pd.DataFrame:
        """The champion's logged inputs and answers between `start` and `end` (the newest window), DRIFT_ROWS at
        most."""
        import pyarrow.dataset as ds

        names = [n for n in self.dataset.schema.names if n not in META and n != "date"]
        names = [n for n in names if not n.startswith("proba_")]
        condition = (
            (ds.field("model_sha256") == self.digest) & (ds.field("time") >= start) & (ds.field("time") < end)
        )
        table = self.read(names, self.in_period(condition))
        if table.num_rows > DRIFT_ROWS:
            picked = np.sort(np.random.default_rng(seed).choice(table.num_rows, DRIFT_ROWS, replace=False))
            table = table.take(picked)
        return table.to_pandas()


def _file_schema(dataset, path: str) -> "pa.Schema":
    """The schema of one file of the log (none when it cannot be read: the dataset's own reading says why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path, filesystem=dataset.filesystem)
    except (FileNotFoundError, OSError):
        return pa.schema([])


def _typed_by_newer_files(schema: "pa.Schema", dataset, newest_first: list[str]) -> "pa.Schema":
    """`schema` with each column of Arrow's null type given its type in the newest file that holds a value of it.
    Since the log types its features (PredictionLog.for_features) the newest file has them all; an older log is read
    on, to every file's footer for a feature no request ever gave."""
    import pyarrow as pa

    untyped = {column.name for column in schema if pa.types.is_null(column.type)}
    for path in newest_first:
        found = _file_schema(dataset, path)
        for name in sorted(untyped & set(found.names)):
            if not pa.types.is_null(found.field(name).type):
                schema = schema.set(schema.get_field_index(name), found.field(name))
                untyped.discard(name)
        if not untyped:
            break
    return schema


def index_in(values: "pa.ChunkedArray", wanted: "pa.Array") -> np.ndarray:
    """Each value's position in `wanted`, or -1: Arrow's index_in on one run of chunks per core at once (its
    kernels release the GIL)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def positions(chunks: list) -> np.ndarray:
        found = pc.index_in(pa.chunked_array(chunks, values.type), value_set=wanted)
        return pc.fill_null(found, -1).to_numpy().astype(np.int64)

    chunks = values.chunks
    bounds = np.linspace(0, len(chunks), min(os.cpu_count() or 1, len(chunks)) + 1).astype(int)
    runs = [chunks[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(max_workers=max(len(runs), 1)) as pool:
        return np.concatenate([np.empty(0, np.int64), *pool.map(positions, runs)])


def _period(since: str | None, until: str | None):
    import pyarrow.dataset as ds

    condition = None
    for bound, keep in ((since, lambda t: ds.field("time") >= t), (until, lambda t: ds.field("time") < t)):
        if bound:
            try:
                moment = pd.Timestamp(bound, tz="UTC")
            except ValueError:
                raise UserError(f"'{bound}' is not a date: give --since and --until as YYYY-MM-DD") from None
            condition = keep(moment) if condition is None else condition & keep(moment)
    return condition


def read_labels(location: str, notes: list[str]) -> pd.DataFrame:
    """The labels that have arrived: request_id (the text written: 000123 stays 000123) and label; an empty frame
    when none has yet. Labels without a request id are left out, and `notes` says how many."""
    path = Path(location)
    sources = (
        sorted(p for p in path.rglob("*") if p.suffix in (".csv", ".parquet")) if path.is_dir() else [path]
    )
    sources = [source for source in sources if source.exists()]
    if not sources:
        return pd.DataFrame({"request_id": pd.Series(dtype=str), "label": pd.Series(dtype=str)})
    labels = pd.concat([_label_file(source, notes) for source in sources], ignore_index=True)
    missing = labels["request_id"].isna() | (labels["request_id"] == "")
    if missing.any():
        notes.append(f"left out {missing.sum():,} labels without a request_id (an empty cell)")
    return labels[~missing].reset_index(drop=True)


def _label_file(source: Path, notes: list[str]) -> pd.DataFrame:
    """One label file's request_id (as text) and label (read as pandas reads the data's values)."""
    suffix = source.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise UserError(f"labels {source}: give a .csv or .parquet file (or a directory of them)")
    try:
        frame = _label_csv(source) if suffix == ".csv" else _label_parquet(source, notes)
    except (ValueError, OSError) as error:  # not UTF-8, not CSV or not Parquet (Arrow's errors are these)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"labels {source} cannot be read ({reason}): give request_id, label") from None
    missing = {"request_id", "label"} - set(frame.columns)
    if missing:
        raise UserError(f"labels {source} has no column {', '.join(sorted(missing))}: give request_id, label")
    return frame[["request_id", "label"]]


def _label_csv(source: Path) -> pd.DataFrame:
    """A label CSV (its separator the one its header holds most of, as the data's reader), request_id as written:
    pandas would read 000123 as 123, 1e5 as 100000.0, and NA or null as missing."""
    with source.open(encoding="utf-8") as text:
        header = text.readline()
    separator = max(SEPARATORS, key=header.count)
    separator = separator if header.count(separator) else ","
    frame = pd.read_csv(source, sep=separator, dtype={"request_id": str})
    if "request_id" in frame.columns and frame["request_id"].isna().any():
        written = pd.read_csv(source, sep=separator, usecols=["request_id"], dtype=str, keep_default_na=False)
        frame["request_id"] = written["request_id"].to_numpy()  # an id NA or null is one; an empty cell is ""
    return frame


def _label_parquet(source: Path, notes: list[str]) -> pd.DataFrame:
    """A label Parquet file, request_id as text: integer ids as their decimal text (said in `notes`); floating-
    point ids are refused, since they cannot hold every id exactly."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(source)
    if "request_id" not in table.column_names:
        return table.to_pandas()
    ids = table["request_id"]
    if pa.types.is_dictionary(ids.type):
        ids = ids.cast(ids.type.value_type)
    if pa.types.is_integer(ids.type):
        notes.append(
            f"labels {source}: request_id holds integers, read as their decimal text (an id written with leading "
            "zeros, such as 000123, would not match: store request_id as text)"
        )
        ids = ids.cast(pa.string())
    elif not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        raise UserError(
            f"labels {source}: request_id is stored as {ids.type}, which cannot hold every id exactly (000123, "
            "1e5): store request_id as text"
        )
    frame = table.drop_columns(["request_id"]).to_pandas()
    return frame.assign(request_id=ids.to_pandas().to_numpy())


def usable_labels(labels: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The labels as text (the training target's form), one per request id: ids with different labels are left out."""
    labels = with_a_label(labels.assign(label=as_texts(labels["label"])), notes)
    if labels["request_id"].duplicated().any():
        labels = without_conflicts(labels.drop_duplicates(), notes)
    return labels.reset_index(drop=True)


def with_a_label(labels: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The labels whose label cell holds one, noting how many did not."""
    empty = labels["label"].isna()
    if empty.any():
        notes.append(f"left out {empty.sum():,} labels whose label is empty")
    return labels[~empty]


def as_logged_classes(labels: pd.DataFrame, logged: "pa.Schema") -> pd.DataFrame:
    """The labels (texts: usable_labels) under the names the log gives the model's classes, both compared as the
    training target's texts: a target stored as 0.0 and 1.0 logs the answer 0.0 and proba_0.0, whose label reads 0.
    A label of no class is kept as it is (join refuses it)."""
    import pyarrow as pa

    if "prediction" not in logged.names or not pa.types.is_floating(logged.field("prediction").type):
        return labels  # the classes are logged as their texts
    category_text = project.pipeline("features").category_text
    classes = [name.removeprefix("proba_") for name in logged.names if name.startswith("proba_")]
    renamed = {category_text(float(name)): name for name in classes}
    renamed = {text: name for text, name in renamed.items() if text != name}
    return labels.assign(label=labels["label"].replace(renamed)) if renamed else labels


def as_texts(classes: pd.Series) -> pd.Series:
    """Classes as the training target's texts (category_text, computed once per class)."""
    category_text = project.pipeline("features").category_text

    return classes.map({value: category_text(value) for value in classes.dropna().unique()})


def join(
    logged: tuple["pa.Table", np.ndarray, "pa.ChunkedArray"],
    labels: pd.DataFrame,
    config: Config,
    notes: list[str],
) -> Inputs:
    """Each labelled prediction with its label, and the predictions per window; refuse labels the model cannot have
    predicted. A request id a caller reused matters only where it has a label: those predictions are left out."""
    answered, position, times = logged  # the labels' ids are unique (usable_labels)
    offset = config.monitoring.window_offset
    window = _floor(answered["time"], offset)
    ids = answered["request_id"]
    repeated = np.bincount(position, minlength=len(labels))[position] > 1
    if repeated.any():
        notes.append(
            f"left out {repeated.sum():,} predictions whose request id appears more than once in the log (e.g. "
            f"'{shown(ids[int(np.argmax(repeated))].as_py())}'): a caller reused its X-Request-ID, so "
            "their labels cannot be told apart"
        )
    known = np.zeros(len(labels), dtype=bool)
    known[position] = True
    if (~known).any():
        notes.append(
            f"{(~known).sum():,} labels match no prediction of the champion in the period "
            f"(e.g. '{shown(labels.loc[~known, 'request_id'].iloc[0])}'): ignored"
        )
    if config.task == "classification" and known.any():
        _refuse_unknown_classes(labels.loc[known, "label"], answered.column_names)
    dropped = [name for name in ("request_id", LATENCY) if name in answered.column_names]
    joined = answered.drop_columns(dropped).to_pandas()[~repeated]
    joined["label"] = labels["label"].to_numpy()[position[~repeated]]
    joined["window"] = pd.to_datetime(window[~repeated], utc=True)
    return Inputs(joined, _per_window(times, offset), notes)


def _floor(times: "pa.ChunkedArray", offset: pd.Timedelta) -> np.ndarray:
    """Each time's window start in nanoseconds (aligned on the epoch, as pandas' floor aligns them)."""
    nanoseconds = times.to_numpy().astype("datetime64[ns]").astype(np.int64)
    return nanoseconds // offset.value * offset.value


def _per_window(times: "pa.ChunkedArray", offset: pd.Timedelta) -> pd.Series:
    """How many predictions each window holds, in time order."""
    starts = _floor(times, offset) // offset.value
    first = starts.min()
    counts = np.bincount(starts - first)
    windows = pd.to_datetime((np.flatnonzero(counts) + first) * offset.value, utc=True)
    return pd.Series(counts[counts > 0], index=windows)


def without_conflicts(labels: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Leave out the request ids that arrived with different labels, noting how many."""
    repeated = labels["request_id"].duplicated(keep=False)
    if repeated.any():
        ids = labels.loc[repeated, "request_id"]
        notes.append(
            f"left out {ids.nunique():,} request ids with different labels (e.g. '{shown(ids.iloc[0])}'): keep "
            "one label per request id"
        )
    return labels[~repeated]


def shown(text: str) -> str:
    """A request id from a log or label file as a report may show it: at most 40 characters of [A-Za-z0-9._:-]
    (the rest as ?), since the reports become issue and pull-request text."""
    return SHOWN.sub("?", str(text)[:40])


def _refuse_unknown_classes(labels: pd.Series, columns: list[str]) -> None:
    classes = [column.removeprefix("proba_") for column in columns if column.startswith("proba_")]
    unknown = sorted(set(labels.unique()) - set(classes))
    if unknown:
        raise UserError(
            f"label '{shown(unknown[0])}' is not a class the model knows ({', '.join(classes)}): fix the labels "
            "(the same texts as the training target)"
        )


def _release_metrics() -> dict:
    if not paths.METRICS.exists():
        raise UserError(f"{paths.METRICS} is missing: run the monitor from the released version's checkout")
    return json.loads(paths.METRICS.read_text())


def logged_segments(config: Config, logged: list[str], notes: list[str]) -> tuple[str, ...]:
    """The columns of segments.columns the log holds as served; a note for each it does not (a column under
    data.drop is no feature, so never logged; monitoring.exclude leaves one out, monitoring.hash hides its values)."""
    kept = []
    for column in config.segments.columns:
        name = column.name
        if name in config.monitoring.hash:
            notes.append(
                f"segment column {name} is hashed in the log (monitoring.hash): its segments are not shown"
            )
        elif name in config.monitoring.exclude or name not in logged or name in META or name == "prediction":
            why = (
                "monitoring.exclude leaves it out"
                if name in config.monitoring.exclude
                else "it is under data.drop, so never a feature"
                if name in config.data.drop
                else "the log does not hold it"
            )
            notes.append(
                f"segment column {name} is not in the prediction log ({why}): its segments are not shown"
            )
        else:
            kept.append(name)
    return tuple(kept)


def score_segments(labelled: pd.DataFrame, config: Config, probabilities: list[str], weights) -> dict:
    """The gate metric of one window's labelled predictions per segment of each logged segment column, with its 95%
    interval (not corrected for the number of segments: shown, never a verdict)."""
    from ..review import segments
    from ..review.compare import metric_intervals

    columns = [column for column in config.segments.columns if column.name in labelled.columns]
    if not columns:
        return {}
    name = config.gate.metric
    settings = replace(config, segments=replace(config.segments, columns=tuple(columns)))
    groups = segments.labels(settings, labelled)
    found: dict[str, list[dict]] = {}
    for column in groups.columns:
        for value, rows in groups.groupby(column, observed=True).groups.items():
            part = as_predictions(labelled.loc[rows], config.task, probabilities)
            row = {"segment": str(value)[: segments.MAX_VALUE_CHARS], "labelled": len(part)}
            if len(part) >= config.segments.min_rows:
                value_of = segments.score(config.task, part, name)
                interval = metric_intervals(config.task, part, weights=weights, names=[name]).get(name)
                if value_of is not None:
                    row["value"] = round(value_of, 6)
                if interval is not None and np.isfinite([interval.low, interval.high]).all():
                    row |= {"low": round(interval.low, 6), "high": round(interval.high, 6)}
            found.setdefault(column, []).append(row)
    return found


def score_windows(inputs: Inputs, config: Config, release: dict) -> list[dict]:
    """One row per window: predictions, share labelled, the metrics and the gate metric's interval and status."""
    from ..review.compare import group_weights

    labelled = dict(tuple(inputs.labelled.groupby("window", sort=True)))
    weights = group_weights(config.seed)  # shared by the windows: drawing them is the costly part
    probabilities = (
        None  # asked for when a window is judged: without one, drift alone needs no positive class
    )
    rows = []
    for window, count in inputs.predictions.items():
        group = labelled.get(window, inputs.labelled.iloc[:0])
        row = {
            "window": window.isoformat(),
            "predictions": int(count),
            "labelled": len(group),
            "share_labelled": round(len(group) / count, 4),
            "status": UNLABELLED,
        }
        if len(group) >= config.monitoring.min_labels:
            probabilities = probabilities or in_the_release_s_order(inputs.labelled.columns, config)
            row |= _judge(as_predictions(group, config.task, probabilities), config, release, weights)
            per_segment = score_segments(group, config, probabilities, weights)
            if per_segment:
                row["segments"] = per_segment
        rows.append(row)
    return rows


def in_the_release_s_order(columns: pd.Index, config: Config) -> list[str]:
    """The logged probability columns in the order of reports/predictions.parquet (the positive class last); without
    that file, a binary model's positive class is data.positive_label, or none is guessed."""
    import pyarrow.parquet as pq

    logged = [column for column in columns if column.startswith("proba_")]
    if not paths.PREDICTIONS.exists():
        return _positive_last(logged, config)
    released = [column for column in pq.read_schema(paths.PREDICTIONS).names if column.startswith("proba_")]
    return released if set(released) == set(logged) else logged


def _positive_last(logged: list[str], config: Config) -> list[str]:
    """The log keeps the model's classes sorted: the last is not the release's positive class (the rarest in its
    test set unless data.positive_label names one), and F1 or roc_auc of the wrong class looked like a healthy
    model."""
    if config.task != "classification" or len(logged) != 2:
        return logged  # multiclass metrics average over every class, named by its column
    positive = f"proba_{config.data.positive_label}"
    if config.data.positive_label and positive not in logged:
        classes = ", ".join(column.removeprefix("proba_") for column in logged)
        raise UserError(
            f"params.yaml: data.positive_label {config.data.positive_label!r} is not a class the model logged "
            f"({classes}): name one of them"
        )
    if positive not in logged:
        raise UserError(
            f"{paths.PREDICTIONS} is missing, so the release's positive class is unknown: run dvc pull, which "
            "brings it, or name the class in params.yaml (data.positive_label)"
        )
    return [column for column in logged if column != positive] + [positive]


def as_predictions(labelled: pd.DataFrame, task: str, probabilities: list[str]) -> pd.DataFrame:
    """The columns of reports/predictions.parquet: y_true, y_pred, proba_<class>."""
    frame = pd.DataFrame({"y_true": labelled["label"], "y_pred": labelled["prediction"]})
    if task == "classification":
        frame = pd.concat([frame.astype(str), labelled[probabilities]], axis=1)
    else:
        frame = frame.astype(float)
    return frame.reset_index(drop=True)


def _judge(predictions: pd.DataFrame, config: Config, release: dict, weights: np.ndarray) -> dict:
    name = config.gate.metric
    from .. import metrics
    from ..review.compare import metric_intervals

    scores = metrics.compute(config.task, predictions, [name])
    interval = metric_intervals(config.task, predictions, weights=weights, names=[name]).get(name)
    low, high = (interval.low, interval.high) if interval else (scores[name], scores[name])
    if not np.isfinite([scores[name], low, high]).all():
        return {"metrics": scores, "status": UNDEFINED}  # every comparison with NaN is false: it read as ok
    released = release.get(name)
    status = OK
    if released is not None:
        allowed = config.monitoring.tolerance.allowed_loss(released)
        higher_is_better = metrics.DIRECTIONS[config.task][name] > 0
        worse = high < released - allowed if higher_is_better else low > released + allowed
        status = DECAY if worse else OK
    return {"metrics": scores, "low": round(low, 6), "high": round(high, 6), "status": status}


def served_drift(newest: pd.DataFrame, config: Config, notes: list[str]) -> dict:
    """The served inputs of the newest window (a sample: Log.features) against the champion's reference sample,
    and the answers logged for them against the release's answers on its test set."""
    from . import drift

    reference = drift.read(paths.REFERENCE, "reference")
    features = [column for column in reference.columns if column != config.data.target]
    logged = [c for c in features if c in newest.columns and c not in config.monitoring.hash]
    answers = _answers(newest["prediction"], config.task, notes)
    return drift.check(reference[[*logged, config.data.target]], newest[logged], config, answers)


def _answers(served: pd.Series, task: str, notes: list[str]) -> tuple[pd.Series, pd.Series] | None:
    """The release's answers on its test set (reports/predictions.parquet) and the served ones, in one form."""
    if not paths.PREDICTIONS.exists():
        notes.append(
            f"{paths.PREDICTIONS} is missing (dvc pull brings it): the answers' drift is not measured"
        )
        return None
    released = pd.read_parquet(paths.PREDICTIONS, columns=["y_pred"])["y_pred"]
    if task == "classification":
        return as_texts(released), as_texts(served)
    return released.astype(float), served.astype(float)


def verdict(windows: list[dict], drifted: dict) -> str:
    judged = [window for window in windows if window["status"] not in (UNLABELLED, UNDEFINED)]
    if judged and judged[-1]["status"] == DECAY:
        return DECAY
    if drifted["drift"]:
        return DRIFT
    return OK if judged and judged[-1] is windows[-1] else UNLABELLED


def markdown(summary: dict, plot: str | None) -> str:
    name, release = summary["metric"], summary["release"]
    lines = [
        f"## Monitoring: {summary['verdict']}",
        "",
        f"{name} of the model in production (sha256 `{summary['model_sha256'][:12]}`) per window, on the "
        f"predictions whose true outcome has arrived, with its 95% interval; the release scored "
        f"{_number(release)} on its test set (decay: worse by more than {summary['tolerance']}).",
        "",
        f"| window | predictions | labelled | {name} | 95% interval | status |",
        "|---|---:|---:|---:|---|---|",
    ]
    for window in summary["windows"]:
        value = window.get("metrics", {}).get(name)
        interval = f"[{window['low']:.4f}, {window['high']:.4f}]" if "low" in window else ""
        lines.append(
            f"| {window['window'][:16]} | {window['predictions']:,} | {window['share_labelled']:.0%} | "
            f"{_number(value)} | {interval} | {window['status']} |"
        )
    lines += segments_markdown(summary)
    drifted = summary["drift"]
    lines += [
        "",
        f"Served inputs of the newest window against the champion's reference: "
        f"{'drift' if drifted['drift'] else 'no drift'} ({len(drifted['drifted_features'])} of "
        f"{len(drifted['features'])} features drifted).",
    ]
    newest = summary["windows"][-1]["status"] if summary["windows"] else UNLABELLED
    if summary["verdict"] == UNLABELLED and newest == UNDEFINED:
        lines += [
            "",
            f"The newest window's {name} is not a number on its labels (roc_auc, for one, needs both classes "
            "among them): no verdict on performance, only drift is measured.",
        ]
    elif summary["verdict"] == UNLABELLED:
        lines += [
            "",
            "The newest window has too few labels for a verdict on performance: only drift is measured.",
        ]
    if summary["notes"]:
        lines += ["", *(f"- {note}" for note in summary["notes"])]
    if plot:
        lines += ["", f"![{name} over time]({plot})"]
    if "ab" in summary:
        from .arms import markdown as arms_markdown

        lines += ["", arms_markdown(summary["ab"])]
    if "challenger" in summary:
        from .challenger import markdown as challenger_markdown

        lines += ["", challenger_markdown(summary["challenger"])]
    return "\n".join(lines) + "\n"


def segments_markdown(summary: dict) -> list[str]:
    """One table per segment column: each judged window's segments, their labelled predictions, the metric and its
    95% interval; a segment of fewer than segments.min_rows labels is shown, marked. Values are data: inert."""
    from ..review.markdown import text

    name = summary["metric"]
    tables: dict[str, list[str]] = {}
    for window in summary["windows"]:
        for column, rows in window.get("segments", {}).items():
            for row in rows:
                interval = f"[{row['low']:.4f}, {row['high']:.4f}]" if "low" in row else ""
                mark = "" if "value" in row else "too few labels to judge"
                tables.setdefault(column, []).append(
                    f"| {window['window'][:16]} | {text(row['segment'])} | {row['labelled']:,} | "
                    f"{_number(row.get('value'))} | {interval} | {mark} |"
                )
    lines = []
    for column, rows in tables.items():
        lines += [
            "",
            f"{name} per segment of {text(column)} (95% intervals, not corrected for the number of segments):",
            "",
            f"| window | segment | labelled | {name} | 95% interval | |",
            "|---|---|---:|---:|---|---|",
            *rows,
        ]
    return lines


def _number(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"


def write_plot(summary: dict, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    judged = [window for window in summary["windows"] if "low" in window]
    figure, axes = plt.subplots(figsize=(7, 3.2))
    if judged:
        times = pd.to_datetime([window["window"] for window in judged])
        values = np.array([window["metrics"][summary["metric"]] for window in judged])
        errors = [values - [w["low"] for w in judged], [w["high"] for w in judged] - values]
        axes.errorbar(
            times, values, yerr=np.clip(errors, 0, None), fmt="o-", capsize=3, label="live (95% interval)"
        )
    if summary["release"] is not None:
        axes.axhline(summary["release"], color="grey", linestyle="--", label="release (test set)")
    axes.set_ylabel(summary["metric"])
    axes.set_title(f"{summary['metric']} in production: {summary['verdict']}")
    axes.legend(loc="best", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    with files.atomic_path(target) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
