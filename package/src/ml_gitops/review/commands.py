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

    inputs = commands.add_parser(
        "model-inputs", help="does this checkout change a model input since BASE? (changed=true|false, CI)"
    )
    inputs.add_argument("--base", required=True, help="revision of the champion, e.g. main or a commit id")
    inputs.set_defaults(handler=run_model_inputs)

    check = commands.add_parser(
        "check-artifact",
        help="check a downloaded model-report artifact and decide the model-gate verdict (CI)",
    )
    check.add_argument("directory", type=Path)
    check.add_argument("--head-sha", required=True, help="commit the model-pr run built")
    check.add_argument(
        "--run-conclusion", required=True, help="how the model-pr run ended (success, failure)"
    )
    check.add_argument("--verdict", type=Path, required=True, help="where to write the verdict (JSON)")
    check.set_defaults(handler=run_check_artifact)

    status = commands.add_parser("set-status", help="set the model-gate commit status from the verdict (CI)")
    status.add_argument("--verdict", type=Path, required=True)
    status.add_argument("--target-url")
    status.set_defaults(handler=run_set_status)

    post = commands.add_parser(
        "post-report", help="post the artifact's report as the pull request's comment (CI)"
    )
    post.add_argument("directory", type=Path)
    post.add_argument("--verdict", type=Path, required=True)
    post.add_argument("--images", choices=("publish", "mermaid"), default="publish")
    post.set_defaults(handler=run_post_report)


def run_report(args: argparse.Namespace) -> None:
    from ..core import config, paths
    from . import report

    report.run(config.load(), args.base, args.images, args.pull_request, args.head_sha)
    print(f"wrote {paths.REPORT} and {paths.REPORT_SUMMARY}")


def run_gate(args: argparse.Namespace) -> int:
    from ..core import config
    from . import gate

    return gate.run(config.load(), args.base)


def run_model_inputs(args: argparse.Namespace) -> None:
    from ..github import client
    from . import inputs

    changed = inputs.model_inputs(inputs.changed_since(args.base))
    print("\n".join(changed) or f"no model input changed since {args.base}")
    client.write_outputs({"changed": str(bool(changed)).lower()})


def run_check_artifact(args: argparse.Namespace) -> None:
    from .. import UserError
    from ..github import client
    from . import verdict
    from .artifact import NotIntoDefaultBranch

    try:
        decided = verdict.decide(args.directory, args.head_sha, args.run_conclusion)
    except NotIntoDefaultBranch as elsewhere:  # neither a pass nor a failure: nothing to say on the commit
        decided = verdict.unjudged(args.head_sha, str(elsewhere))
        print(elsewhere)
    except UserError as refusal:  # the status still says so: a refused report never leaves the check pending
        verdict.write(verdict.refused(args.head_sha, str(refusal)), args.verdict)
        raise
    verdict.write(decided, args.verdict)
    client.write_outputs({"comment": str(decided.comment).lower()})


def run_set_status(args: argparse.Namespace) -> None:
    from . import status, verdict

    status.set_status(verdict.read(args.verdict), args.target_url)


def run_post_report(args: argparse.Namespace) -> None:
    from . import comment, verdict

    decided = verdict.read(args.verdict)
    print(
        comment.post_report(
            decided.pull_request, args.directory, args.images, comment.headline(decided), decided.head_sha
        )
    )
