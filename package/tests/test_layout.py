"""The package's layout rule, read from the source (nothing is imported or run): a module never imports from a folder
above its own: the base (project.py and the package's __init__) and core < github, metrics < review < release <
monitor. Folders on one level do not import each other; every module may import the base (UserError, project),
and the base imports nothing else. cli.py and __main__.py put it all together and may import anything.
"""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ml_gitops"
BASE = "project"  # project.py and the package's __init__.py
LEVELS = {BASE: 0, "core": 0, "github": 1, "metrics": 1, "review": 2, "release": 3, "monitor": 4}
ANYTHING = {"cli", "__main__"}  # the command line: may import from every level


def module_name(path: Path) -> str:
    """src/ml_gitops/review/gate.py -> review.gate; src/ml_gitops/__init__.py -> "" (the package)"""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix("__init__").strip(".")


def parts(name: str) -> list[str]:
    return name.split(".") if name else []


def is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*parts(name))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> set[str]:
    """The modules of the package that `path` imports, anywhere in it (lazy imports included); "" is the package's
    __init__ (`from .. import UserError`)."""
    own = parts(module_name(path))
    package = own if path.name == "__init__.py" else own[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            assert node.level - 1 <= len(package), f"{path}: a relative import above the package"
            base = [*package[: len(package) - (node.level - 1)], *parts(node.module or "")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE.name:
            base = node.module.split(".")[1:]
        elif isinstance(node, ast.Import):
            found |= {
                ".".join(alias.name.split(".")[1:])
                for alias in node.names
                if alias.name.split(".")[0] == PACKAGE.name
            }
            continue
        else:
            continue
        for alias in node.names:
            candidate = ".".join([*base, alias.name])
            found.add(candidate if is_module(candidate) else ".".join(base))
    return found


def wing(name: str) -> str:
    """The folder (or top-level module) a module is in; the package's __init__ is the base."""
    return name.split(".")[0] or BASE


SOURCES = sorted(PACKAGE.rglob("*.py"))
LAYERED = [path for path in SOURCES if wing(module_name(path)) not in ANYTHING]


def test_every_module_belongs_to_a_known_level():
    assert {wing(module_name(path)) for path in SOURCES} == set(LEVELS) | ANYTHING


def test_imports_are_read_as_the_modules_they_name():
    """The reader itself: `from .. import UserError, project` is the package and project.py, `from . import x` a
    sibling, `from ..metrics import X` the module metrics."""
    assert imported_modules(PACKAGE / "core" / "config.py") == {"", "project", "core.paths"}
    assert {"", "metrics", "project", "core.files", "review.champion", "review.compare"} <= imported_modules(
        PACKAGE / "review" / "comparable.py"
    )
    assert imported_modules(PACKAGE / "__main__.py") == {"cli"}


@pytest.mark.parametrize("path", LAYERED, ids=lambda path: module_name(path) or "__init__")
def test_no_module_imports_from_a_folder_above_its_own(path):
    own = wing(module_name(path))
    for name in imported_modules(path):
        other = wing(name)
        assert other in LEVELS, (
            f"{module_name(path) or '__init__'} imports {name}, which is in no level of the layout"
        )
        assert other in (own, BASE) or LEVELS[other] < LEVELS[own], (
            f"{module_name(path) or '__init__'} imports {name or '__init__'}: {own} (level {LEVELS[own]}) may "
            f"only import from its own folder, the base and the levels below {LEVELS[own]}"
        )
