"""`report` and `gate` on 1M test predictions: a champion committed on main, a candidate in the working tree."""

from pathlib import Path

from tests.test_project import set_params

from .common import Figure, in_project, project, run, scripts

TEST_ROWS = 1_000_000
LIMIT = 2.0


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
    report = in_project(path, "python", "-m", "churn_model", "report", "--base", "main")
    gate = in_project(path, "python", "-m", "churn_model", "gate", "--base", "main")
    return [
        Figure(
            f"`report` on {TEST_ROWS:,} test predictions (bootstrap intervals)",
            report.seconds,
            "",
            None,
            f"<= {LIMIT:g} s",
            report.seconds <= LIMIT,
        ),
        Figure(
            f"`gate` on {TEST_ROWS:,} test predictions",
            gate.seconds,
            "",
            None,
            f"<= {LIMIT:g} s",
            gate.seconds <= LIMIT,
        ),
    ]
