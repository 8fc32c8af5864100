import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }} import config

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
