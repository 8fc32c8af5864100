"""Commands of monitoring: the model in production (make monitor), the drift check (make drift, retrain.yml) and
the retraining pull request."""

import argparse
import os
from pathlib import Path

from .. import UserError


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
        "--challenger",
        metavar="SHA256",
        help="also compare the model that scored the same traffic in shadow: its sha256 (or a version naming one "
        "model in the log), on the labelled requests both answered; writes challenger.md too",
    )
    monitor.add_argument(
        "--github", action="store_true", help="also write the job summary and verdict=<verdict>"
    )
    monitor.set_defaults(handler=run_monitor)

    labelled = commands.add_parser(
        "labelled-log",
        help="write the labelled prediction log as a training table (retrain on production data)",
    )
    labelled.add_argument(
        "output", type=Path, help="the table to write, .parquet or .csv (e.g. data/raw/production.parquet)"
    )
    labelled.add_argument("--since", help="first day of the logs to read, YYYY-MM-DD (default: all)")
    labelled.add_argument("--until", help="day after the last one to read, YYYY-MM-DD (default: all)")
    labelled.set_defaults(handler=run_labelled_log)

    version = commands.add_parser(
        "monitor-version", help="check out the production version's dvc.lock and metrics (retrain.yml)"
    )
    version.set_defaults(handler=run_monitor_version)

    monitor_data = commands.add_parser(
        "monitor-data",
        help="pull the pipeline's outputs, dvc update and push the prediction log's and labels' imports (CI)",
    )
    monitor_data.set_defaults(handler=run_monitor_data)

    posted = commands.add_parser(
        "challenger-comment",
        help="post monitor --challenger's section on production traffic, in place: in the pull request's report "
        "comment (its candidate in shadow) or the production version's monitoring issue (a released version)",
    )
    where = posted.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--pull-request", type=int, metavar="N", help="the pull request whose candidate it judged"
    )
    where.add_argument(
        "--version",
        metavar="vX.Y.Z",
        help="the version in production: the section goes to its monitoring issue",
    )
    posted.add_argument(
        "--commit",
        metavar="SHA",
        help="with --pull-request: the head commit whose candidate scored in shadow",
    )
    posted.add_argument(
        "--section", type=Path, help="the section to post (default: reports/monitor/challenger.md)"
    )
    posted.set_defaults(handler=run_challenger_comment)

    issue = commands.add_parser(
        "monitor-issue", help="edit the production version's monitoring issue (retrain.yml)"
    )
    issue.add_argument("--version", required=True, help="the version in production, e.g. v1.2.0")
    issue.add_argument("--run-url", required=True, help="the workflow run the issue links to")
    issue.set_defaults(handler=run_monitor_issue)

    batch = commands.add_parser("drifted-batch", help="write a drifted copy of the bundled data (demo)")
    batch.add_argument("--output", type=Path, default=Path("data/raw/drifted.csv"))
    batch.add_argument("--rows", type=int, default=500)
    batch.set_defaults(handler=run_drifted_batch)

    retrain_open = commands.add_parser("retrain-status", help="is a retraining pull request open? (CI)")
    retrain_open.set_defaults(handler=run_retrain_status)

    retrain_data = commands.add_parser(
        "retrain-data",
        help="the champion's outputs from the DVC remote (else reproduced), then dvc update of data/raw's imports (CI)",
    )
    retrain_data.set_defaults(handler=run_retrain_data)

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
        client.write_outputs(
            {"drift": str(summary["drift"]).lower(), "retrain": str(_retrain(summary["drift"])).lower()}
        )
    return 3 if args.fail_on_drift and summary["drift"] else 0


def _retrain(drifted: bool) -> bool:
    """Retrain when the training data's source drifted, or when the model in production decayed on the labels that
    arrived (the monitor job's verdict, MONITOR_VERDICT). Drift of the served inputs alone is shown, never a
    trigger: anyone who can reach the service can shift them."""
    from . import performance

    verdict = os.environ.get("MONITOR_VERDICT", "")
    if verdict == performance.DECAY:
        print("the model in production: decay (monitor): retraining")
    elif verdict == performance.DRIFT:
        print(
            "the model in production: its served inputs drifted (monitor): shown in its issue, but served "
            "traffic alone never starts retraining (anyone who reaches the service can shift it)"
        )
    return drifted or verdict == performance.DECAY


def run_monitor(args: argparse.Namespace) -> None:
    from ..core import config, files, paths
    from ..github import client
    from . import performance, watch

    directory = args.output_dir or paths.MONITOR
    settings = config.load()
    try:
        summary = performance.run(settings, directory, args.since, args.until, args.challenger)
    except performance.NothingToMonitor as error:
        if not args.github:
            raise
        summary = {"verdict": "none", "reason": str(error)}
        files.write_json(summary, directory / "monitor.json")
        client.write_summary(f"## Monitoring: nothing to monitor\n\n{error}")
        print(f"nothing to monitor: {error}")
    else:
        print((directory / "monitor.md").read_text(encoding="utf-8"))
    if args.github:
        tracked = watch.imports(settings.monitoring)
        watch.record_imports(directory / "monitor.json", tracked)
        if summary["verdict"] != "none":
            client.write_summary(performance.markdown(summary, plot=None))
        client.write_outputs({"verdict": summary["verdict"]})


def run_labelled_log(args: argparse.Namespace) -> None:
    from ..core import config
    from . import labelled

    labelled.write(config.load(), args.output, args.since, args.until)


def run_monitor_version(args: argparse.Namespace) -> None:
    from ..core import remote
    from . import watch

    watch.check_out_production(has_remote=remote.remote_url() is not None)


def run_monitor_data(args: argparse.Namespace) -> int:
    from ..core import config, remote
    from . import watch

    status = remote.run(["pull", "--quiet", "dvc.yaml"])
    settings = config.load().monitoring
    tracked = [str(path) for path in watch.imports(settings) if path.exists()]
    if status or not tracked:
        return status
    print(f"dvc update {' '.join(tracked)}: the newest prediction log and labels")
    status = remote.run(["update", "--quiet", *tracked])
    # into the DVC remote (new files only), so every version a verdict names can be pulled again
    return status or remote.run(["push", "--quiet", *tracked])


def run_monitor_issue(args: argparse.Namespace) -> None:
    import json

    from ..core import paths
    from ..release.tags import VERSION
    from . import watch

    if not VERSION.match(args.version):
        raise UserError(f"{args.version!r} is not a version such as v1.2.0: refusing it")
    summary_path = paths.MONITOR / "monitor.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    watch.update_issue(args.version, summary, args.run_url)


def run_challenger_comment(args: argparse.Namespace) -> None:
    """Standard library only: it holds a write token."""
    from . import posting

    if args.pull_request is not None and args.pull_request < 1:
        raise UserError(f"--pull-request {args.pull_request} is not a pull request number: give N of #N")
    if args.pull_request is not None and not args.commit:
        raise UserError("--pull-request needs --commit: the head commit whose candidate scored in shadow")
    if args.version is not None and args.commit:
        raise UserError("--commit goes with --pull-request only: a released version is named by --version")
    section = posting.read_section(args.section or Path("reports/monitor/challenger.md"))
    if args.pull_request is not None:
        where = posting.post_to_pull_request(args.pull_request, args.commit, section)
    else:
        where = posting.post_to_monitoring_issue(args.version, section)
    print(f"posted the section on production traffic: {where}")


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


def run_retrain_data(args: argparse.Namespace) -> int:
    from . import retrain

    return retrain.fetch_data()
