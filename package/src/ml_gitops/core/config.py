"""Read params.yaml and check every value before any stage uses it."""

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .. import UserError, project
from . import paths

# Every key params.yaml may hold: a misspelt or invented one is refused, never ignored (model.params is free-form:
# scikit-learn checks the estimator's arguments).
KEYS = {
    "seed": None,
    "data": (
        "path",
        "target",
        "categorical",
        "datetime",
        "drop",
        "positive_label",  # classification only
        "reference_rows",
        "id",
        "duplicate_share",
    ),
    "split": ("test_size", "time"),
    "model": ("name", "params"),
    "evaluate": ("importance_repeats", "importance_max_rows"),
    "gate": ("metric", "tolerance", "inconclusive", "segments"),
    "drift": ("p_value", "psi", "share"),
    "monitoring": (
        "log_dir",
        "batch_rows",
        "flush_seconds",
        "exclude",
        "hash",
        "labels",
        "window",
        "min_labels",
        "tolerance",
    ),
    "segments": ("columns", "min_rows"),  # optional: params.yaml before issue 30 has none
}


@dataclass(frozen=True)
class DataConfig:
    path: str
    target: str
    categorical: tuple[str, ...]  # read as categories: codes given as numbers or texts are the same category
    datetime: tuple[str, ...]  # read as dates (ISO 8601 text or Parquet timestamps): turned into date parts
    drop: tuple[str, ...]  # removed as the data is read: never a feature
    positive_label: str  # classification: the positive class of binary metrics ("" = the rarest class)
    reference_rows: int
    id: str = ""  # the column that names a row: its key for the split ("" = a hash of the row's features)
    duplicate_share: float = 0.05  # prepare warns when more of the rows than this repeat another row exactly


@dataclass(frozen=True)
class ModelConfig:
    name: str  # checked against the estimators of pipeline/train.py
    params: dict[str, Any]


@dataclass(frozen=True)
class EvaluateConfig:
    importance_repeats: int
    importance_max_rows: int


@dataclass(frozen=True)
class GateConfig:
    metric: str  # checked against the metrics of pipeline/metrics.py
    tolerance: float  # how much worse the candidate may be: in the metric's units, or a share of the champion's value
    relative: bool = False  # tolerance was given as a percentage ("2%")
    blocks_inconclusive: bool = True  # gate.inconclusive: block (the default) or pass

    def allowed_loss(self, champion: float) -> float:
        return self.tolerance * abs(champion) if self.relative else self.tolerance

    def describe(self) -> str:
        return (
            f"{self.tolerance * 100:g}% of the champion's value" if self.relative else f"{self.tolerance:g}"
        )


MAX_SEGMENT_BINS = 100  # edges per segment column: each range has its own bootstrap draws in the report


@dataclass(frozen=True)
class SegmentColumn:
    """A column whose values split the test rows into segments: each value its own segment, or cut at `bins`."""

    name: str
    bins: tuple[float, ...] | tuple[pd.Timestamp, ...] = ()  # increasing edges; empty: one segment per value
    tolerance: GateConfig | None = None  # how much worse a segment may be (None: the gate's tolerance)


@dataclass(frozen=True)
class SegmentsConfig:
    columns: tuple[SegmentColumn, ...] = ()
    min_rows: int = 100  # a smaller segment is shown and marked, never judged
    blocks: bool = True  # gate.segments: block (a segment surely worse fails the gate) or report (shown only)

    def tolerance(self, column: SegmentColumn, gate: GateConfig) -> GateConfig:
        return column.tolerance or gate


@dataclass(frozen=True)
class DriftConfig:
    p_value: float
    psi: float
    share: float


