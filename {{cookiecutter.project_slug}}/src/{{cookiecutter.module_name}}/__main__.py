"""Command line: `python -m {{ cookiecutter.module_name }} <command>`. The DVC stages and the workflows call these.

Each command imports only what it needs, so a stage does not pay for libraries it never uses.
"""

import argparse
import importlib
import sys

from . import UserError

STAGES = {
    "prepare": "validate the data and split it into train and test sets",
    "train": "fit the model on the training set",
    "evaluate": "score the model on the test set: metrics, predictions, plots",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, summary in STAGES.items():
        commands.add_parser(name, help=summary, description=summary)
    args = parser.parse_args(argv)
    try:
        run_stage(args.command)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run_stage(name: str) -> None:
    from . import config

    stage = importlib.import_module(f".{name}", __package__)
    stage.run(config.load())


if __name__ == "__main__":
    sys.exit(main())
