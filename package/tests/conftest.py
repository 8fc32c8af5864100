"""The package's tests run against a fixture project rendered from the template's own pipeline: the model code a
new project starts with, for the task in ML_GITOPS_TEST_TASK (classification or regression). Nothing is baked or
installed: the template's pipeline/ files and params.yaml are rendered with Jinja into a scratch folder that goes
on sys.path (and PYTHONPATH, for the commands the tests run), and ML_GITOPS_PIPELINE names it."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import jinja2
import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}"
MODULE = "fixture_model"
TASK = os.environ.get("ML_GITOPS_TEST_TASK", "classification")
CONTEXT = {
    "cookiecutter": {
        "task": TASK,
        "module_name": MODULE,
        "project_name": "Fixture Model",
        "project_slug": "fixture-model",
        "description": "The package's fixture project.",
    }
}


def render_fixture_project(task: str) -> Path:
    """The template's pipeline package and params.yaml, rendered for `task` into a new scratch folder."""
    if task not in ("classification", "regression"):
        raise SystemExit(f"ML_GITOPS_TEST_TASK is {task!r}: set it to classification or regression")
    root = Path(tempfile.mkdtemp(prefix="ml-gitops-fixture-"))
    environment = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    source = TEMPLATE / "src" / "{{cookiecutter.module_name}}"
    for path in [
        source / "__init__.py",
        *sorted((source / "pipeline").glob("*.py")),
        TEMPLATE / "params.yaml",
    ]:
        relative = str(path.relative_to(TEMPLATE)).replace("{{cookiecutter.module_name}}", MODULE)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(environment.from_string(path.read_text()).render(CONTEXT))
    return root


FIXTURE = render_fixture_project(TASK)
ROOT = FIXTURE  # where params.yaml is, as in a project's root
sys.path.insert(0, str(FIXTURE / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FIXTURE / "src"), os.environ.get("PYTHONPATH")]))
os.environ["ML_GITOPS_PIPELINE"] = f"{MODULE}.pipeline"


def pytest_report_header() -> str:
    return f"ml-gitops fixture project: {MODULE} ({TASK}), rendered in {FIXTURE}"


def pytest_unconfigure() -> None:
    shutil.rmtree(FIXTURE, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch copy of the fixture project's params.yaml, as the current directory (where stages run)."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def params(workdir):
    from ml_gitops.core import config

    return config.load()


@pytest.fixture
def trained(params):
    """The three stages run on the bundled data in the scratch directory."""
    from fixture_model.pipeline import evaluate, prepare, train

    prepare.run(params)
    train.run(params)
    evaluate.run(params)
    return params
