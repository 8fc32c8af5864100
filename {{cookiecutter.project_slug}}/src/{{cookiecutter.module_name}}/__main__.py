"""Command line: `python -m {{ cookiecutter.module_name }} <command>`. The DVC stages and the workflows call these.

Each folder of the package registers its own commands (`<wing>/commands.py`); this module only dispatches. A command imports what it
needs when it runs, so a stage does not pay for libraries it never uses, and the commands the workflows with write
tokens run need nothing but the standard library.
"""

import argparse
import importlib
import sys

from . import UserError

WINGS = ("pipeline", "review", "release", "monitor", "github", "core")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="command")
    for wing in WINGS:
        importlib.import_module(f".{wing}.commands", __package__).register(commands)
    return root


if __name__ == "__main__":
    sys.exit(main())
