"""Load the dataset (the bundled one, or data.path) and check it before anything learns from it."""

import re
from pathlib import Path

import pandas as pd

from .. import UserError
from ..core.config import TASK, DataConfig

BUNDLED = "the bundled {{ 'breast cancer' if cookiecutter.task == 'classification' else 'diabetes' }} dataset"
READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}
MIN_ROWS_FOR_IDENTIFIERS = 20  # below this, a column of distinct values may be chance, not an identifier
IDENTIFIER_NAME = re.compile(r"(?i)(.*[^a-z0-9])?(id|uuid|guid|key)|.*[a-z0-9](Id|ID)")


def load(config: DataConfig) -> pd.DataFrame:
    """Return the validated data, or raise UserError with one line saying what is wrong and how to fix it."""
    frame = read_file(Path(config.path)) if config.path else read_bundled()
    source = config.path or BUNDLED
    absent = [column for column in config.drop if column not in frame.columns]
    if absent:
        raise UserError(f"data.drop names column(s) {_names(absent)} that {source} does not have")
    frame = frame.drop(columns=list(config.drop))
    validate(frame, config, source=source)
    return frame


def read_bundled() -> pd.DataFrame:
    """The dataset that ships inside scikit-learn: no download."""
{%- if cookiecutter.task == "classification" %}
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame
{%- else %}
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True, scaled=False).frame
{%- endif %}


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


def validate(frame: pd.DataFrame, config: DataConfig, source: str) -> None:
    if frame.empty:
        raise UserError(f"{source} has a header but no rows: add data")
    _check_columns(frame, config, source)
    _refuse_identifiers(frame, config, source)
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
    _check_types(frame, config, source)


def _check_columns(frame: pd.DataFrame, config: DataConfig, source: str) -> None:
    if config.target not in frame.columns:
        raise UserError(
            f"{source} has no target column '{config.target}' (columns: {_names(frame.columns[:10])}): "
            "set data.target in params.yaml"
        )
    unknown = [column for column in config.categorical if column not in frame.columns]
    if unknown:
        raise UserError(f"data.categorical names column(s) {_names(unknown)} that {source} does not have")
    if frame.shape[1] < 2:
        raise UserError(f"{source} has no feature columns besides the target '{config.target}'")


def _refuse_identifiers(frame: pd.DataFrame, config: DataConfig, source: str) -> None:
    """A column with a different value on every row, of text or named like an id, identifies rows: a model that
    learns from it learns nothing that holds for new rows, and new ids look like drift."""
    if len(frame) < MIN_ROWS_FOR_IDENTIFIERS:
        return
    for column in frame.columns.drop(config.target):
        values = frame[column]
        text = not pd.api.types.is_numeric_dtype(values)
        named = pd.api.types.is_integer_dtype(values) and IDENTIFIER_NAME.fullmatch(str(column))
        if (text or named) and values.nunique(dropna=False) == len(frame):
            raise UserError(
                f"{source}: column '{column}' has a different value on every row, like an identifier: list it "
                "under data.drop in params.yaml so that the model does not learn from it"
            )


def _check_types(frame: pd.DataFrame, config: DataConfig, source: str) -> None:
    features = frame.drop(columns=[config.target, *config.categorical])
    text = [str(column) for column in features.columns if not pd.api.types.is_numeric_dtype(features[column])]
    if text:
        raise UserError(
            f"{source}: column(s) {_names(text)} are not numeric: list them under data.categorical in "
            "params.yaml or convert them to numbers"
        )
    target = frame[config.target]
    if TASK == "regression" and not pd.api.types.is_numeric_dtype(target):
        raise UserError(f"{source}: target '{config.target}' must be numeric for regression")
    if TASK == "classification" and target.nunique() < 2:
        raise UserError(
            f"{source}: target '{config.target}' has a single class: classification needs two or more"
        )


def _names(columns: object) -> str:
    return ", ".join(f"'{column}'" for column in columns)  # type: ignore[union-attr]
