"""Commands that talk to GitHub only: the repository settings (standard library only)."""

import argparse


def register(commands) -> None:
    setup = commands.add_parser(
        "github-setup", help="apply .github/settings: environments and the main ruleset"
    )
    setup.set_defaults(handler=run_github_setup)


def run_github_setup(args: argparse.Namespace) -> None:
    from . import settings

    settings.apply()
