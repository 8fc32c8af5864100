"""Stage prepare: validate the data and split it into the train and test sets."""

import hashlib

import pandas as pd
from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.core.config import Config

from . import data


def run(config: Config) -> None:
    frame = data.load(config.data)
    train, test = split(frame, config)
    files.write_parquet(train, paths.TRAIN)
    files.write_parquet(test, paths.TEST)
    reference = train.sample(n=min(len(train), config.data.reference_rows), random_state=config.seed)
    files.write_parquet(reference, paths.REFERENCE)
    files.write_json(summarize(frame, train, test, reference, config), paths.DATA_SUMMARY)


def split(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out `split.test_size` of the rows; classification keeps each class's share in both sets."""
    from sklearn.model_selection import train_test_split

    target = frame[config.data.target]
    if config.task == "classification":
        _refuse_a_continuous_target(target)
    stratify = target if config.task == "classification" else None
    if stratify is not None and target.value_counts().min() < 2:
        rare = target.value_counts().idxmin()
        raise UserError(
            f"class '{rare}' of '{config.data.target}' has a single row: add rows or drop the class"
        )
    try:
        return train_test_split(
            frame, test_size=config.test_size, random_state=config.seed, stratify=stratify
        )
    except ValueError as error:
        raise UserError(
            f"cannot split {len(frame)} rows with split.test_size={config.test_size}: {error}"
        ) from None


def _refuse_a_continuous_target(target: pd.Series) -> None:
    """A classification target of fractional numbers is a measurement, not a class: say so instead of failing on
    its classes."""
    if pd.api.types.is_float_dtype(target):
        values = target.dropna()
        fractional = values[values != values.round()]
        if len(fractional):
            raise UserError(
                f"data.target '{target.name}' holds continuous numbers (e.g. {fractional.iloc[0]:g}) but this is a "
                "classification project: predict classes (bin the values into labels), or bake a regression project"
            )


def summarize(frame, train, test, reference, config: Config) -> dict:
    """What the model was trained on: sizes and content hashes, for the pull-request report and the drift check."""
    return {
        "source": config.data.path or data.BUNDLED,
        "rows": len(frame),
        "columns": frame.shape[1],
        "train_rows": len(train),
        "test_rows": len(test),
        "sha256": content_hash(frame),
        "reference_rows": len(reference),
        "reference_sha256": content_hash(reference),
    }


def content_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
