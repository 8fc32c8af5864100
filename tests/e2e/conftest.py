"""Fixtures of the workflow tests: the fake GitHub API, the act harness, and a project whose main has a champion."""

import os
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import CACHE, HOST_PYTHON, bake, run
from .fake_github import FakeGitHub
from .harness import Harness, git

REPOSITORY = "acme/churn"
CHAMPION = {"n_estimators": 20, "max_depth": 3, "min_samples_leaf": 2}
BETTER = {"n_estimators": 150, "min_samples_leaf": 1}
WORSE = {"n_estimators": 1, "max_depth": 1, "max_features": 1}


def set_model(project, params):
    path = project / "params.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"]["params"] = params
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def api():
    with FakeGitHub(REPOSITORY) as fake:
        yield fake


@pytest.fixture(scope="module")
def harness(tmp_path_factory, api):
    root = tmp_path_factory.mktemp("e2e")
    tools = root / "bin"
    tools.mkdir()
    (tools / "uv").symlink_to(Path(sys.executable).parent / "uv")
    saved = os.environ.get("GIT_CONFIG_GLOBAL")
    yield Harness(root, REPOSITORY, api.url, tools, uv_cache=CACHE / "uv")
    if saved is None:
        os.environ.pop("GIT_CONFIG_GLOBAL", None)
    else:
        os.environ["GIT_CONFIG_GLOBAL"] = saved


@pytest.fixture(scope="module")
def project(cookies_session, harness):
    """main holds a deliberately modest champion, trained and committed with its dvc.lock and metrics."""
    project = bake(cookies_session, python_version=HOST_PYTHON)
    set_model(project, CHAMPION)
    run(["make", "install"], cwd=project)
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion", cwd=project)
    harness.publish(project)
    return project
