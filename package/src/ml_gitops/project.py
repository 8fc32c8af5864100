"""The contract between a project and ml-gitops: where the project's own model code is.

A project names its pipeline package with an entry point in its `pyproject.toml`:

    [project.entry-points.ml_gitops]
    pipeline = "churn_model.pipeline"

That package declares `TASK` ("classification" or "regression") in its `__init__.py` and holds the modules the
machinery calls: `data` (load, read_file, read_bundled, BUNDLED), `columns` (of, apply), `features`
(category_text, as_categories), `train` (MODEL_TYPES, the allow-list of types a model file may hold), `evaluate`
(run, predict) and `commands` (the stages' command line; a command named as one of the machinery's replaces it).
The metrics are the package's own (`ml_gitops.metrics`).
The environment variable ML_GITOPS_PIPELINE names the package instead: the package's own tests set it, and so does
`python -m <project>` (its `__main__.py`), which spares each stage the scan of every installed distribution.
"""

import importlib
import os
from functools import cache
from types import ModuleType

from . import UserError

GROUP = "ml_gitops"
ENVIRONMENT = "ML_GITOPS_PIPELINE"
TASKS = ("classification", "regression")
HOW = 'add [project.entry-points.ml_gitops] pipeline = "<module>.pipeline" to pyproject.toml, then make setup'


@cache
def pipeline_package() -> str:
    """The import name of the project's pipeline package."""
    if named := os.environ.get(ENVIRONMENT):
        return named
    from importlib.metadata import entry_points  # only here: importing it costs more than most commands

    found = sorted({point.value for point in entry_points(group=GROUP, name="pipeline")})
    if not found:
        raise UserError(f"no installed project names its model code: {HOW}")
    if len(found) > 1:
        raise UserError(
            f"several installed projects name their model code ({', '.join(found)}): "
            "install one project per environment"
        )
    return found[0]


def named() -> bool:
    """Whether a project names its model code here (else only the machinery's own commands make sense)."""
    try:
        pipeline_package()
    except UserError:
        return False
    return True


def pipeline(name: str) -> ModuleType:
    """One module of the project's pipeline package, e.g. pipeline("train"); one line if it cannot be imported."""
    module = f"{pipeline_package()}.{name}"
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise UserError(f"the model code {module} cannot be imported ({error}): {HOW}") from None


@cache
def task() -> str:
    """The project's task, as its pipeline package declares it (TASK)."""
    package = pipeline_package()
    try:
        declared = getattr(importlib.import_module(package), "TASK", None)
    except ImportError as error:
        raise UserError(f"the model code {package} cannot be imported ({error}): {HOW}") from None
    if declared not in TASKS:
        raise UserError(f"{package}.TASK is {declared!r}: set it to 'classification' or 'regression'")
    return declared
