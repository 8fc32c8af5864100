"""Compiled bytecode in the shared uv cache, so that every project the tests bake starts with it.

    python -m tests.bytecode   # `make test` runs it before the template's tests

uv installs a package by hard-linking the files of its unpacked wheel from the cache (`archive-v0`) into the
project's environment, `__pycache__` folders included. Without them a fresh environment compiles every module it
imports (about 7 s for a project's first pipeline command), and the suite makes hundreds of fresh environments:
each bake and each job under act. This bakes the default project, installs it, and compiles the cached files that
its environment links to, with that environment's Python, on every core. Python checks a .pyc against its
source's size and modification time (a hard link shares both), so a stale one is never used; nothing about the
environments themselves changes.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.conftest import CACHE, HOST_PYTHON, TEMPLATE, tool_env

ARCHIVES = CACHE / "uv" / "archive-v0"
COMPILE = """
import concurrent.futures, py_compile, sys
def compile_one(path):
    try:
        py_compile.compile(path, doraise=True)
    except (py_compile.PyCompileError, OSError, ValueError):
        pass  # a file Python never imports (a template, a test fixture): it stays as uv left it
paths = sys.stdin.read().split("\\0")
with concurrent.futures.ProcessPoolExecutor() as pool:
    list(pool.map(compile_one, filter(None, paths), chunksize=64))
"""


def linked_sources(environment: Path) -> list[Path]:
    """The cached .py files the environment's site-packages hard-links to, without a .pyc of this Python yet."""
    inodes = {path.stat().st_ino for path in environment.glob("lib/python*/site-packages/**/*.py")}
    tag = sys.implementation.cache_tag
    return [
        path
        for path in ARCHIVES.rglob("*.py")
        if path.stat().st_ino in inodes
        and not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").exists()
    ]


def main() -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                output_dir=scratch,
                extra_context={"python_version": HOST_PYTHON},
            )
        )
        subprocess.run(["uv", "sync", "--locked", "--quiet"], cwd=project, env=tool_env(), check=True)
        sources = linked_sources(project / ".venv")
        subprocess.run(
            [str(project / ".venv" / "bin" / "python"), "-c", COMPILE],
            input="\0".join(map(str, sources)),
            text=True,
            env={**tool_env(), "PYTHONDONTWRITEBYTECODE": ""},
            check=True,
        )
    print(
        f"tests.bytecode: compiled {len(sources)} cached modules the default project links to "
        f"({time.monotonic() - started:.0f} s, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
