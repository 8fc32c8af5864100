"""`report` and `gate` on 1M test predictions: a champion committed on main, a candidate in the working tree.

`report` is also measured against its floor, in turns with it: a process that reads both models' prediction files
and computes each metric of each once (metrics.compute), which any report must do. What `report` adds (bootstrap
intervals of every delta, the comparison, the chart, the page) may cost at most as much again.
"""

import json
import statistics
from pathlib import Path

import yaml

from tests.test_project import set_params

from .common import TEMPLATE, Figure, in_project, project, ratio_target, run, scripts

TEST_ROWS = 1_000_000
LIMIT = 2.0  # seconds, gate
REPORT_LIMIT = 1.5  # seconds
FLOOR_RATIO = 2.0  # report / (read both prediction files, compute each metric once)
ROUNDS = 3  # report and its floor, in turns: the median of each
SEGMENTS_RATIO = 2.0  # report with two segment columns of 20 values / the same report without (issue 30)


def report_and_gate(workdir: Path) -> list[Figure]:
    path = project(workdir / "report")
    rows = TEST_ROWS * 5 // 4
    in_project(
        path, "python", str(scripts() / "make_data.py"), "data/raw/bench.parquet", str(rows), "20", "2"
    )
    set_params(
        path,
        data={"path": "data/raw/bench.parquet", "target": "target"},
        split={"test_size": 0.8},
        model={"name": "logistic_regression", "params": {}},
    )
    in_project(path, "dvc", "repro")
    run(["git", "add", "--all"], path)
    run(["git", "commit", "--quiet", "--no-verify", "-m", "champion"], path)
    set_params(path, model={"params": {"C": 0.05}})
    in_project(path, "dvc", "repro")
    floor_command = ["python", str(scripts() / "report_floor.py"), "classification", *prediction_files(path)]
    reports, floors = [], []
    for _ in range(ROUNDS):
        reports.append(in_project(path, "python", "-m", "churn_model", "report", "--base", "main").seconds)
        floors.append(in_project(path, *floor_command).seconds)
    report, floor = statistics.median(reports), statistics.median(floors)
    gate = in_project(path, "python", "-m", "churn_model", "gate", "--base", "main")
    return [
        Figure(
            f"`report` on {TEST_ROWS:,} test predictions (bootstrap intervals)",
            report,
            "",
            None,
            f"<= {REPORT_LIMIT:g} s",
            report <= REPORT_LIMIT,
        ),
        Figure(
            f"`report` on {TEST_ROWS:,} test predictions against its floor",
            report,
            "reading both prediction files and computing each metric once",
            floor,
            f"<= {FLOOR_RATIO:g}x",
            report <= FLOOR_RATIO * floor,
        ),
        segments_figure(),
        Figure(
            f"`gate` on {TEST_ROWS:,} test predictions",
            gate.seconds,
            "",
            None,
            f"<= {LIMIT:g} s",
            gate.seconds <= LIMIT,
        ),
    ]


def prediction_files(path: Path) -> tuple[str, str]:
    """The champion's predictions (main's, in the DVC cache) and the candidate's (the working tree's)."""
    lock = yaml.safe_load(run(["git", "show", "main:dvc.lock"], path).output)
    digest = next(
        out["md5"]
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
        if out["path"] == "reports/predictions.parquet"
    )
    champion = path / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    return str(champion), str(path / "reports" / "predictions.parquet")


def segments_figure() -> Figure:
    """`report` with two segment columns of 20 values each against the same report without, on 1M test
    predictions (bench/scripts/report_segments.py, in the package's environment: the best of 2 of each)."""
    found = json.loads(
        run(
            ["uv", "run", "--locked", "python", str(scripts() / "report_segments.py"), str(TEST_ROWS), "2"],
            TEMPLATE / "package",
        )
        .output.strip()
        .splitlines()[-1]
    )
    return ratio_target(
        f"`report` on {TEST_ROWS:,} test predictions with two segment columns of 20 values each",
        found["report_with_segments_seconds"],
        "the same report without segments",
        found["report_seconds"],
        SEGMENTS_RATIO,
    )
