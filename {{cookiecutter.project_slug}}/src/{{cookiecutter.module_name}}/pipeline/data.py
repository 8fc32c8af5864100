"""Load the dataset (the bundled one, or data.path) and check it before anything learns from it."""

{% if cookiecutter.task == "classification" -%}
import csv
{%- else -%}
import gzip
{%- endif %}
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from ml_gitops import UserError
from ml_gitops.core.config import DataConfig

from . import TASK, columns

BUNDLED = "the bundled {{ 'breast cancer' if cookiecutter.task == 'classification' else 'diabetes' }} dataset"
{%- if cookiecutter.task == "classification" %}
MEASURES = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity")
MEASURES += ("concave points", "symmetry", "fractal dimension")
BUNDLED_FEATURES = [
    *(f"mean {measure}" for measure in MEASURES),
    *(f"{measure} error" for measure in MEASURES),
    *(f"worst {measure}" for measure in MEASURES),
]
{%- else %}
BUNDLED_FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
{%- endif %}
SEPARATORS = (",", ";", "\t", "|")  # a CSV's separator: the one its header line holds most of


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV with the separator its header shows (a comma, or a semicolon as spreadsheets write it in many
    languages, a tab, a bar)."""
    with path.open(encoding="utf-8") as text:
        header = text.readline()
    separator = max(SEPARATORS, key=header.count)
    return pd.read_csv(path, sep=separator if header.count(separator) else ",")


READERS = {".csv": read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def load(config: DataConfig) -> pd.DataFrame:
    """Return the validated data, categories as texts and dates as timestamps (columns.apply), or raise UserError
    with one line saying what is wrong and how to fix it."""
    return load_with_roles(config)[0]


def load_with_roles(config: DataConfig) -> tuple[pd.DataFrame, columns.Roles]:
    frame = read_file(Path(config.path)) if config.path else read_bundled()
    source = config.path or BUNDLED
    absent = [column for column in config.drop if column not in frame.columns]
    if absent:
        raise UserError(f"data.drop names column(s) {_names(absent)} that {source} does not have")
    frame = frame.drop(columns=list(config.drop))
    if config.id:
        frame = _index_by_id(frame, config.id, source)
    roles = validate(frame, config, source=source)
    return columns.apply(frame, roles), roles


def read_bundled() -> pd.DataFrame:
    """The dataset that ships inside scikit-learn: no download. Its files are read as scikit-learn's loader reads
    them, without importing scikit-learn (prepare needs nothing else of it): the same frame, as
    tests/pipeline/test_bundled_data.py checks."""
    folder = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "data"
{%- if cookiecutter.task == "classification" %}
    with (folder / "breast_cancer.csv").open(encoding="utf-8") as text:
        rows = list(csv.reader(text))[1:]  # the first line holds the counts and the class names
    frame = pd.DataFrame(np.asarray([row[:-1] for row in rows], dtype=np.float64), columns=BUNDLED_FEATURES)
    frame["target"] = np.asarray([row[-1] for row in rows], dtype=int)
{%- else %}
    with gzip.open(folder / "diabetes_data_raw.csv.gz", mode="rt", encoding="utf-8") as text:
        frame = pd.DataFrame(np.loadtxt(text), columns=BUNDLED_FEATURES)
    with gzip.open(folder / "diabetes_target.csv.gz", mode="rt", encoding="utf-8") as text:
        frame["target"] = np.loadtxt(text)
{%- endif %}
    return frame


def read_file(path: Path) -> pd.DataFrame:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UserError(
            f"data file {path} has the unsupported extension '{path.suffix}': use .csv or .parquet"
        )
    if not path.is_file():
        raise UserError(f"data file {path} not found: fix data.path in params.yaml (empty means {BUNDLED})")
    if path.stat().st_size == 0:
        raise UserError(
            f"data file {path} is empty (0 bytes): point data.path at a file with a header and rows"
        )
    try:
        return reader(path)
    except UnicodeDecodeError:
        raise UserError(f"data file {path} is not UTF-8 text: save it with UTF-8 encoding") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"data file {path} has no header or rows") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"data file {path} cannot be read as {path.suffix[1:]}: {reason}") from None


def _index_by_id(frame: pd.DataFrame, column: str, source: str) -> pd.DataFrame:
    """The id column becomes the index: it names the row (its key for the split), the model never sees it."""
    if column not in frame.columns:
        raise UserError(
            f"data.id names column '{column}' that {source} does not have: fix data.id in params.yaml"
        )
    missing = int(frame[column].isna().sum())
    if missing:
        raise UserError(
            f"{source}: id column '{column}' is missing in {missing} row(s): give every row an id"
        )
    return frame.set_index(column)


def validate(frame: pd.DataFrame, config: DataConfig, source: str) -> columns.Roles:
    if frame.empty:
        raise UserError(f"{source} has a header but no rows: add data")
    _check_columns(frame, config, source)
    empty = [str(column) for column in frame.columns if frame[column].isna().all()]
    if empty:
        raise UserError(
            f"{source}: column(s) {_names(empty)} contain only missing values: drop them from the data"
        )
    missing_target = int(frame[config.target].isna().sum())
    if missing_target:
        raise UserError(
            f"{source}: target '{config.target}' is missing in {missing_target} row(s): drop or fill them"
        )
    _check_target(frame[config.target], source)
    return columns.assign(frame, config, source)


def _check_columns(frame: pd.DataFrame, config: DataConfig, source: str) -> None:
    if config.target not in frame.columns:
        same_but_case = [str(c) for c in frame.columns if str(c).casefold() == config.target.casefold()]
        if same_but_case:
            raise UserError(
                f"{source} has no target column '{config.target}': did you mean '{same_but_case[0]}'? "
                "Set data.target in params.yaml to it (column names are case-sensitive)"
            )
        raise UserError(
            f"{source} has no target column '{config.target}' (columns: {_names(frame.columns[:10])}): "
            "set data.target in params.yaml"
        )
    for key, named in (("categorical", config.categorical), ("datetime", config.datetime)):
        unknown = [column for column in named if column not in frame.columns]
        if unknown:
            raise UserError(f"data.{key} names column(s) {_names(unknown)} that {source} does not have")
    if frame.shape[1] < 2:
        raise UserError(f"{source} has no feature columns besides the target '{config.target}'")


def _check_target(target: pd.Series, source: str) -> None:
    if TASK == "regression" and not pd.api.types.is_numeric_dtype(target):
        raise UserError(f"{source}: target '{target.name}' must be numeric for regression")
    if TASK == "classification" and target.nunique() < 2:
        raise UserError(
            f"{source}: target '{target.name}' has a single class: classification needs two or more"
        )


def _names(names: object) -> str:
    return ", ".join(f"'{name}'" for name in names)  # type: ignore[union-attr]
