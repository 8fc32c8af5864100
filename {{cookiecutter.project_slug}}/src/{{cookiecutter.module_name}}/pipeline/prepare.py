"""Stage prepare: validate the data and split it into the train and test sets."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.core import split as rows
from ml_gitops.core.config import Config
from ml_gitops.review import segments

from . import data

SEGMENTS = paths.PREPARED / "segments.parquet"  # the test rows' segment columns (ml_gitops.review.segments)


def run(config: Config) -> None:
    frame = data.load(config.data)
    in_test = test_rows(frame, config)
    train, test = frame[~in_test], frame[in_test]
    kept = segment_values(frame, in_test, config)  # checked before anything is written
    files.write_parquet(train, paths.TRAIN)
    files.write_parquet(test, paths.TEST)
    files.write_parquet(kept, SEGMENTS)
    reference = train.sample(n=min(len(train), config.data.reference_rows), random_state=config.seed)
    files.write_parquet(reference, paths.REFERENCE)
    summary = summarize(frame, train, test, reference, config)
    files.write_json(summary, paths.DATA_SUMMARY)
    print(describe_split(summary, config))
    warning = duplicates_warning(summary, config)
    if warning:
        print(warning)


def split(frame: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows and the test rows (test_rows)."""
    in_test = test_rows(frame, config)
    return frame[~in_test], frame[in_test]


def segment_values(frame: pd.DataFrame, in_test: np.ndarray, config: Config) -> pd.DataFrame:
    """The test rows' columns of segments.columns, indexed as the test set: features as prepared, and columns under
    data.drop (which the model never sees) read again from the source, matched by position. Cut into segments
    here once, so that bad settings (a number column without bins, text in bins of numbers) stop `make repro`."""
    names = [column.name for column in config.segments.columns]
    values = frame.loc[in_test, [name for name in names if name in frame.columns]]
    dropped = [name for name in names if name not in frame.columns]
    if dropped:
        raw = data.read_file(Path(config.data.path)) if config.data.path else data.read_bundled()
        absent = [name for name in dropped if name not in raw.columns]
        if absent:
            raise UserError(
                f"segments.columns names '{absent[0]}', which {config.data.path or data.BUNDLED} does not have: "
                "fix segments.columns in params.yaml"
            )
        values = values.assign(**{name: raw[name].to_numpy()[in_test] for name in dropped})
    segments.labels(config, values[names])
    return values[names]


def test_rows(frame: pd.DataFrame, config: Config) -> np.ndarray:
    """Which rows to hold out: `split.test_size` of them, those whose key (data.id, else the row's features)
    hashes below it with the seed, or the newest rows (split.time). A row's side never depends on the other rows
    or on how the target's classes are spelt, and identical rows share a side."""
    target = frame[config.data.target]
    if config.task == "classification":
        _refuse_a_continuous_target(target)
        if target.value_counts().min() < 2:
            rare = target.value_counts().idxmin()
            raise UserError(
                f"class '{rare}' of '{config.data.target}' has a single row: add rows or drop the class"
            )
    if config.split_time:
        test = rows.newest(frame[config.split_time], config.test_size)
        how = f"the newest {config.test_size:g} of the rows by {config.split_time} (split.time)"
    else:
        test = rows.in_test_set(
            rows.row_keys(frame, config.data.target, config.data.id), config.seed, config.test_size
        )
        how = f"split.test_size {config.test_size:g} of {len(frame)} rows by their keys"
    if test.all() or not test.any():
        side = "test" if not test.any() else "training"
        raise UserError(
            f"cannot split {len(frame)} rows with {how}: the {side} set would be empty; add rows or change split.test_size"
        )
    if config.task == "classification":
        _refuse_a_class_on_one_side(target, test, how)
    return np.asarray(test)


def _refuse_a_class_on_one_side(target: pd.Series, test: np.ndarray, how: str) -> None:
    """Every class must be learnt from and scored on: a class whose rows all fell on one side stops here. Classes
    are named as text (3 and "3" are one class), each distinct value written out once, not every row."""
    codes, names = _class_codes(target)
    for side, rows_of_side in (("training", ~test), ("test", test)):
        absent = sorted(set(names[np.unique(codes)]) - set(names[np.unique(codes[rows_of_side])]))
        if absent:
            count = int(np.isin(codes, np.flatnonzero(names == absent[0])).sum())
            raise UserError(
                f"class '{absent[0]}' of '{target.name}' has {count} row(s), none of them in the {side} set "
                f"({how}): add rows of that class, or change split.test_size"
            )


def _class_codes(target: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code and each code's class as text (as target.astype(str) names it; a missing value too)."""
    codes, uniques = pd.factorize(target)
    names = [str(value) for value in uniques]
    if (codes < 0).any():
        names.append(str(target[codes < 0].iloc[0]))
        codes = np.where(codes < 0, len(names) - 1, codes)
    return codes, np.asarray(names, dtype=object)


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
    """What the model was trained on: sizes, content hashes, duplicates, column types, missing values and class
    balance, for the pull-request report and the drift check."""
    duplicates = rows.duplicated_rows(frame)
    summary = {
        "source": config.data.path or data.BUNDLED,
        "rows": len(frame),
        "columns": frame.shape[1],
        "train_rows": len(train),
        "test_rows": len(test),
        "split": f"time:{config.split_time}"
        if config.split_time
        else f"id:{config.data.id}"
        if config.data.id
        else "features",
        "sha256": content_hash(frame),
        "reference_rows": len(reference),
        "reference_sha256": content_hash(reference),
        "duplicate_rows": duplicates,
        "duplicate_share": round(duplicates / len(frame), 6),
        "column_types": {str(name): str(dtype) for name, dtype in frame.dtypes.items()},
        "missing_share": round(float(frame.isna().to_numpy().mean()), 6),
    }
    if config.task == "classification":
        shares = frame[config.data.target].astype(str).value_counts(normalize=True).sort_index()
        summary["class_balance"] = {label: round(float(share), 6) for label, share in shares.items()}
    return summary


def describe_split(summary: dict, config: Config) -> str:
    how = (
        f"the newest rows by {config.split_time}"
        if config.split_time
        else f"a hash of {'data.id' if config.data.id else 'each row' + chr(39) + 's features'} and the seed"
    )
    return f"split {summary['rows']:,} rows into {summary['train_rows']:,} training and {summary['test_rows']:,} test rows by {how}"


def duplicates_warning(summary: dict, config: Config) -> str:
    """One line when more of the rows than data.duplicate_share repeat another row exactly."""
    if summary["duplicate_share"] <= config.data.duplicate_share:
        return ""
    return (
        f"warning: {summary['duplicate_rows']:,} of {summary['rows']:,} rows ({summary['duplicate_share']:.1%}) "
        f"repeat another row exactly, above data.duplicate_share {config.data.duplicate_share:g}: they share "
        "a side of the split, but weigh more in training and scoring; remove them if they are not real repeats"
    )


def content_hash(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
