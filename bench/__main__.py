"""`python -m bench [name ...]`: run the benchmarks (all by default) and write bench/results.md.

Every figure is measured in this run against a baseline measured in the same run, on this machine.
"""

import argparse
import shutil
import time
from pathlib import Path

from . import act_pr, bake, drift, history, monitoring, pipeline, report_gate, serving
from .common import TEMPLATE, Figure, in_project, machine, run

RESULTS = Path(__file__).parent / "results.md"
NAMES = ("bake", "scale", "default", "noop", "report", "drift", "serving", "monitoring", "act")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name", help=f"some of {', '.join(NAMES)} (default: all)")
    parser.add_argument("--workdir", type=Path, default=TEMPLATE / "build" / "bench")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="where to write the results (default: bench/results.md)"
    )
    args = parser.parse_args()
    args.workdir = (
        args.workdir.resolve()
    )  # the projects' venvs go on PATH, and their commands run in other folders
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    started = time.perf_counter()
    last = history.previous(RESULTS.relative_to(TEMPLATE))
    figures, sections = measure(set(args.names or NAMES), args.workdir)
    args.results.write_text(
        render(figures, sections, time.perf_counter() - started, args.workdir, last), encoding="utf-8"
    )
    print(args.results.read_text(encoding="utf-8"))


def measure(names: set[str], workdir: Path) -> tuple[list[Figure], dict[str, list[str]]]:
    figures: list[Figure] = []
    sections: dict[str, list[str]] = {}

    def step(name: str, function, *args):
        if name not in names:
            return None
        print(f"bench: {name} ...", flush=True)
        return function(*args)

    if found := step("bake", bake.bake, workdir):
        figures += found
    if found := step("scale", pipeline.scale, workdir):
        figures += found[0]
        sections.update([found[1]])
    trained, repro_seconds = None, None
    if names & {"default", "noop", "serving", "monitoring", "act"}:
        found, trained = pipeline.default(workdir)
        figures += found
        repro_seconds = found[0].value
    if found := step("noop", pipeline.noop, trained, workdir):
        figures += found
    if found := step("report", report_gate.report_and_gate, workdir):
        figures += found
    if found := step("drift", drift.drift, workdir):
        figures += found[0]
        sections.update([found[1]])
    if found := step("serving", serving.serving, trained):
        figures += found[0]
        sections.update([found[1]])
    if found := step("monitoring", monitoring.monitoring, trained, workdir):
        figures += found[0]
        sections.update([found[1]])
    if found := step("act", act_pr.act_pull_request, workdir, repro_seconds):
        figures += found
    return figures, sections


def render(
    figures: list[Figure],
    sections: dict[str, list[str]],
    seconds: float,
    workdir: Path,
    last: history.Previous,
) -> str:
    facts = machine()
    here = f"{facts['cores']} cores ({facts['cpu']}), {facts['memory']}"
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); every ratio is measured in the same run on this machine.",
        f"The last column compares each figure with the last committed run (its ratio; an absolute figure only on "
        f"the same kind of machine) and marks one that got worse by more than {history.WORSE:.0%}.",
        "",
        f"Machine: {here} memory, {facts['os']}, "
        f"Python {facts['python']}. Versions: {versions(workdir)}. The whole run took {seconds / 60:.1f} min.",
        "",
        "| benchmark | ours | baseline | baseline time | ratio | target | met | last run |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for figure in figures:
        baseline = f"{figure.baseline_value:.2f} {figure.unit}" if figure.baseline_value else ""
        ratio = f"{figure.ratio:.2f}x" if figure.ratio else ""
        lines.append(
            f"| {figure.name} | {figure.value:.2f} {figure.unit} | {figure.baseline} | {baseline} | {ratio} | "
            f"{figure.target} | {'yes' if figure.met else '**no**'} | {history.change(figure, last, here)} |"
        )
    for title, rows in sections.items():
        lines += ["", f"## {title}", "", *rows]
    lines += ["", f"## {history.HISTORY_TITLE}", "", *history.history_lines(figures, last, history.stamp())]
    return "\n".join(lines) + "\n"


def versions(workdir: Path) -> str:
    project = next(
        (
            path
            for path in (workdir / name / "churn-model" for name in ("default", "scale", "drift"))
            if path.exists()
        ),
        None,
    )
    if project is None:
        return "no project baked"
    script = (
        "from importlib.metadata import version as v\n"
        "print(', '.join(f'{n} {v(n)}' for n in ('dvc', 'scikit-learn', 'pandas', 'numpy', 'skops', 'fastapi')))"
    )
    cookiecutter = run(["cookiecutter", "--version"], TEMPLATE).output.split()[1]
    return f"cookiecutter {cookiecutter}, {in_project(project, 'python', '-c', script).output.strip()}"


if __name__ == "__main__":
    main()
