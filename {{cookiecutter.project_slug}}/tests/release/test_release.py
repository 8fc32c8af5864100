"""What a release publishes: a model card with the metrics' uncertainty, and a refusal when metrics do not match."""

import hashlib
import json

import pytest

from {{ cookiecutter.module_name }} import UserError
from {{ cookiecutter.module_name }}.core import paths
from {{ cookiecutter.module_name }}.pipeline.metrics import DIRECTIONS
from {{ cookiecutter.module_name }}.release import assets
from {{ cookiecutter.module_name }}.review import compare


def test_metric_intervals_contain_the_metrics(trained):
    import pandas as pd

    metrics = json.loads(paths.METRICS.read_text())
    intervals = compare.metric_intervals(trained.task, pd.read_parquet(paths.PREDICTIONS))
    assert set(intervals) == set(DIRECTIONS[trained.task])
    for name, interval in intervals.items():
        assert interval.low <= metrics[name] <= interval.high, name


def test_model_card_names_the_version_data_and_uncertainty(trained, monkeypatch):
    monkeypatch.setattr(assets, "git", lambda *args: "f" * 40)
    card = assets.model_card("model@v1.2.0", json.loads(paths.METRICS.read_text()))
    assert card.startswith("# Model card: model@v1.2.0")
    assert f"| {trained.gate.metric} |" in card
    assert "95% bootstrap interval" in card
    assert "## Intended use and limits" in card


def test_tampered_metrics_refuse_the_release(trained, monkeypatch):
    committed = json.loads(paths.METRICS.read_text())
    committed[trained.gate.metric] += 0.01
    monkeypatch.setattr(assets, "show", lambda *args: json.dumps(committed))
    monkeypatch.setattr(assets, "tool", lambda *args: "")  # the pipeline ran in the fixture
    with pytest.raises(UserError) as caught:
        assets.assets("model@v1.2.0")
    assert f"model@v1.2.0 does not reproduce its metrics ({trained.gate.metric} " in str(caught.value)
    assert not paths.RELEASE_ASSETS.exists()


def test_matching_metrics_give_the_assets_and_their_checksums(trained, monkeypatch):
    monkeypatch.setattr(assets, "show", lambda *args: paths.METRICS.read_text())
    monkeypatch.setattr(assets, "git", lambda *args: "f" * 40)
    monkeypatch.setattr(assets, "tool", lambda *args: "")
    assets.assets("model@v1.2.0")
    names = sorted(p.name for p in paths.RELEASE_ASSETS.iterdir())
    assert names == ["SHA256SUMS", "metrics.json", "model-card.md", "model.skops"]
    for line in (paths.RELEASE_ASSETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((paths.RELEASE_ASSETS / name).read_bytes()).hexdigest() == digest, name
