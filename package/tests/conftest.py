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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test-package` runs the suite once per task; a test marked any_task runs in the classification pass."""
    if TASK == "classification":
        return
    once = [item for item in items if item.get_closest_marker("any_task")]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.get_closest_marker("any_task")]


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


_STAGE_OUTPUTS: dict[
    bytes, Path
] = {}  # params.yaml's bytes -> the files its three stages wrote, in this worker


@pytest.fixture
def trained(params, workdir, tmp_path_factory):
    """The three stages run on the bundled data in the scratch directory. They write the same bytes for the same
    params.yaml (tests/core/test_reproducible.py), so each worker runs them once per params.yaml and copies what
    they wrote into every later test's directory; a test that edited params.yaml first gets its own run."""
    settings = (workdir / "params.yaml").read_bytes()
    outputs = _STAGE_OUTPUTS.get(settings)
    if outputs is not None:
        shutil.copytree(outputs, workdir, dirs_exist_ok=True)
        return params
    before = _files(workdir)
    from fixture_model.pipeline import evaluate, prepare, train

    prepare.run(params)
    train.run(params)
    evaluate.run(params)
    outputs = tmp_path_factory.mktemp("stage-outputs")
    for path, stamp in _files(workdir).items():
        if before.get(path) != stamp:
            (outputs / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workdir / path, outputs / path)
    _STAGE_OUTPUTS[settings] = outputs
    return params


def _files(root: Path) -> dict[Path, tuple[int, int]]:
    """Every file under root, relative, with its size and modification time."""
    return {
        path.relative_to(root): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }
