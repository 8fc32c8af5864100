"""Commands of the shared machinery."""

import argparse


def register(commands) -> None:
    recover = commands.add_parser(
        "recover",
        help="after a killed run: remove DVC's stale lock and the temporary files of unfinished writes",
    )
    recover.set_defaults(handler=run_recover)

    remote = commands.add_parser(
        "remote-dvc",
        help="run a DVC command (push, pull, ...) with the DVC_REMOTE_CREDENTIALS secret, for it alone (CI)",
    )
    remote.add_argument("dvc_args", nargs=argparse.REMAINDER, help="the DVC command and its arguments")
    remote.set_defaults(handler=run_remote_dvc)

    inputs = commands.add_parser(
        "fetch-inputs",
        help="dvc pull the DVC-tracked raw data this checkout lacks (make repro runs it first)",
    )
    inputs.set_defaults(handler=run_fetch_inputs)

    shown = commands.add_parser(
        "show-metrics",
        help="print the model's metrics (reports/metrics.json) as a table, as make repro does after the pipeline",
    )
    shown.set_defaults(handler=run_show_metrics)

    workflows = commands.add_parser(
        "check-workflows",
        help="exit 1 unless the shared workflows' version (given) is the installed ml-gitops' (CI, first step)",
    )
    workflows.add_argument("version", help="the version of the shared workflows that run this command")
    workflows.set_defaults(handler=run_check_workflows)


def run_recover(args: argparse.Namespace) -> None:
    from . import recover

    for line in recover.run():
        print(line)


def run_remote_dvc(args: argparse.Namespace) -> int:
    from . import remote

    return remote.run(args.dvc_args)


def run_fetch_inputs(args: argparse.Namespace) -> int:
    from . import remote

    return remote.fetch_inputs()


def run_show_metrics(args: argparse.Namespace) -> None:
    """What `dvc metrics show` prints for this project, without the seconds DVC takes to start."""
    import json

    from .. import UserError
    from .paths import METRICS

    try:
        metrics = json.loads(METRICS.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{METRICS} is missing or not JSON ({error}): run dvc repro") from None
    if not isinstance(metrics, dict) or not metrics:
        raise UserError(f"{METRICS} holds no metrics: run dvc repro")
    width = max(len(str(name)) for name in metrics)
    print(f"{METRICS}")
    for name, value in metrics.items():
        shown = round(value, 5) if isinstance(value, float) else value
        print(f"  {str(name):<{width}}  {shown}")


def run_check_workflows(args: argparse.Namespace) -> None:
    from .. import UserError, __version__

    if args.version != __version__:
        raise UserError(
            f"the shared workflows are ml-gitops {args.version}, but this project installs ml-gitops "
            f"{__version__}: move the workflows' ref and the ml-gitops pin in pyproject.toml to one version, in one "
            "pull request (docs/updates.md)"
        )
    print(f"ml-gitops {__version__}: the shared workflows and the installed package are one version")
