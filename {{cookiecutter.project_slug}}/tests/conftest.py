import shutil
from pathlib import Path

import pytest
from ml_gitops.core import config

from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch copy of the repository's params.yaml, as the current directory (where stages run)."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def params(workdir):
    return config.load()


@pytest.fixture
def trained(params):
    """The three stages run on the bundled data in the scratch directory."""
    prepare.run(params)
    train.run(params)
    evaluate.run(params)
    return params
