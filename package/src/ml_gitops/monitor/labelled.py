"""The labelled prediction log as a training table: the features production was asked about, with the true
outcomes that arrived, under the target's name. Point `data.path` at it (after `dvc add`) to retrain on production
data; DVC then records which rows trained each version."""

from pathlib import Path

import pandas as pd

from .. import UserError
from ..core import files
from ..core.config import Config
from .performance import META, Log, read_labels, with_a_label, without_conflicts


def training_table(config: Config, since: str | None, until: str | None) -> pd.DataFrame:
    """Every logged request (answered by any version) with exactly one label, as features plus the target column.
    A request a challenger also answered in shadow is logged twice, with the same id and time (release/shadow.py):
    it is one row of the table."""
    import pyarrow as pa

    settings = config.monitoring
    hidden = [*settings.exclude, *settings.hash]
    if hidden:
        raise UserError(
            f"the prediction log leaves out or hashes {', '.join(hidden)} (monitoring.exclude, monitoring.hash): a "
            "training table needs every feature as it was served"
        )
    log = Log(settings.log_dir, "", since, until)
    names = [name for name in log.dataset.schema.names if name not in (*META[2:], "date", "prediction")]
    table = log.read([name for name in names if not name.startswith("proba_")], log.period)
    notes: list[str] = []
    labels = with_a_label(read_labels(settings.labels, notes), notes).drop_duplicates()
    labels = without_conflicts(labels, notes)
    labelled = table.join(pa.Table.from_pandas(labels, preserve_index=False), "request_id", join_type="inner")
    frame = labelled.to_pandas().drop_duplicates(subset=["request_id", "time"])  # shadow answers: one request
    repeated = frame["request_id"].duplicated(keep=False)
    frame = (
        frame[~repeated].drop(columns=["request_id", "time"]).rename(columns={"label": config.data.target})
    )
    for note in notes:
        print(f"note: {note}")
    if repeated.any():
        print(f"note: left out {repeated.sum():,} labelled predictions whose request id the log holds twice")
    if frame.empty:
        raise UserError(f"no logged prediction has a label yet ({settings.labels}): nothing to train on")
    return frame.reset_index(drop=True)


def write(config: Config, output: Path, since: str | None = None, until: str | None = None) -> int:
    """Write the training table to `output` (.parquet or .csv), whole or not at all; return its rows."""
    if output.suffix not in (".parquet", ".csv"):
        raise UserError(f"{output}: write the training table as .parquet or .csv")
    frame = training_table(config, since, until)
    with files.atomic_path(output) as temporary:
        if output.suffix == ".parquet":
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False)
    print(
        f"wrote {output}: {len(frame):,} labelled predictions. Train on them: uv run dvc add {output}, set "
        f"data.path: {output} in params.yaml, make repro"
    )
    return len(frame)
