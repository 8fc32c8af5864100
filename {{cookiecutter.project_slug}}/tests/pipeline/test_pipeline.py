"""The three stages on the bundled data: a real model, real metrics, safe files, clean failures."""

import json
import subprocess
import sys

import pytest
from ml_gitops import UserError
from ml_gitops.core import files, paths
from ml_gitops.metrics import DIRECTIONS

from {{ cookiecutter.module_name }}.pipeline import prepare, train

MODULE = "{{ cookiecutter.module_name }}"


def test_pipeline_writes_every_output(trained):
    for output in (
        paths.TRAIN,
        paths.TEST,
        paths.DATA_SUMMARY,
        paths.MODEL,
        paths.METRICS,
        paths.PREDICTIONS,
    ):
        assert output.is_file(), output
    assert sorted(p.name for p in paths.PLOTS.glob("*.png")) == sorted(
{%- if cookiecutter.task == "classification" %}
        ["roc.png", "precision_recall.png", "confusion_matrix.png", "feature_importance.png"]
{%- else %}
        ["predicted_vs_actual.png", "residuals.png", "feature_importance.png"]
{%- endif %}
    )
    assert not list(paths.PLOTS.parent.rglob("*.tmp")), "a temporary file was left behind"


def test_model_learns_something(trained):
    metrics = json.loads(paths.METRICS.read_text())
    assert set(DIRECTIONS[trained.task]) <= set(metrics)
{%- if cookiecutter.task == "classification" %}
    assert metrics["roc_auc"] > 0.95
    assert metrics["accuracy"] > 0.9
{%- else %}
    assert metrics["r2"] > 0.3
    assert metrics["rmse"] < 70
{%- endif %}
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    assert summary["train_rows"] + summary["test_rows"] == summary["rows"]
    assert metrics["test_rows"] == summary["test_rows"]


def test_saved_model_reloads_and_predicts_the_same(trained):
    import pandas as pd

    model = files.load_model(paths.MODEL, train.MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    predictions = pd.read_parquet(paths.PREDICTIONS)
    features = test.drop(columns=[trained.data.target])
    assert list(model.predict(features)) == list(predictions["y_pred"])


def test_a_type_the_caller_does_not_name_is_refused(trained):
    with pytest.raises(UserError, match=r"contains untrusted types \(.*numpy.dtype.*\): refusing"):
        files.load_model(paths.MODEL, frozenset())


def test_damaged_model_file_is_refused(trained):
    paths.MODEL.write_bytes(b"not a model")
    with pytest.raises(UserError, match="is not a readable skops model"):
        files.load_model(paths.MODEL, train.MODEL_TYPES)


def test_unknown_estimator_argument_is_named(params):
    from dataclasses import replace

    prepare.run(params)
    bad = replace(params, model=replace(params.model, params={"n_trees": 5}))
    with pytest.raises(UserError, match=f"model.params n_trees not accepted by {params.model.name}"):
        train.run(bad)
    assert not paths.MODEL.exists()


def test_cli_reports_bad_data_in_one_line_and_writes_nothing(workdir):
    (workdir / "params.yaml").write_text(
        (workdir / "params.yaml").read_text().replace('path: ""', "path: data/raw/missing.csv")
    )
    result = subprocess.run([sys.executable, "-m", MODULE, "prepare"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("error: data file data/raw/missing.csv not found")
    assert result.stderr.count("\n") == 1
    assert not paths.PREPARED.exists()


def test_atomic_write_keeps_the_old_file_when_writing_fails(workdir):
    target = workdir / "out.json"
    files.write_json({"version": 1}, target)

    def killed_half_way():
        with files.atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        killed_half_way()
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in workdir.iterdir() if p.suffix == ".tmp"] == []
