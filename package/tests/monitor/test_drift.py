"""The drift check: known cases, agreement with scipy's reference tests, the report files, and bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml_gitops import UserError
from ml_gitops.cli import main
from ml_gitops.core import paths
from ml_gitops.monitor import drift


def frames(rows=4000, seed=0):
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(
        {
            "amount": rng.normal(100, 15, rows),
            "age": rng.integers(18, 90, rows).astype(float),
            "city": rng.choice(["north", "south", "east"], rows),
        }
    )
    current = pd.DataFrame(
        {
            "amount": rng.normal(100, 15, rows),
            "age": rng.integers(18, 90, rows).astype(float),
            "city": rng.choice(["north", "south", "east"], rows),
        }
    )
    return reference, current


def drifted(summary):
    return {row["column"] for row in summary["features"] if row["drift"]}


def test_data_like_the_reference_does_not_drift(params):
    reference, current = frames()
    summary = drift.check(reference, current, params)
    assert drifted(summary) == set()
    assert not summary["drift"]


def test_a_column_s_name_reaches_the_markdown_as_inert_text(params):
    """drift.md goes into the retraining pull request's body, posted with the App's token: a column named to
    mention a team or show an image must do neither."""
    from rendered import render

    hostile = "@acme/security ![x](https://evil.example/t.png) <img src=https://evil.example/p>"
    reference, current = frames()
    reference, current = (frame.rename(columns={"amount": hostile}) for frame in (reference, current))
    shown = render(drift.markdown(drift.check(reference, current, params), None))
    assert (shown.links, shown.images, shown.raw_tags, shown.mentions) == ([], [], [], [])
    assert "evil.example" in "".join(shown.text)  # shown, as text


def test_identical_data_scores_zero(params):
    reference, _ = frames()
    rows = drift.check(reference, reference.copy(), params)["features"]
    assert all(row["statistic"] == 0 and row["psi"] == 0 and row["p_value"] == 1 for row in rows)


CHANGES = {
    "shifted-mean": (lambda frame: frame.assign(amount=frame["amount"] + 15), "amount"),
    "scaled-variance": (lambda frame: frame.assign(amount=100 + 2.5 * (frame["amount"] - 100)), "amount"),
    "new-category": (
        lambda frame: frame.assign(city=frame["city"].mask(frame.index % 3 == 0, "west")),
        "city",
    ),
    "half-missing": (lambda frame: frame.assign(age=frame["age"].mask(frame.index % 2 == 0)), "age"),
}


@pytest.mark.parametrize(("change", "column"), CHANGES.values(), ids=CHANGES.keys())
def test_each_kind_of_change_is_caught_in_its_column_only(params, change, column):
    reference, current = frames()
    summary = drift.check(reference, change(current), params)
    assert drifted(summary) == {column}
    assert summary["drift"], "one of three features is above the default share of 0.2"


def test_statistics_agree_with_scipy(params):
    reference, current = frames(rows=3000, seed=1)
    current["amount"] += 1.5  # a small shift: p-values well inside (0, 1)
    rows = {row["column"]: row for row in drift.check(reference, current, params)["features"]}
    for column in ("amount", "age"):
        expected = stats.ks_2samp(reference[column], current[column], method="asymp")
        assert rows[column]["statistic"] == pytest.approx(expected.statistic, abs=1e-6)
        assert rows[column]["p_value"] == pytest.approx(expected.pvalue, rel=1e-4, abs=1e-12)
    table = pd.crosstab(
        np.repeat(["reference", "current"], [len(reference), len(current)]),
        pd.concat([reference["city"], current["city"]]).to_numpy(),
    )
    expected = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert rows["city"]["statistic"] == pytest.approx(expected.statistic, rel=1e-6)
    assert rows["city"]["p_value"] == pytest.approx(expected.pvalue, rel=1e-4)


def test_target_and_predictions_are_compared_when_available(trained):
    reference = pd.read_parquet(paths.REFERENCE)
    current = pd.read_parquet(paths.TEST)
    from fixture_model.pipeline.train import MODEL_TYPES

    from ml_gitops.core import files

    model = files.load_model(paths.MODEL, MODEL_TYPES)
    summary = drift.check(reference, current, trained, drift.predicted(model, reference, current, trained))
    assert summary["target"]["column"] == trained.data.target
    assert summary["prediction"]["column"] == "prediction"
    assert not summary["drift"], "the test split comes from the same data as the reference"


def test_pipeline_records_the_reference_sample_and_its_hash(trained):
    reference = pd.read_parquet(paths.REFERENCE)
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    assert summary["reference_rows"] == len(reference) == min(summary["train_rows"], 10000)
    assert len(summary["reference_sha256"]) == 64


def test_command_writes_the_report_and_exits_3_only_when_asked(trained, capsys):
    from fixture_model.pipeline import data

    from ml_gitops.core import config

    batch = drift.drifted_batch(config.load(), rows=400, seed=7)
    batch.to_csv("batch.csv", index=False)
    assert main(["drift", "--current", "batch.csv"]) == 0
    summary = json.loads((paths.DRIFT / "drift.json").read_text())
    assert summary["drift"]
    assert len(summary["drifted_features"]) >= 3
    assert "| column | test | statistic | p-value | PSI | drift |" in (paths.DRIFT / "drift.md").read_text()
    assert (paths.DRIFT / "drift.png").read_bytes().startswith(b"\x89PNG")
    assert main(["drift", "--current", "batch.csv", "--fail-on-drift"]) == 3
    data.read_bundled().to_csv("same.csv", index=False)
    assert main(["drift", "--current", "same.csv", "--fail-on-drift"]) == 0
    assert "Data drift: no drift" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("current", "message"),
    [
        (
            lambda frame: frame.drop(columns=["age"]),
            "the current data lacks columns 'age' compared with the reference",
        ),
        (
            lambda frame: frame.assign(extra=1),
            "the current data has unknown columns 'extra' compared with the reference",
        ),
        (lambda frame: frame.head(0), "the current data has no rows"),
    ],
    ids=["missing-column", "unknown-column", "empty"],
)
def test_bad_current_data_is_refused_with_one_line(params, current, message):
    reference, frame = frames(rows=200)
    with pytest.raises(UserError, match=message):
        drift.check(reference, current(frame), params)


def test_missing_reference_says_how_to_get_it(params, capsys):
    assert main(["drift"]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: the reference data {paths.REFERENCE} is missing: run dvc pull (or dvc repro prepare) first"
    )
    assert not paths.DRIFT.exists()


def test_codes_and_dates_are_compared_as_the_model_reads_them(params, tmp_path):
    """Codes read as 3.0 from a file with gaps are the category "3" of the reference; dates are not compared."""
    from dataclasses import replace

    from fixture_model.pipeline import prepare

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "signup": pd.date_range("2023-01-01", periods=2000, freq="h").strftime("%Y-%m-%dT%H:%M"),
            "occupation": rng.integers(1, 7, 2000),
            "x": rng.normal(size=2000),
            "target": rng.integers(0, 2, 2000),
        }
    )
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.loc[::100, "occupation"] = np.nan
    frame.assign(signup="2031-01-01T00:00").to_csv(tmp_path / "current.csv", index=False)
    params = replace(
        params, data=replace(params.data, path=str(tmp_path / "train.csv"), categorical=("occupation",))
    )
    prepare.run(params)
    summary = drift.run(params, paths.REFERENCE, tmp_path / "current.csv", tmp_path / "drift", None)
    assert not summary["drift"]
    assert [row["column"] for row in summary["features"]] == ["occupation", "x"]
    assert summary["dates_not_compared"] == ["signup"]
    assert (
        "Date columns are not compared (new data is later by nature): signup."
        in (tmp_path / "drift" / "drift.md").read_text()
    )
