"""The monitoring table shows the segments of params.yaml per window, on the labelled production rows, when the
prediction log holds their column; a column it does not hold (under data.drop, excluded or hashed) is said so,
never guessed; segment values are data, shown inert."""

import numpy as np
import pandas as pd
import yaml
from rendered import render
from test_performance import arrive, production  # noqa: F401 - the fixture

from ml_gitops.core import config, paths
from ml_gitops.monitor import performance
from ml_gitops.review.markdown import text


def name_segments(columns: dict, exclude: list[str] | None = None, min_rows: int = 30):
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {"columns": columns, "min_rows": min_rows}
    raw["monitoring"]["exclude"] = exclude or []
    paths.PARAMS.write_text(yaml.safe_dump(raw, sort_keys=False))
    return config.load()


def test_each_window_shows_the_metric_per_segment_of_a_logged_column(production):  # noqa: F811
    params, truth, where = production
    arrive(truth, where)
    column = pd.read_parquet(paths.TEST).columns[0]
    cut = float(pd.read_parquet(paths.TEST)[column].median())
    settings = name_segments({column: {"bins": [cut]}})
    summary = performance.run(settings)
    for window in summary["windows"]:
        rows = window["segments"][column]
        assert [row["segment"] for row in rows] == [f"< {cut:g}", f">= {cut:g}"]
        assert sum(row["labelled"] for row in rows) == window["labelled"]
        for row in rows:
            assert row["low"] <= row["value"] <= row["high"]
    written = (paths.MONITOR / "monitor.md").read_text()
    assert f"{params.gate.metric} per segment of {text(column)} (95% intervals, not corrected" in written
    assert f"| {summary['windows'][0]['window'][:16]} | \\< {cut:g} |" in written


def test_a_segment_column_the_log_does_not_hold_is_said_so(production):  # noqa: F811
    params, truth, where = production
    arrive(truth, where)
    column = pd.read_parquet(paths.TEST).columns[0]
    settings = name_segments({column: {"bins": [0]}}, exclude=[column])
    summary = performance.run(settings)
    assert all("segments" not in window for window in summary["windows"])
    assert (
        f"segment column {column} is not in the prediction log (monitoring.exclude leaves it out): its "
        "segments are not shown"
    ) in summary["notes"]


def test_too_few_labels_are_marked_and_hostile_values_are_inert(production):  # noqa: F811
    params, truth, where = production
    arrive(truth, where)
    summary = {
        "verdict": "ok",
        "metric": params.gate.metric,
        "release": 0.9,
        "tolerance": "0.02",
        "model_sha256": "0" * 64,
        "windows": [
            {
                "window": "2026-03-02T00:00:00+00:00",
                "predictions": 100,
                "labelled": 100,
                "share_labelled": 1.0,
                "status": "ok",
                "segments": {
                    "plan": [
                        {"segment": "@octocat <b>x</b> [a](https://evil.example) |", "labelled": 3},
                        {"segment": "big", "labelled": 97, "value": 0.9, "low": 0.8, "high": 0.95},
                    ]
                },
            }
        ],
        "drift": {"drift": False, "drifted_features": [], "features": []},
        "notes": [],
    }
    written = performance.markdown(summary, None)
    assert "| 3 | - |  | too few labels to judge |" in written
    shown = render(written)
    assert (shown.links, shown.images, shown.raw_tags, shown.mentions) == ([], [], [], [])
    assert np.isclose(summary["windows"][0]["segments"]["plan"][1]["value"], 0.9)
