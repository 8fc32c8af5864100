"""prepare keeps the test rows' segment columns, those under data.drop too (fairness is often judged on exactly the
columns the model must not see), in data/prepared/segments.parquet, indexed as the test set."""

import numpy as np
import pandas as pd
import pytest
import yaml
from fixture_model.pipeline import TASK, prepare

from ml_gitops import UserError
from ml_gitops.core import config, paths
from ml_gitops.review import segments


def table(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=rows)
    target = (x + rng.normal(size=rows) > 0).astype(int) if TASK == "classification" else x * 3 + 1
    return pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(rows)],
            "x": x,
            "region": rng.choice(["north", "south"], rows),
            "age": rng.integers(18, 90, rows),
            "target": target,
        }
    )


def settings(workdir, frame: pd.DataFrame, row_id: str = "", **segment_columns):
    frame.to_csv(workdir / "data.csv", index=False)
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["data"].update({"path": str(workdir / "data.csv"), "drop": ["region", "age"], "id": row_id})
    if not row_id:
        raw["data"]["drop"].append("customer")
    raw["segments"] = {"columns": segment_columns}
    paths.PARAMS.write_text(yaml.safe_dump(raw, sort_keys=False))
    return config.load()


@pytest.mark.parametrize("row_id", ["", "customer"])
def test_dropped_segment_columns_survive_prepare_keyed_as_the_test_rows(workdir, row_id):
    frame = table()
    prepare.run(settings(workdir, frame, row_id, region={}, age={"bins": [40, 65]}, x={"bins": [0]}))
    test = pd.read_parquet(paths.TEST)
    kept = pd.read_parquet(segments.SEGMENTS_FILE)
    assert "region" not in test.columns
    assert "age" not in test.columns
    assert kept.index.equals(test.index)
    assert list(kept.columns) == ["region", "age", "x"]
    source = frame.set_index("customer") if row_id else frame
    assert kept["region"].tolist() == source.loc[test.index, "region"].tolist()
    assert kept["age"].tolist() == source.loc[test.index, "age"].tolist()
    assert kept["x"].tolist() == test["x"].tolist()


def test_a_segment_column_the_data_lacks_is_refused_in_one_line(workdir):
    with pytest.raises(UserError) as refused:
        prepare.run(settings(workdir, table(), plan={}))
    assert str(refused.value).startswith("segments.columns names 'plan', which ")
    assert str(refused.value).endswith("does not have: fix segments.columns in params.yaml")


def test_bad_segment_settings_stop_prepare_before_any_stage_trains(workdir):
    with pytest.raises(
        UserError, match=r"params.yaml: segments.columns.x has \d+ distinct values \(at most 30\)"
    ):
        prepare.run(settings(workdir, table(), x={}))
    assert not paths.PREPARED.exists(), "nothing is written"
    with pytest.raises(
        UserError, match="params.yaml: segments.columns.region.bins are numbers, but 'region' holds"
    ):
        prepare.run(settings(workdir, table(), region={"bins": [1]}))
