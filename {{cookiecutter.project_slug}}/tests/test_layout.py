"""The layout's rule, read from the source (nothing is imported or run): each DVC stage depends on exactly the
files of pipeline/ it runs, so a change to your model code always reruns the stages it touches and nothing else
does. (The machinery is the ml-gitops package: evaluate depends on its pinned version, through pyproject.toml.)
"""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "{{ cookiecutter.module_name }}"


def module_name(path: Path) -> str:
    """src/<package>/pipeline/train.py -> pipeline.train"""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")


def imported_modules(path: Path) -> set[str]:
    """The modules of this package that `path` imports, anywhere in it (lazy imports included)."""
    package = (
        module_name(path).split(".")[:-1] if path.name != "__init__.py" else module_name(path).split(".")
    )
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] + (
                node.module.split(".") if node.module else []
            )
            for alias in node.names:
                candidate = ".".join([*base, alias.name])
                found.add(candidate if is_module(candidate) else ".".join(base))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE.name + "."):
            found.add(node.module.removeprefix(PACKAGE.name + "."))
    return {name for name in found if name}


def is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def wing(name: str) -> str:
    return name.split(".")[0]


def runs(stage_module: str) -> set[str]:
    """The pipeline modules a stage runs: its own and every pipeline module it imports, transitively."""
    seen, todo = set(), [stage_module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PACKAGE.joinpath(*name.split(".")).with_suffix(".py")
        todo += [other for other in imported_modules(path) if wing(other) == "pipeline" and "." in other]
    return seen


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_depends_on_exactly_the_pipeline_files_it_runs(stage):
    command = STAGES[stage]["cmd"].split()
    assert command[:3] == ["python", "-m", PACKAGE.name], "a stage is `python -m <package> <stage>`"
    expected = {
        f"src/{PACKAGE.name}/pipeline/{name.split('.')[1]}.py" for name in runs(f"pipeline.{command[3]}")
    }
    listed = {dep for dep in STAGES[stage]["deps"] if dep.startswith("src/")}
    assert listed == expected, f"dvc.yaml: the deps of {stage} under src/ must be exactly {sorted(expected)}"
