"""Commands of monitoring: the model in production (make monitor), the drift check (make drift, retrain.yml) and
the retraining pull request."""

import argparse
import os
from pathlib import Path


def register(commands) -> None:
    drift = commands.add_parser("drift", help="compare the newest data with the champion's reference sample")
    drift.add_argument(
        "--reference", type=Path, help="reference data (default: data/prepared/reference.parquet)"
    )
    drift.add_argument("--current", type=Path, help="current data (default: the data params.yaml points at)")
    drift.add_argument(
        "--model", type=Path, help="also compare this model's predictions (default: the champion)"
    )
    drift.add_argument(
        "--output-dir", type=Path, help="where drift.json, drift.md, drift.png go (reports/drift)"
    )
    drift.add_argument("--fail-on-drift", action="store_true", help="exit 3 when the data drifted")
    drift.add_argument(
        "--github", action="store_true", help="also write the job summary and drift=<bool> (CI)"
    )
    drift.set_defaults(handler=run_drift)

    monitor = commands.add_parser(
        "monitor",
        help="how the model in production does: its prediction log joined with the labels that arrived",
    )
    monitor.add_argument("--since", help="first day of the logs to read, YYYY-MM-DD (default: all)")
    monitor.add_argument("--until", help="day after the last one to read, YYYY-MM-DD (default: all)")
    monitor.add_argument("--output-dir", type=Path, help="where monitor.json, monitor.md, metric.png go")
    monitor.add_argument(
        "--github", action="store_true", help="also write the job summary and verdict=<verdict>"
    )
    monitor.set_defaults(handler=run_monitor)

    batch = commands.add_parser("drifted-batch", help="write a drifted copy of the bundled data (demo)")
    batch.add_argument("--output", type=Path, default=Path("data/raw/drifted.csv"))
    batch.add_argument("--rows", type=int, default=500)
    batch.set_defaults(handler=run_drifted_batch)

    retrain_open = commands.add_parser("retrain-status", help="is a retraining pull request open? (CI)")
    retrain_open.set_defaults(handler=run_retrain_status)

    retrain_pr = commands.add_parser("retrain-pr", help="open the retraining pull request with CML (CI)")
    retrain_pr.add_argument("--run-id", default=os.environ.get("GITHUB_RUN_ID", "local"))
    retrain_pr.set_defaults(handler=run_retrain_pr)


def run_drift(args: argparse.Namespace) -> int:
    from ..core import config, paths
    from ..github import client
    from . import drift

    directory = args.output_dir or paths.DRIFT
    summary = drift.run(
        config.load(), args.reference or paths.REFERENCE, args.current, directory, args.model or paths.MODEL
    )
    report = (directory / "drift.md").read_text(encoding="utf-8")
    print(report)
    if args.github:
        client.write_summary(drift.markdown(summary, plot=None))
        client.write_outputs({"drift": str(summary["drift"]).lower()})
    return 3 if args.fail_on_drift and summary["drift"] else 0


def run_monitor(args: argparse.Namespace) -> None:
    from ..core import config, paths
    from ..github import client
    from . import performance

    directory = args.output_dir or paths.MONITOR
    summary = performance.run(config.load(), directory, args.since, args.until)
    print((directory / "monitor.md").read_text(encoding="utf-8"))
    if args.github:
        client.write_summary(performance.markdown(summary, plot=None))
        client.write_outputs({"verdict": summary["verdict"]})


def run_drifted_batch(args: argparse.Namespace) -> None:
    from ..core import config, files
    from . import drift

    frame = drift.drifted_batch(config.load(), args.rows, seed=7)
    with files.atomic_path(args.output) as temporary:
        frame.to_csv(temporary, index=False)
    print(
        f"wrote {args.output}: {len(frame)} rows of the bundled data with shifted features. Watch the loop: "
        f"`uv run dvc add {args.output}`, set data.path: {args.output} in params.yaml, commit and push "
        "(or compare now: make drift)"
    )


def run_retrain_status(args: argparse.Namespace) -> None:
    from . import retrain

    retrain.status()


def run_retrain_pr(args: argparse.Namespace) -> None:
    from . import retrain

    retrain.create_pull_request(args.run_id)
