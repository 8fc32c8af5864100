"""What a command pays for before it runs (issue 29): building the command line imports no data library and, when
the pipeline package is named (ML_GITOPS_PIPELINE, as `python -m <project>` sets it), not importlib.metadata
either, whose scan of every installed distribution each DVC stage would otherwise pay; the prepare stage imports
neither scikit-learn nor scipy."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAVY = (
    "importlib.metadata",
    "pandas",
    "numpy",
    "yaml",
    "sklearn",
    "scipy",
    "matplotlib",
    "skops",
    "fastapi",
)


def imported_after(code: str) -> list[str]:
    """The HEAVY modules (and their submodules) a new interpreter holds after running `code`."""
    report = "import sys; print(sorted({m for m in sys.modules for h in HEAVY if m == h or m.startswith(h + '.')}))"
    ran = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{code}\n{report}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return eval(ran.stdout)  # a list of names printed by the line above


def test_the_command_line_is_built_without_heavy_imports():
    assert imported_after("from ml_gitops import cli\ncli.parser()") == []


def test_prepare_imports_neither_scikit_learn_nor_scipy():
    imported = imported_after("from ml_gitops import project\nproject.pipeline('prepare')")
    assert not [
        name for name in imported if name.split(".")[0] in ("sklearn", "scipy", "matplotlib", "skops")
    ]
    assert "pandas" in imported  # the check above sees what the stage imports