@dataclass(frozen=True)
class MonitoringConfig:
    log_dir: str  # where the service and `score` write the prediction log: a directory or an fsspec URL
    batch_rows: int  # rows per log file at most: a crash loses at most this many (or flush_seconds' worth)
    flush_seconds: float
    exclude: tuple[str, ...]  # features never written to the log
    hash: tuple[str, ...]  # features written as an HMAC-SHA256 keyed with PREDICTION_LOG_KEY
    labels: str  # the true outcomes: a CSV or Parquet file or a directory (request_id, label[, time])
    window: str  # the monitor's time window, a pandas frequency: 1D, 7D, 1h
    min_labels: int  # a window with fewer labelled predictions gets no verdict on performance
    tolerance: GateConfig  # decay: the live metric's interval is worse than the release's by more than this

    @property
    def window_offset(self) -> pd.Timedelta:
        return pd.Timedelta(self.window)


@dataclass(frozen=True)
class Config:
    task: str
    seed: int
    data: DataConfig
    test_size: float
    model: ModelConfig
    evaluate: EvaluateConfig
    gate: GateConfig
    drift: DriftConfig
    monitoring: MonitoringConfig
    split_time: str = ""  # split.time: a date column whose newest test_size of the rows is the test set
    segments: SegmentsConfig = (
        SegmentsConfig()
    )  # the groups of rows the report, the gate and the monitor show


def load(path: Path = paths.PARAMS) -> Config:
    """Parse params.yaml into a Config, or raise UserError naming the first bad value."""
    raw = _read_yaml(path)
    _refuse_unknown_keys(raw, project.task())
    gate = _gate(_section(raw, "gate"))
    data = _data(_section(raw, "data"))
    return Config(
        task=project.task(),
        seed=_integer(raw, "seed", minimum=0),
        data=data,
        test_size=_fraction(_section(raw, "split"), "split.test_size"),
        split_time=_split_time(_section(raw, "split"), data),
        model=_model(_section(raw, "model")),
        evaluate=_evaluate(_section(raw, "evaluate")),
        gate=gate,
        drift=_drift(_section(raw, "drift")),
        monitoring=_monitoring(_section(raw, "monitoring"), gate.metric),
        segments=_segments(raw.get("segments"), _section(raw, "gate"), gate, data),
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} not found: run the command from the repository root") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{path} is not valid YAML{where}: fix the syntax") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path} must be a mapping of sections (data, split, model, ...)")
    return raw


def _refuse_unknown_keys(raw: dict[str, Any], task: str) -> None:
    known = [*KEYS, *(f"{name}.{key}" for name, keys in KEYS.items() for key in keys or ())]
    if task != "classification":
        known.remove("data.positive_label")
    sections = {
        name: section for name, section in raw.items() if KEYS.get(name) and isinstance(section, dict)
    }
    given = [str(name) for name in raw] + [
        f"{name}.{key}" for name, section in sections.items() for key in section
    ]
    for key in given:
        if key not in known:
            raise UserError(f"params.yaml: unknown key {key}: {_suggestion(key, known)}")


def _suggestion(key: str, known: list[str]) -> str:
    """The key meant, when one is close; otherwise the keys its section takes."""
    section, _, _ = key.rpartition(".")
    candidates = [name for name in known if name.rpartition(".")[0] == section]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]}?"
    where = f"section {section} takes" if section else "params.yaml takes"
    return f"{where} {', '.join(name.rpartition('.')[2] for name in candidates)}"


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    section = raw.get(name)
    if not isinstance(section, dict):
        raise UserError(f"params.yaml: section '{name}' is missing or not a mapping")
    return {f"{name}.{key}": value for key, value in section.items()}


def _value(section: dict[str, Any], key: str) -> Any:
    if key not in section:
        raise UserError(f"params.yaml: {key} is missing")
    return section[key]


