"""Baking the default project vs a minimal one-file template with cookiecutter's command line: our hooks' cost."""

import json
import shutil
import statistics
from pathlib import Path

from .common import TEMPLATE, Figure, ratio_target, run

LIMIT = 1.5


def bake(workdir: Path, repeat: int = 5) -> list[Figure]:
    minimal = minimal_template(workdir / "minimal-template")
    ours = median_bake(TEMPLATE, workdir / "bake-ours", repeat)
    base = median_bake(minimal, workdir / "bake-minimal", repeat)
    return [ratio_target("bake the default project", ours, "a minimal one-file template", base, LIMIT)]


def minimal_template(path: Path) -> Path:
    (path / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (path / "cookiecutter.json").write_text(json.dumps({"project_slug": "minimal"}))
    (path / "{{cookiecutter.project_slug}}" / "README.md").write_text("# {{ cookiecutter.project_slug }}\n")
    return path


def median_bake(template: Path, output: Path, repeat: int) -> float:
    def once() -> float:
        shutil.rmtree(output, ignore_errors=True)
        return run(
            ["cookiecutter", "--no-input", "--output-dir", str(output), str(template)], template
        ).seconds

    return statistics.median(once() for _ in range(repeat))
