"""Command line: `python -m {{ cookiecutter.module_name }} <command>`: your pipeline's stages and ml-gitops' commands
(review, release, serving, monitoring); `python -m {{ cookiecutter.module_name }} --help` lists them."""

import os
import sys

from ml_gitops.cli import main

if __name__ == "__main__":
    os.environ.setdefault("ML_GITOPS_PIPELINE", f"{__package__}.pipeline")  # saves scanning the entry points
    sys.exit(main(prog="python -m {{ cookiecutter.module_name }}"))
