"""The split: a row's side follows from its key (data.id, else its features) and the seed, never from the other
rows or from how the classes are spelt; identical rows share a side; split.time tests on the newest rows; prepare
reports duplicates, with a warning above data.duplicate_share."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from ml_gitops.core import paths

from {{ cookiecutter.module_name }}.pipeline import TASK, data, prepare


def test_removing_rows_moves_no_other_row(params):
    frame = data.load(params.data)
    _, test = prepare.split(frame, params)
    _, fewer_test = prepare.split(frame.iloc[::3], params)
    assert fewer_test.index.equals(test.index.intersection(frame.index[::3]))


def test_identical_rows_share_a_side(params):
    frame = data.load(params.data)
    doubled = pd.concat([frame, frame.iloc[:50]], ignore_index=True)
    _, test = prepare.split(doubled, params)
    copies = test.index[test.index >= len(frame)] - len(frame)
    assert set(copies) == set(test.index[test.index < 50])


@pytest.mark.skipif(TASK != "classification", reason="classes")
def test_renamed_classes_give_the_same_split(params):
    frame = data.load(params.data)
    target = params.data.target
    renamed = frame.assign(**{target: frame[target].map(lambda label: f"class {label}")})
    assert prepare.split(renamed, params)[1].index.equals(prepare.split(frame, params)[1].index)


def test_an_id_column_keys_the_split_and_is_not_a_feature(params, tmp_path):
    frame = data.read_bundled()
    frame.insert(0, "row_id", [f"R{number:04d}" for number in range(len(frame))])
    frame.to_csv(tmp_path / "rows.csv", index=False)
    settings = replace(params, data=replace(params.data, path=str(tmp_path / "rows.csv"), id="row_id"))
    loaded = data.load(settings.data)
    assert loaded.index.name == "row_id"
    assert "row_id" not in loaded.columns
    _, test = prepare.split(loaded, settings)
    corrected = loaded.assign(**{loaded.columns[0]: loaded[loaded.columns[0]] * 2})
    assert prepare.split(corrected, settings)[1].index.equals(test.index)


def test_a_split_by_time_tests_on_the_newest_rows(params, tmp_path):
    frame = data.read_bundled()
    frame.insert(0, "day", pd.date_range("2020-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d"))
    frame = frame.sample(frac=1, random_state=0)  # the file's order is not the time's
    frame.to_csv(tmp_path / "dated.csv", index=False)
    settings = replace(
        params,
        data=replace(params.data, path=str(tmp_path / "dated.csv"), datetime=("day",)),
        split_time="day",
    )
    train, test = prepare.split(data.load(settings.data), settings)
    assert train["day"].max() < test["day"].min()


def test_prepare_reports_duplicates_and_warns_above_the_share(params, tmp_path, capsys):
    frame = data.read_bundled()
    pd.concat([frame, frame.iloc[:60]]).to_csv(tmp_path / "twice.csv", index=False)
    settings = replace(params, data=replace(params.data, path=str(tmp_path / "twice.csv")))
    prepare.run(settings)
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    assert (summary["duplicate_rows"], summary["rows"]) == (60, len(frame) + 60)
    assert f"warning: 60 of {len(frame) + 60:,} rows" in capsys.readouterr().out
