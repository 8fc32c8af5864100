"""Run git, DVC and GTO, turning a failure into one clear line (a UserError) instead of a traceback."""

import os
import subprocess
import sys
from pathlib import Path

from .. import UserError

# What a workflow step may hold that the pipeline's code never needs: the DVC remote's secret and GitHub tokens.
SECRETS = ("DVC_REMOTE_CREDENTIALS", "GITHUB_TOKEN", "GH_TOKEN", "REPO_TOKEN", "TAG_TOKEN", "RETRAIN_TOKEN")


def without_secrets() -> dict[str, str]:
    """This process's environment without SECRETS: for a command that runs the pipeline's stages (dvc repro)."""
    return {name: value for name, value in os.environ.items() if name not in SECRETS}


def git(*args: str, cwd: Path | None = None, env: dict | None = None) -> str:
    return _run(["git", *args], cwd=cwd, env=env)


def show(rev: str, path: Path | str) -> str | None:
    """The content of `path` (relative to the current directory) at `rev`, or None when it is not there."""
    result = subprocess.run(["git", "show", f"{rev}:./{path}"], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def tool(name: str, *args: str, cwd: Path | None = None, env: dict | None = None) -> str:
    """A command-line tool of this environment (dvc, gto), wherever the environment is."""
    return _run([str(Path(sys.executable).parent / name), *args], cwd=cwd, env=env)


def command(*args: str) -> str:
    """Any program on PATH (cml)."""
    return _run(list(args))


def _run(command: list[str], cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise UserError(f"{Path(command[0]).name} {' '.join(command[1:3])} failed: {output[-1]}")
    return result.stdout.strip()
