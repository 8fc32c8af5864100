"""The pipeline against the same work in one plain process: at 2M rows x 30 mixed columns, on the default project
fresh, and DVC's no-op floor (`dvc repro` / `dvc status` with nothing to do)."""

import statistics
from pathlib import Path

from tests.test_project import set_params

from .common import Figure, in_project, project, project_env, ratio_target, run, scripts

STAGES = ("prepare", "train", "evaluate")
ROWS, NUMERIC, CATEGORICAL = 2_000_000, 20, 10
GIB = 1024


def scale(workdir: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    """2M rows x 30 mixed columns through the default pipeline's `dvc repro` vs one process; then each stage alone
    for its peak memory."""
    path = project(workdir / "scale")
    data = "data/raw/bench.parquet"
    in_project(
        path,
        "python",
        str(scripts() / "make_data.py"),
        data,
        str(ROWS),
        str(NUMERIC),
        "1",
        "0",
        str(CATEGORICAL),
    )
    codes = [
        f"c{index:02d}" for index in range(0, CATEGORICAL, 2)
    ]  # number codes; the text columns are inferred
    set_params(path, data={"path": data, "target": "target", "categorical": codes})
    plain = in_project(path, "python", str(scripts() / "one_process.py"))
    plain_peak = float(plain.output.strip().splitlines()[-1])
    repro = in_project(path, "dvc", "repro", "--force")
    model_mib = (path / "models" / "model.skops").stat().st_size / 2**20
    stages = {stage: in_project(path, "python", "-m", "churn_model", stage) for stage in STAGES}
    peak = max(run.peak_mib for run in stages.values())
    shape = f"{ROWS:,} rows x {NUMERIC + CATEGORICAL} columns ({NUMERIC} numeric, {CATEGORICAL} categorical of up to 1,000 levels)"
    figures = [
        ratio_target(
            f"the default pipeline's `dvc repro` at {shape}",
            repro.seconds,
            "the same stages in one process",
            plain.seconds,
            1.2,
        ),
        Figure(
            "the same `dvc repro`, wall time", repro.seconds, "", None, "< 180 s", repro.seconds < 180, "s"
        ),
        Figure(
            f"peak memory of the largest stage at {ROWS:,} rows",
            peak / GIB,
            "",
            None,
            "<= 4 GiB",
            peak <= 4 * GIB,
            "GiB",
        ),
        Figure("the model file at that size", model_mib, "", None, "<= 5 MiB", model_mib <= 5, "MiB"),
    ]
    details = ["| stage | time | peak memory |", "|---|---:|---:|"]
    details += [
        f"| {stage} | {run.seconds:.1f} s | {run.peak_mib:,.0f} MiB |" for stage, run in stages.items()
    ]
    details.append(f"| all three in one process | {plain.seconds:.1f} s | {plain_peak:,.0f} MiB |")
    return figures, (f"Each stage alone at {ROWS:,} rows (peak resident memory)", details)


def default(workdir: Path, repeat: int = 3) -> tuple[list[Figure], Path]:
    """The default project's fresh `dvc repro` vs one process, median of `repeat`; returns the trained project."""
    path = project(workdir / "default")
    plain = statistics.median(
        in_project(path, "python", str(scripts() / "one_process.py")).seconds for _ in range(repeat)
    )
    repro = statistics.median(in_project(path, "dvc", "repro", "--force").seconds for _ in range(repeat))
    figure = ratio_target(
        "the default project's fresh `dvc repro`", repro, "the same stages in one process", plain, 1.5
    )
    return [figure], path


def noop(trained: Path, workdir: Path, repeat: int = 5) -> list[Figure]:
    """No-op `dvc repro` and `dvc status` on the trained default project vs a 3-stage pipeline of `echo`s."""
    floor = trivial_pipeline(workdir / "trivial", trained)
    figures = []
    for command in (("dvc", "repro"), ("dvc", "status")):
        ours = statistics.median(in_project(trained, *command).seconds for _ in range(repeat))
        base = statistics.median(
            run(list(command), floor, env=project_env(trained)).seconds for _ in range(repeat)
        )
        figures.append(
            ratio_target(
                f"no-op `{' '.join(command)}`", ours, "a 3-stage pipeline of trivial commands", base, 1.1
            )
        )
    return figures


def trivial_pipeline(path: Path, trained: Path) -> Path:
    """A Git + DVC repository whose three chained stages only copy a line, reproduced once."""
    path.mkdir(parents=True)
    env = project_env(trained)
    run(["git", "init", "--quiet", "-b", "main"], path, env)
    run(["dvc", "init", "--quiet"], path, env)
    (path / "input.txt").write_text("bench\n")
    (path / "dvc.yaml").write_text(
        "stages:\n"
        "  one: {cmd: cp input.txt one.txt, deps: [input.txt], outs: [one.txt]}\n"
        "  two: {cmd: cp one.txt two.txt, deps: [one.txt], outs: [two.txt]}\n"
        "  three: {cmd: cp two.txt three.txt, deps: [two.txt], outs: [three.txt]}\n"
    )
    run(["dvc", "repro", "--quiet"], path, env)
    return path
