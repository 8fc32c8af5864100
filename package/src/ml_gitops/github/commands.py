"""Commands that talk to GitHub only: the repository settings, and the challenger in shadow (asked for, recorded,
stopped, picked up). Standard library only."""

import argparse
import shlex
from pathlib import Path


def register(commands) -> None:
    setup = commands.add_parser(
        "github-setup", help="apply .github/settings: environments and the main ruleset"
    )
    setup.set_defaults(handler=run_github_setup)

    ask = commands.add_parser(
        "shadow-ask",
        help="check who asks for a challenger in shadow, and what: a label on a pull request, or a dispatch (CI)",
    )
    ask.add_argument("--challenger", help="a dispatch's input: a version vX.Y.Z, or none to stop")
    ask.add_argument("--sender", help="who added or removed the label")
    ask.add_argument("--action", choices=("labeled", "unlabeled"))
    ask.add_argument("--pull-request", type=int)
    ask.add_argument("--head-repo", help="the pull request's head repository, owner/name")
    ask.add_argument("--head-sha", help="the pull request's head commit when labelled")
    ask.set_defaults(handler=run_shadow_ask)

    record = commands.add_parser(
        "shadow-record", help="record the challenger as a deployment to the environment shadow (CI)"
    )
    record.add_argument("--version", help="a released version, vX.Y.Z")
    record.add_argument(
        "--pull-request", type=int, help="a pull request: its candidate, from its model-pr run of --head-sha"
    )
    record.add_argument("--head-sha", help="the labelled commit, whose model-pr run must have succeeded")
    record.set_defaults(handler=run_shadow_record)

    stop = commands.add_parser("shadow-stop", help="stop the challenger in shadow (CI)")
    stop.add_argument("--pull-request", type=int, help="only if the challenger is this pull request's")
    stop.set_defaults(handler=run_shadow_stop)

    pull = commands.add_parser(
        "shadow-pull",
        help="fetch and verify the recorded challenger into DEST; print the serve options that load it",
    )
    pull.add_argument("--dest", type=Path, default=Path("models/shadow"))
    pull.set_defaults(handler=run_shadow_pull)


def run_github_setup(args: argparse.Namespace) -> None:
    from . import settings

    settings.apply()


def run_shadow_ask(args: argparse.Namespace) -> None:
    from .. import UserError
    from . import client, shadow_record

    by_label = (args.sender, args.action, args.pull_request, args.head_repo)
    if args.challenger is not None and not any(by_label):
        asked = shadow_record.ask_by_dispatch(args.challenger)
    elif args.challenger is None and all(by_label):
        asked = shadow_record.ask_by_label(
            args.sender, args.action, args.pull_request, args.head_repo, args.head_sha or ""
        )
    else:
        raise UserError(
            "give either --challenger (a dispatch) or --sender, --action, --pull-request and --head-repo "
            "(a label)"
        )
    client.write_outputs(asked)


def run_shadow_record(args: argparse.Namespace) -> None:
    from .. import UserError
    from . import shadow_record

    candidate = (args.pull_request, args.head_sha)
    if args.version and not any(candidate):
        shadow_record.record_version(args.version)
    elif not args.version and all(candidate):
        shadow_record.record_pull_request(*candidate)
    else:
        raise UserError("give either --version, or --pull-request and --head-sha (a candidate)")


def run_shadow_stop(args: argparse.Namespace) -> None:
    from . import shadow_record

    shadow_record.stop(args.pull_request)


def run_shadow_pull(args: argparse.Namespace) -> None:
    from . import shadow_pull

    record = shadow_pull.pull(args.dest)
    if record is not None:
        print(shlex.join(shadow_pull.serve_options(args.dest, record)))
