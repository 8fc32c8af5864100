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


@pytest.fixture(scope="session")
def trained_once(tmp_path_factory):
    """The three stages run once on the bundled data, in a folder of their own."""
    folder = tmp_path_factory.mktemp("trained")
    shutil.copy(ROOT / "params.yaml", folder / "params.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        settings = config.load()
        for stage in (prepare, train, evaluate):
            stage.run(settings)
    return folder


@pytest.fixture
def trained(trained_once, workdir):
    """The stages' outputs, copied into the scratch directory: each test may change its own copy."""
    shutil.copytree(trained_once, workdir, dirs_exist_ok=True)
    return config.load()
