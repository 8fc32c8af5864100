"""`drift` on 1M x 20 against Evidently's DataDriftPreset and scipy's per-column ks_2samp, same data, same verdicts.

Like with like: all three compare the whole reference file (1M rows) with the whole current one (1M rows); the
product's own reference is a sample (data.reference_rows, 10,000 by default), which would only flatter it here.
"""

import json
import sys
from pathlib import Path

from tests.conftest import CACHE

from .common import Figure, in_project, project, run, scripts

ROWS, FEATURES, SHIFTED = 1_000_000, 20, 5
EVIDENTLY = ("evidently==0.7.23", "pandas<3", "pyarrow")  # Evidently 0.7 does not import with pandas 3
LIMIT = 2.0
FASTER_THAN_SCIPY, FASTER_THAN_EVIDENTLY = 3, 40


def drift(workdir: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    path = project(workdir / "drift")
    reference, current = workdir / "drift-reference.parquet", workdir / "drift-current.parquet"
    make_data = str(scripts() / "make_data.py")
    in_project(path, "python", make_data, str(reference), str(ROWS), str(FEATURES), "3")
    in_project(path, "python", make_data, str(current), str(ROWS), str(FEATURES), "4", str(SHIFTED))
    command = in_project(
        path,
        "python",
        "-m",
        "churn_model",
        "drift",
        "--reference",
        str(reference),
        "--current",
        str(current),
        "--output-dir",
        str(workdir / "drift-report"),
    )
    ours = json.loads(
        in_project(path, "python", str(scripts() / "drift_compare.py"), str(reference), str(current)).output
    )
    evidently = json.loads(
        run(
            [str(evidently_python()), str(scripts() / "drift_evidently.py"), str(reference), str(current)],
            workdir,
        ).output
    )
    expected = [f"f{i:02d}" for i in range(SHIFTED)]
    verdicts = {
        "ours": ours["ours"]["drifted"],
        "ours (KS alone)": ours["ours_ks"],
        "scipy ks_2samp": ours["scipy"]["drifted"],
        f"Evidently {evidently['version']}": evidently["drifted"],
    }
    same = all(drifted == expected for drifted in verdicts.values())
    seconds = ours["ours"]["seconds"]
    figures = [
        Figure(
            f"drift check on {ROWS:,} x {FEATURES} (in process)",
            seconds,
            "",
            None,
            f"<= {LIMIT:g} s",
            seconds <= LIMIT,
        ),
        Figure(
            "drift check vs Evidently DataDriftPreset (KS, p < 0.01)",
            seconds,
            "Evidently",
            evidently["seconds"],
            f"<= {1 / FASTER_THAN_EVIDENTLY:.3g}x ({FASTER_THAN_EVIDENTLY}x faster)",
            seconds * FASTER_THAN_EVIDENTLY <= evidently["seconds"] and same,
        ),
        Figure(
            "drift check vs scipy ks_2samp per column",
            seconds,
            "scipy",
            ours["scipy"]["seconds"],
            f"<= {1 / FASTER_THAN_SCIPY:.3g}x ({FASTER_THAN_SCIPY}x faster)",
            seconds * FASTER_THAN_SCIPY <= ours["scipy"]["seconds"] and same,
        ),
        Figure(
            "`python -m churn_model drift` end to end (read, check, plot, write)",
            command.seconds,
            "",
            None,
            "(reported)",
            True,
        ),
    ]
    details = ["| method | drifted columns |", "|---|---|"]
    details += [f"| {name} | {', '.join(columns) or 'none'} |" for name, columns in verdicts.items()]
    title = (
        f"Drifted columns found by each (the first {SHIFTED} are shifted by one standard deviation; each compares "
        f"all {ours['rows']['reference']:,} reference rows with all {ours['rows']['current']:,} current rows; ours "
        "and scipy's times are the median of 3 runs in turns)"
    )
    return figures, (title, details)


def evidently_python() -> Path:
    """A venv of its own for Evidently (the project's pandas is too new for it), built once in the cache."""
    venv = CACHE / "bench-evidently"
    python = venv / "bin" / "python"
    if not python.exists():
        run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], CACHE)
        run(["uv", "pip", "install", "--quiet", "--python", str(python), *EVIDENTLY], CACHE)
    return python
