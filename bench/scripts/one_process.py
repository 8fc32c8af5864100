"""The pipeline's work in one plain Python process: the same stage functions, without DVC and without a process
per stage (run in the project's venv, in the project's directory). Prints the peak resident memory in MiB."""

import resource

from churn_model.pipeline import evaluate, prepare, train
from ml_gitops.core import config


def main() -> None:
    settings = config.load()
    for stage in (prepare, train, evaluate):
        stage.run(settings)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
