"""What every benchmark shares: a baked project with its environment, timed runs, peak memory, the machine."""

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import TEMPLATE, tool_env


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float  # the largest resident set of the process or of any descendant it waited for
    output: str


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a command to completion; its wall time and peak memory (os.wait4), or SystemExit with its output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env or bench_env(),  # as the tests bake (this venv's tools, the shared caches), every core
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} exited {process.returncode}\n{output[-3000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, output)


def median_seconds(command: list[str], cwd: Path, repeat: int, env: dict[str, str] | None = None) -> float:
    return statistics.median(run(command, cwd, env).seconds for _ in range(repeat))


def bake(output_dir: Path, **context: str) -> Path:
    """Bake the template with cookiecutter's command line; the project's directory."""
    extra = [f"{key}={value}" for key, value in context.items()]
    run(["cookiecutter", "--no-input", "--output-dir", str(output_dir), str(TEMPLATE), *extra], TEMPLATE)
    return output_dir / "churn-model"


def project(output_dir: Path, **context: str) -> Path:
    """A baked default project with its locked environment installed and DVC initialised (`make setup`)."""
    path = bake(output_dir, python_version=f"{sys.version_info.major}.{sys.version_info.minor}", **context)
    run(["make", "setup"], path)
    return path


def bench_env() -> dict[str, str]:
    """The tests' environment for baked projects, with every core for OpenMP (the tests give each process one)."""
    env = tool_env()
    env.pop("OMP_NUM_THREADS", None)
    return env


def project_env(project_dir: Path) -> dict[str, str]:
    """The environment `uv run` gives a project's commands: its venv first on PATH (DVC stages call `python`)."""
    env = bench_env()
    venv = project_dir / ".venv"
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv))
    return env


def in_project(project_dir: Path, *command: str) -> Run:
    """Run a command of the project's venv (dvc, python) in the project, as `uv run` would, minus uv's check."""
    return run(list(command), project_dir, project_env(project_dir))


def project_python(project_dir: Path) -> str:
    return str(project_dir / ".venv" / "bin" / "python")


def machine() -> dict[str, str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": f"{memory:.1f} GiB",
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


@dataclass(frozen=True)
class Figure:
    """One benchmark's result: our figure against a baseline measured in the same run, and the target."""

    name: str
    value: float
    baseline: str  # what we compare with, or "" for an absolute target
    baseline_value: float | None
    target: str  # e.g. "<= 1.5x" or "<= 2 s"
    met: bool
    unit: str = "s"

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline_value if self.baseline_value else None


def ratio_target(
    name: str, seconds: float, baseline: str, baseline_seconds: float, limit: float, unit: str = "s"
) -> Figure:
    return Figure(
        name, seconds, baseline, baseline_seconds, f"<= {limit}x", seconds <= limit * baseline_seconds, unit
    )


def scripts() -> Path:
    return Path(__file__).parent / "scripts"
