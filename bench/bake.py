"""Baking the default project with cookiecutter's command line, against a minimal one-file template and against
this template without its hooks (what the hooks themselves cost)."""

import json
import shutil
import statistics
from pathlib import Path

from .common import TEMPLATE, Figure, ratio_target, run

LIMIT = 1.5


def bake(workdir: Path, repeat: int = 9) -> list[Figure]:
    minimal = minimal_template(workdir / "minimal-template")
    without_hooks = template_without_hooks(workdir / "template-without-hooks")
    ours, minimal_seconds, without_hooks_seconds = median_bakes(
        [
            (TEMPLATE, workdir / "bake-ours"),
            (minimal, workdir / "bake-minimal"),
            (without_hooks, workdir / "bake-without-hooks"),
        ],
        repeat,
    )
    return [
        ratio_target("bake the default project", ours, "a minimal one-file template", minimal_seconds, LIMIT),
        Figure(
            "bake the default project: the hooks' share",
            ours,
            "this template without its hooks",
            without_hooks_seconds,
            "(reported)",
            True,
        ),
    ]


def minimal_template(path: Path) -> Path:
    (path / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (path / "cookiecutter.json").write_text(json.dumps({"project_slug": "minimal"}))
    (path / "{{cookiecutter.project_slug}}" / "README.md").write_text("# {{ cookiecutter.project_slug }}\n")
    return path


def template_without_hooks(path: Path) -> Path:
    """The template's files as Git sees them, minus hooks/ (and the tests, docs and benchmarks no bake reads)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], TEMPLATE).output
    for name in listed.splitlines():
        if not name.startswith(("hooks/", "tests/", "docs/", "bench/")) and (TEMPLATE / name).is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, path / name)
    return path


def median_bakes(bakes: list[tuple[Path, Path]], repeat: int) -> list[float]:
    """The median seconds of each (template, output) bake, the bakes taken in turn in every round: a machine whose
    load changes during the run (other jobs on its cores) then weighs on each template alike, not on whichever ran
    while it was busy."""
    seconds: list[list[float]] = [[] for _ in bakes]
    for _ in range(repeat):
        for (template, output), taken in zip(bakes, seconds, strict=True):
            shutil.rmtree(output, ignore_errors=True)
            command = ["cookiecutter", "--no-input", "--output-dir", str(output), str(template)]
            taken.append(run(command, template).seconds)
    return [statistics.median(taken) for taken in seconds]