def _integer(section: dict[str, Any], key: str, minimum: int) -> int:
    value = _value(section, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UserError(f"params.yaml: {key} must be a whole number >= {minimum}, got {value!r}")
    return value


def _fraction(section: dict[str, Any], key: str) -> float:
    value = _value(section, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise UserError(f"params.yaml: {key} must be a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def _string_list(section: dict[str, Any], key: str) -> tuple[str, ...]:
    value = section.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UserError(f"params.yaml: {key} must be a list of column names, got {value!r}")
    return tuple(value)


def _data(section: dict[str, Any]) -> DataConfig:
    path, target = section.get("data.path") or "", _value(section, "data.target")
    if not isinstance(path, str):
        raise UserError(f"params.yaml: data.path must be a file path or empty, got {path!r}")
    if not isinstance(target, str) or not target:
        raise UserError(f"params.yaml: data.target must be the name of a column, got {target!r}")
    roles = {key: _string_list(section, f"data.{key}") for key in ("categorical", "datetime", "drop")}
    for key, columns in roles.items():
        if target in columns:
            raise UserError(f"params.yaml: data.{key} lists the target '{target}': remove it from the list")
    for column in sorted({column for columns in roles.values() for column in columns}):
        where = [f"data.{key}" for key, columns in roles.items() if column in columns]
        if len(where) > 1:
            raise UserError(
                f"params.yaml: '{column}' is under both {where[0]} and {where[1]}: keep it in one of them"
            )
    positive_label = section.get("data.positive_label")
    if positive_label is None:  # not `or ""`: a class named 0 is a class, not "the rarest"
        positive_label = ""
    if isinstance(positive_label, bool) or not isinstance(positive_label, str | int | float):
        raise UserError(
            f"params.yaml: data.positive_label must be one class of the target, got {positive_label!r}"
        )
    reference_rows = _integer(section, "data.reference_rows", minimum=100)
    row_id = _column_name(section, "data.id")
    if row_id and (row_id == target or any(row_id in columns for columns in roles.values())):
        where = (
            "data.target" if row_id == target else "data." + next(k for k, c in roles.items() if row_id in c)
        )
        raise UserError(
            f"params.yaml: data.id '{row_id}' is also {where}: an id names rows, it is not a feature"
        )
    duplicate_share = section.get("data.duplicate_share", 0.05)
    if (
        isinstance(duplicate_share, bool)
        or not isinstance(duplicate_share, int | float)
        or not 0 <= duplicate_share <= 1
    ):
        raise UserError(
            f"params.yaml: data.duplicate_share must be a share from 0 to 1, got {duplicate_share!r}"
        )
    return DataConfig(
        path=path,
        target=target,
        categorical=roles["categorical"],
        datetime=roles["datetime"],
        drop=roles["drop"],
        positive_label=str(positive_label),
        reference_rows=reference_rows,
        id=row_id,
        duplicate_share=float(duplicate_share),
    )


def _column_name(section: dict[str, Any], key: str) -> str:
    value = section.get(key) or ""
    if not isinstance(value, str):
        raise UserError(f"params.yaml: {key} must be the name of a column or empty, got {value!r}")
    return value


def _split_time(section: dict[str, Any], data: DataConfig) -> str:
    column = _column_name(section, "split.time")
    if column and column not in data.datetime:
        raise UserError(
            f"params.yaml: split.time '{column}' must be a date column: list it under data.datetime too"
        )
    return column


def _model(section: dict[str, Any]) -> ModelConfig:
    name, params = _value(section, "model.name"), section.get("model.params") or {}
    if not isinstance(name, str) or not name:
        raise UserError(f"params.yaml: model.name must be the name of an estimator, got {name!r}")
    if not isinstance(params, dict):
        raise UserError(f"params.yaml: model.params must be a mapping of estimator arguments, got {params!r}")
    return ModelConfig(name=name, params=params)


def _evaluate(section: dict[str, Any]) -> EvaluateConfig:
    return EvaluateConfig(
        importance_repeats=_integer(section, "evaluate.importance_repeats", minimum=1),
        importance_max_rows=_integer(section, "evaluate.importance_max_rows", minimum=10),
    )


def _gate(section: dict[str, Any]) -> GateConfig:
    metric = _value(section, "gate.metric")
    if not isinstance(metric, str) or not metric:
        raise UserError(f"params.yaml: gate.metric must be the name of a metric, got {metric!r}")
    inconclusive = section.get("gate.inconclusive", "block")
    if inconclusive not in ("block", "pass"):
        raise UserError(f"params.yaml: gate.inconclusive must be block or pass, got {inconclusive!r}")
    return replace(_tolerance(section, "gate.tolerance", metric), blocks_inconclusive=inconclusive == "block")


def _tolerance(section: dict[str, Any], key: str, metric: str) -> GateConfig:
    """A tolerance on `metric`: a number in its units, or a percentage of the reference value ("1%")."""
    tolerance = _value(section, key)
    percentage = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", tolerance) if isinstance(tolerance, str) else None
    if percentage:
        return GateConfig(metric=metric, tolerance=float(percentage.group(1)) / 100, relative=True)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise UserError(
            f"params.yaml: {key} must be a number >= 0 or a percentage such as 2%, got {tolerance!r}"
        )
    return GateConfig(metric=metric, tolerance=float(tolerance))


SEGMENT_KEYS = ("bins", "tolerance")
MAX_SEGMENT_COLUMNS = (
    5  # with review/segments.py's MAX_SEGMENTS, the report's tables stay well inside a comment
)


def _segments(raw: Any, gate_section: dict[str, Any], gate: GateConfig, data: DataConfig) -> SegmentsConfig:
    """The segments section (optional) and gate.segments: which columns, cut how, judged from how many rows."""
    mode = gate_section.get("gate.segments", "block")
    if mode not in ("block", "report"):
        raise UserError(f"params.yaml: gate.segments must be block or report, got {mode!r}")
    if raw is None:
        return SegmentsConfig(blocks=mode == "block")
    if not isinstance(raw, dict):
        raise UserError("params.yaml: section 'segments' must be a mapping (columns, min_rows)")
    section = {f"segments.{key}": value for key, value in raw.items()}
    columns = section.get("segments.columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(name, str) and name for name in columns):
        raise UserError(
            "params.yaml: segments.columns must map column names to their settings, e.g. region: {} or "
            f"age: {{bins: [30, 50, 70]}}, got {columns!r}"
        )
    if len(columns) > MAX_SEGMENT_COLUMNS:
        raise UserError(
            f"params.yaml: segments.columns names {len(columns)} columns: at most {MAX_SEGMENT_COLUMNS}"
        )
    min_rows = _integer(section, "segments.min_rows", minimum=10) if "segments.min_rows" in section else 100
    return SegmentsConfig(
        columns=tuple(_segment_column(name, value, gate, data) for name, value in columns.items()),
        min_rows=min_rows,
        blocks=mode == "block",
    )


def _segment_column(name: str, settings: Any, gate: GateConfig, data: DataConfig) -> SegmentColumn:
    key = f"segments.columns.{name}"
    if name in (data.target, data.id):
        role = "data.target" if name == data.target else "data.id"
        raise UserError(
            f"params.yaml: {key}: '{name}' is {role}; segments are groups of rows by another column"
        )
    settings = {} if settings is None else settings
    if not isinstance(settings, dict):
        raise UserError(
            f"params.yaml: {key} must be a mapping: {{}} (each value a segment), {{bins: [...]}} or "
            f"{{tolerance: ...}}, got {settings!r}"
        )
    for unknown in sorted(set(settings) - set(SEGMENT_KEYS), key=str):
        raise UserError(
            f"params.yaml: unknown key {key}.{unknown}: {_suggestion(f'{key}.{unknown}', [f'{key}.{k}' for k in SEGMENT_KEYS])}"
        )
    tolerance = (
        _tolerance({f"{key}.tolerance": settings["tolerance"]}, f"{key}.tolerance", gate.metric)
        if "tolerance" in settings
        else None
    )
    return SegmentColumn(name=name, bins=_bins(settings.get("bins"), f"{key}.bins"), tolerance=tolerance)


def _bins(value: Any, key: str) -> tuple:
    """Increasing edges: all numbers, or all dates (YYYY-MM-DD, quoted or not); at most MAX_SEGMENT_BINS."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise UserError(f"params.yaml: {key} must be a list of increasing numbers or dates, got {value!r}")
    if len(value) > MAX_SEGMENT_BINS:
        raise UserError(
            f"params.yaml: {key} has {len(value):,} edges (at most {MAX_SEGMENT_BINS}): cut the column into fewer ranges"
        )
    if all(isinstance(edge, int | float) and not isinstance(edge, bool) for edge in value):
        edges: list = [float(edge) for edge in value]
    elif all(isinstance(edge, str | date) and not isinstance(edge, bool) for edge in value):
        edges = [_date(edge, key) for edge in value]
    else:
        raise UserError(f"params.yaml: {key} must be all numbers or all dates, got {value!r}")
    for before, after, shown in zip(edges, edges[1:], value[1:], strict=False):
        if not after > before:
            raise UserError(
                f"params.yaml: {key} must increase: {shown!r} does not come after the edge before it"
            )
    return tuple(edges)


def _date(edge: Any, key: str) -> pd.Timestamp:
    try:
        moment = pd.Timestamp(edge)
    except (ValueError, TypeError):
        moment = pd.NaT
    if pd.isna(moment):
        raise UserError(f"params.yaml: {key}: {edge!r} is neither a number nor a date such as 2024-01-31")
    return moment.tz_localize(None) if moment.tzinfo else moment


def _drift(section: dict[str, Any]) -> DriftConfig:
    psi = _value(section, "drift.psi")
    if isinstance(psi, bool) or not isinstance(psi, int | float) or psi <= 0:
        raise UserError(f"params.yaml: drift.psi must be a number > 0, got {psi!r}")
    return DriftConfig(
        p_value=_fraction(section, "drift.p_value"),
        psi=float(psi),
        share=_share(section, "drift.share"),
    )


def _share(section: dict[str, Any], key: str) -> float:
    value = _value(section, key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise UserError(f"params.yaml: {key} must be a number above 0 and at most 1, got {value!r}")
    return float(value)


def _monitoring(section: dict[str, Any], metric: str) -> MonitoringConfig:
    log_dir, labels = section.get("monitoring.log_dir") or "", section.get("monitoring.labels") or ""
    for key, value in (("monitoring.log_dir", log_dir), ("monitoring.labels", labels)):
        if not isinstance(value, str):
            raise UserError(f"params.yaml: {key} must be a path or URL, got {value!r}")
    window = _value(section, "monitoring.window")
    try:
        if not isinstance(window, str) or pd.Timedelta(window) <= pd.Timedelta(0):
            raise ValueError
    except ValueError:
        raise UserError(
            f"params.yaml: monitoring.window must be a duration such as 1D, 7D or 6h, got {window!r}"
        ) from None
    flush = _value(section, "monitoring.flush_seconds")
    if isinstance(flush, bool) or not isinstance(flush, int | float) or not 0 < flush <= 3600:
        raise UserError(
            f"params.yaml: monitoring.flush_seconds must be a number of seconds in (0, 3600], got {flush!r}"
        )
    exclude, hashed = (_string_list(section, f"monitoring.{key}") for key in ("exclude", "hash"))
    if both := sorted(set(exclude) & set(hashed)):
        raise UserError(
            f"params.yaml: '{both[0]}' is under both monitoring.exclude and monitoring.hash: keep it in one"
        )
    tolerance = _tolerance(section, "monitoring.tolerance", metric)
    return MonitoringConfig(
        log_dir=log_dir,
        batch_rows=_integer(section, "monitoring.batch_rows", minimum=1),
        flush_seconds=float(flush),
        exclude=exclude,
        hash=hashed,
        labels=labels,
        window=window,
        min_labels=_integer(section, "monitoring.min_labels", minimum=1),
        tolerance=tolerance,
    )
