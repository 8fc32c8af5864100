"""Every Python a project may choose (`python_version`) runs its own tests, where this machine has it: the variant
is baked for that Python, installed from its lockfile with uv, and runs the generated test suite. The Python
running these tests is covered by test_project.py; a version this machine lacks is reported as skipped, by name."""

import glob
import os
import shutil
import subprocess

import pytest

from .conftest import DEFAULTS, HOST_PYTHON, bake, run, tool_env

OTHERS = [version for version in DEFAULTS["python_version"] if version != HOST_PYTHON]


def interpreter(version: str) -> str | None:
    """A working `python<version>`: on PATH, or installed by pyenv (whose shims answer only for its global ones)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [
        shutil.which(f"python{version}"),
        *sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}")),
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.slow
@pytest.mark.parametrize("version", OTHERS)
def test_the_generated_tests_pass_on_each_supported_python(cookies_session, version):
    python = interpreter(version)
    if python is None:
        pytest.skip(
            f"Python {version} is not installed on this machine: the {version} variant's runtime tests did not run"
        )
    project = bake(cookies_session, python_version=version)
    env = {**tool_env(), "UV_PYTHON": python, "UV_LINK_MODE": "copy"}
    run(["uv", "sync", "--locked"], cwd=project, env=env)
    reported = run(["uv", "run", "--locked", "python", "--version"], cwd=project, env=env).stdout
    assert reported.startswith(f"Python {version}."), reported
    run(
        ["uv", "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        timeout=1200,
    )
    shutil.rmtree(project / ".venv")
