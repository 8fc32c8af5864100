"""The layout's three rules, read from the source (nothing is imported or run):

- a module never imports from a folder above its own: core < github, pipeline < review < release < monitor
  (folders on one level do not import each other);
- each DVC stage depends on exactly the files of pipeline/ it runs, so a change to the machinery never reruns
  training and a change to your model code always reruns the stages it touches;
- the commands the Makefile runs with the runner's own python3 (the jobs that hold write tokens install nothing)
  import only the standard library.
"""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "{{ cookiecutter.module_name }}"
LEVELS = {"core": 0, "github": 1, "pipeline": 1, "review": 2, "release": 3, "monitor": 4}


def module_name(path: Path) -> str:
    """src/<package>/review/gate.py -> review.gate"""
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


SOURCES = sorted(path for path in PACKAGE.rglob("*.py") if path.parent != PACKAGE)


def test_every_module_belongs_to_a_known_folder():
    assert {wing(module_name(path)) for path in SOURCES} == set(LEVELS)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: module_name(path))
def test_no_module_imports_from_a_folder_above_its_own(path):
    own = wing(module_name(path))
    for name in imported_modules(path):
        other = wing(name)
        assert other in LEVELS, f"{module_name(path)} imports {name}, which is in no folder of the layout"
        assert other == own or LEVELS[other] < LEVELS[own], (
            f"{module_name(path)} imports {name}: {own} may only import from folders below it"
        )


def runs(stage_module: str) -> set[str]:
    """The pipeline modules a stage runs: its own and every pipeline module it imports, transitively."""
    seen, todo = set(), [stage_module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = PACKAGE.joinpath(*name.split(".")).with_suffix(".py")
        todo += [other for other in imported_modules(path) if wing(other) == "pipeline"]
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


MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
SYSTEM_PYTHON_COMMANDS = sorted(
    set(re.findall(r"PYTHONPATH=src python3 -m \$\(MODULE\) ([a-z-]+)", MAKEFILE))
)


def handlers() -> dict[str, tuple[str, str]]:
    """Each command's handler, read from the wings' commands.py: {command: (module, function)}."""
    found = {}
    for path in PACKAGE.glob("*/commands.py"):
        parsers, module = {}, module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                if getattr(node.value.func, "attr", "") == "add_parser":
                    parsers[node.targets[0].id] = node.value.args[0].value
            elif getattr(node, "func", None) and getattr(node.func, "attr", "") == "set_defaults":
                if not isinstance(node.func.value, ast.Name):
                    continue  # the pipeline's stages, registered in a loop: run with the environment
                handler = next(k.value.id for k in node.keywords if k.arg == "handler")
                found[parsers[node.func.value.id]] = (module, handler)
    return found


def third_party_imports(module: str, function: str, seen: set | None = None) -> set[str]:
    """What running `function` of `module` imports from outside the package and the standard library: the imports
    in its body, the module-level imports of every package module reached, and the functions it calls by name."""
    seen = set() if seen is None else seen
    if (module, function) in seen:
        return set()
    seen.add((module, function))
    tree = ast.parse(source(module).read_text(encoding="utf-8"))
    top = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    body = [node for node in tree.body if getattr(node, "name", None) == function]
    found, names = set(), {}
    for node in top + [n for b in body for n in ast.walk(b) if isinstance(n, ast.Import | ast.ImportFrom)]:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names} - set(sys.stdlib_module_names)
        elif not node.level:
            found |= {node.module.split(".")[0]} - set(sys.stdlib_module_names)
        else:
            base = resolve(module, node)
            for alias in node.names:
                target = f"{base}.{alias.name}".strip(".")
                names[alias.asname or alias.name] = (target, "") if is_module(target) else (base, alias.name)
                found |= third_party_imports(*names[alias.asname or alias.name], seen)
    for call in (n for b in body for n in ast.walk(b) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", None) in names:
            target, _ = names[call.func.value.id]
            found |= third_party_imports(target, call.func.attr, seen)
        elif isinstance(call.func, ast.Name) and any(
            getattr(n, "name", None) == call.func.id for n in tree.body
        ):
            found |= third_party_imports(module, call.func.id, seen)
    return found


def source(module: str) -> Path:
    """review.gate -> src/<package>/review/gate.py; review or "" (the package) -> its __init__.py"""
    path = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__init__.py"


def resolve(module: str, node: ast.ImportFrom) -> str:
    """The package module a relative import names, from the module it is in."""
    parts = module.split(".") if module else []
    package = parts if source(module).name == "__init__.py" else parts[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


@pytest.mark.parametrize("command", SYSTEM_PYTHON_COMMANDS)
def test_commands_run_without_the_environment_need_only_the_standard_library(command):
    """The Makefile runs these with the runner's python3 (jobs holding write tokens install nothing)."""
    module, function = handlers()[command]
    found = third_party_imports(module, function)
    assert not found, f"`{command}` imports {sorted(found)}: it runs with the standard library only"
