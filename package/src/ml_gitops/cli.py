"""Command line: `python -m ml_gitops <command>` (or `python -m <project module> <command>`).

Each folder of the package registers its own commands (`<wing>/commands.py`), and the project's pipeline package
registers its stages (`commands.py` there, found through the contract in `ml_gitops.project`); this module only
dispatches. A command imports what it needs when it runs, so a stage does not pay for libraries it never uses, and
the commands the workflows with write tokens run need nothing but the standard library.
"""

import argparse
import importlib
import sys

from . import UserError, project

WINGS = ("review", "release", "monitor", "github", "core")


def main(argv: list[str] | None = None, prog: str = "python -m ml_gitops") -> int:
    try:
        args = parser(prog).parse_args(argv)
        return args.handler(args) or 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def parser(prog: str = "python -m ml_gitops") -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="command")
    if project.named():
        project.pipeline("commands").register(commands)  # outside a project: the machinery's commands alone
    replaced = _ReplacedByTheProject(commands)
    for wing in WINGS:
        importlib.import_module(f".{wing}.commands", __package__).register(replaced)
    return root


class _ReplacedByTheProject:
    """The machinery's commands, less those the project registered under the same name: a project replaces one
    command (its own `smoke`, say) by registering it in its pipeline's commands.py."""

    def __init__(self, commands):
        self.commands, self.taken = commands, set(commands.choices)

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        if name in self.taken:
            return argparse.ArgumentParser(add_help=False)  # never reached from the command line
        return self.commands.add_parser(name, **kwargs)


def run() -> None:
    """The `ml-gitops` console script."""
    sys.exit(main(prog="ml-gitops"))
