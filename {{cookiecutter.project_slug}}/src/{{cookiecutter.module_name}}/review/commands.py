"""Commands of the pull-request review: the report and the gate (model-pr.yml), the artifact check and the
model-gate status (model-report.yml, standard library only)."""

import argparse
from pathlib import Path


def register(commands) -> None:
    report = commands.add_parser("report", help="write reports/report.md: the candidate against the champion")
    report.add_argument("--base", required=True, help="revision of the champion, e.g. main or a commit id")
    report.add_argument(
        "--images",
        choices=("publish", "mermaid"),
        default="publish",
        help="plots as PNG links or mermaid charts",
    )
    report.add_argument("--pull-request", type=int, help="number of the pull request the report is for")
    report.add_argument("--head-sha", help="commit the candidate was built from")
    report.set_defaults(handler=run_report)

    gate = commands.add_parser("gate", help="exit 1 when the candidate regresses beyond the gate tolerance")
    gate.add_argument("--base", required=True, help="revision of the champion, e.g. main or a commit id")
    gate.set_defaults(handler=run_gate)

    check = commands.add_parser("check-artifact", help="validate a downloaded model-report artifact (CI)")
    check.add_argument("directory", type=Path)
    check.add_argument("--head-sha", required=True, help="commit the model-pr run built")
    check.set_defaults(handler=run_check_artifact)

    status = commands.add_parser("set-status", help="set the model-gate commit status (CI)")
    status.add_argument("--sha", required=True)
    status.add_argument("--gate", required=True, choices=("pass", "fail"))
    status.add_argument("--target-url")
    status.set_defaults(handler=run_set_status)


def run_report(args: argparse.Namespace) -> None:
    from ..core import config, paths
    from . import report

    report.run(config.load(), args.base, args.images, args.pull_request, args.head_sha)
    print(f"wrote {paths.REPORT} and {paths.REPORT_SUMMARY}")


def run_gate(args: argparse.Namespace) -> int:
    from ..core import config
    from . import gate

    return gate.run(config.load(), args.base)


def run_check_artifact(args: argparse.Namespace) -> None:
    from ..github import client
    from . import artifact

    client.write_outputs(artifact.check_artifact(args.directory, args.head_sha))


def run_set_status(args: argparse.Namespace) -> None:
    from . import status

    status.set_status(args.sha, args.gate, args.target_url)
