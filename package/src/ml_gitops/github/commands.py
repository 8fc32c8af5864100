"""Commands that talk to GitHub only: the repository settings and a pull-request comment (standard library only)."""

import argparse
from pathlib import Path


def register(commands) -> None:
    comment = commands.add_parser("comment", help="post a markdown file as a pull-request comment (CI)")
    comment.add_argument("file", type=Path)
    comment.add_argument("--pull-request", type=int, required=True)
    comment.set_defaults(handler=run_comment)

    setup = commands.add_parser(
        "github-setup", help="apply .github/settings: environments and the main ruleset"
    )
    setup.set_defaults(handler=run_github_setup)


def run_comment(args: argparse.Namespace) -> None:
    from . import client

    client.comment(args.pull_request, args.file.read_text(encoding="utf-8"))


def run_github_setup(args: argparse.Namespace) -> None:
    from . import settings

    settings.apply()
