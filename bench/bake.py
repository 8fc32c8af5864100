"""Baking the default project with cookiecutter's command line, against a minimal one-file template and against
this template without its hooks (what the hooks themselves cost)."""

import json
import shutil
import statistics
from pathlib import Path

from .common import TEMPLATE, Figure, ratio_target, run

LIMIT = 1.5


def bake(workdir: Path, repeat: int = 7) -> list[Figure]:
    minimal = minimal_template(workdir / "minimal-template")
    without_hooks = template_without_hooks(workdir / "template-without-hooks")
    ours = median_bake(TEMPLATE, workdir / "bake-ours", repeat)
    return [
        ratio_target(
            "bake the default project",
            ours,
            "a minimal one-file template",
            median_bake(minimal, workdir / "bake-minimal", repeat),
            LIMIT,
        ),
        Figure(
            "bake the default project: the hooks' share",
            ours,
            "this template without its hooks",
            median_bake(without_hooks, workdir / "bake-without-hooks", repeat),
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


def median_bake(template: Path, output: Path, repeat: int) -> float:
    def once() -> float:
        shutil.rmtree(output, ignore_errors=True)
        command = ["cookiecutter", "--no-input", "--output-dir", str(output), str(template)]
        return run(command, template).seconds

    return statistics.median(once() for _ in range(repeat))
