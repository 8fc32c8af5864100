"""Production scale: `score` on 2M rows against the pipeline's own `predict` on the same frame, its peak memory
against a tenth of the rows, `monitor` on 10M logged predictions with 1M labels, and `monitor --challenger` on 10M
logged predictions of two models (5M requests each answered by both, with score_ms) and 1M labels against the same
`monitor` without the challenger (issue 31's 1.5x)."""

import statistics
from pathlib import Path

import yaml

from .common import Figure, in_project, ratio_target, scripts

SCORE_ROWS, PREDICTIONS, LABELS = 2_000_000, 10_000_000, 1_000_000
SHADOW_REQUESTS = PREDICTIONS // 2  # each answered by both models: PREDICTIONS logged predictions
CHALLENGER = "v1.1.0-rc1"  # make_traffic.py's challenger, named by its version
ROUNDS = 3  # score and its baseline alternate, so both see the same machine


def monitoring(trained: Path, workdir: Path) -> tuple[list[Figure], tuple[str, list[str]]]:
    traffic = workdir / "traffic"
    make = str(scripts() / "make_traffic.py")
    in_project(trained, "python", make, str(PREDICTIONS), str(LABELS), str(SCORE_ROWS), str(traffic))
    in_project(trained, "python", make, "0", "0", str(SCORE_ROWS // 10), str(workdir / "traffic-small"))
    shadow = workdir / "traffic-shadow"
    in_project(trained, "python", make, str(SHADOW_REQUESTS), str(LABELS), "0", str(shadow), "shadow")
    scored, baseline = [], []
    for round_number in range(ROUNDS):
        scored.append(score(trained, traffic / "score.parquet", traffic / f"log-{round_number}"))
        baseline.append(
            in_project(trained, "python", str(scripts() / "predict_frame.py"), str(traffic / "score.parquet"))
        )
    small = score(trained, workdir / "traffic-small" / "score.parquet", workdir / "traffic-small" / "log")
    monitored = [monitor(trained, traffic) for _ in range(3)]
    alone, compared = [], []
    for _ in range(ROUNDS):  # alternating, so both see the same machine
        alone.append(monitor(trained, shadow))
        compared.append(monitor(trained, shadow, "--challenger", CHALLENGER))
    alone_seconds = statistics.median(run.seconds for run in alone)
    compared_seconds = statistics.median(run.seconds for run in compared)
    monitor_seconds = statistics.median(run.seconds for run in monitored)
    score_seconds = statistics.median(run.seconds for run in scored)
    score_peak = max(run.peak_mib for run in scored)
    figures = [
        ratio_target(
            f"`score` of {SCORE_ROWS:,} rows (Parquet in and out, every row validated and logged)",
            score_seconds,
            "the pipeline's own `predict` on the same frame, one process",
            statistics.median(run.seconds for run in baseline),
            1.3,
        ),
        Figure(
            f"peak memory of `score`, {SCORE_ROWS:,} rows",
            score_peak,
            f"{SCORE_ROWS // 10:,} rows",
            small.peak_mib,
            "<= 1.5x (bounded by --batch-rows)",
            score_peak <= 1.5 * small.peak_mib,
            "MiB",
        ),
        Figure(
            f"`monitor` on {PREDICTIONS:,} logged predictions with {LABELS:,} labels (30 daily windows)",
            monitor_seconds,
            "",
            None,
            "<= 10 s (median of 3)",
            monitor_seconds <= 10,
        ),
        ratio_target(
            f"`monitor --challenger` on {PREDICTIONS:,} logged predictions of two models ({SHADOW_REQUESTS:,} "
            f"requests answered by both) with {LABELS:,} labels",
            compared_seconds,
            "the same `monitor` without the challenger",
            alone_seconds,
            1.5,
        ),
    ]
    rows = [
        f"- `score`: {SCORE_ROWS / score_seconds:,.0f} rows/s; peak memory {score_peak:,.0f} MiB "
        f"(the baseline, which holds the whole frame: {max(run.peak_mib for run in baseline):,.0f} MiB).",
        f"- `monitor`: {monitor_seconds:.1f} s, peak memory {max(run.peak_mib for run in monitored):,.0f} MiB, for "
        f"{PREDICTIONS:,} predictions in {PREDICTIONS // 100_000} Parquet files and {LABELS:,} labels.",
        f"- `monitor --challenger`: {compared_seconds:.1f} s against {alone_seconds:.1f} s without (median of "
        f"{ROUNDS}, alternating), peak memory {max(run.peak_mib for run in compared):,.0f} MiB against "
        f"{max(run.peak_mib for run in alone):,.0f} MiB, for {SHADOW_REQUESTS:,} requests answered by both models "
        f"({PREDICTIONS:,} predictions) and {LABELS:,} labels.",
    ]
    return figures, ("Batch scoring and monitoring at scale", rows)


def score(trained: Path, source: Path, log: Path):
    output = source.with_name(f"scored-{log.name}.parquet")
    return in_project(
        trained, "python", "-m", "churn_model", "score", str(source), str(output), "--log-dir", str(log)
    )


def monitor(trained: Path, traffic: Path, *options: str):
    """`monitor` with monitoring.log_dir and monitoring.labels pointed at the traffic; params.yaml restored."""
    params = trained / "params.yaml"
    original = params.read_text()
    settings = yaml.safe_load(original)
    settings["monitoring"] |= {"log_dir": str(traffic / "log"), "labels": str(traffic / "labels")}
    params.write_text(yaml.safe_dump(settings, sort_keys=False))
    try:
        return in_project(
            trained,
            "python",
            "-m",
            "churn_model",
            "monitor",
            "--output-dir",
            str(traffic / "monitor"),
            *options,
        )
    finally:
        params.write_text(original)
