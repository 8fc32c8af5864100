"""Commands of the pipeline: its three DVC stages, and the check `make repro` runs before DVC starts them."""

import argparse
import importlib

STAGES = {
    "prepare": "validate the data and split it into train and test sets",
    "train": "fit the model on the training set",
    "evaluate": "score the model on the test set: metrics, predictions, plots",
}


def register(commands) -> None:
    for name, summary in STAGES.items():
        commands.add_parser(name, help=summary, description=summary).set_defaults(handler=run_stage)
    check_params = commands.add_parser(
        "check-params", help="check params.yaml, the estimator's arguments included, without running anything"
    )
    check_params.add_argument(
        "--data", action="store_true", help="also read, validate and split the data it points at"
    )
    check_params.set_defaults(handler=run_check_params)


def run_stage(args: argparse.Namespace) -> None:
    from ml_gitops.core import config

    stage = importlib.import_module(f".{args.command}", __package__)
    stage.run(config.load())


def run_check_params(args: argparse.Namespace) -> None:
    from ml_gitops import metrics
    from ml_gitops.core import config, paths

    from . import train

    settings = config.load()
    train.estimator(settings.model, settings.seed)
    metrics.check_metric(settings.task, settings.gate.metric)
    checked = str(paths.PARAMS)
    if args.data:
        from . import data, prepare

        frame, roles = data.load_with_roles(settings.data)
        print(roles.describe())
        in_test = prepare.test_rows(frame, settings)
        training = frame[~in_test]
        prepare.segment_values(frame, in_test, settings)  # segments.columns: present, cut as params.yaml says
        if settings.task == "classification":
            metrics.positive_label(training[settings.data.target], settings.data.positive_label)
        train.trial_fit(settings, training)
        checked += f" and {settings.data.path or data.BUNDLED}"
    print(f"{checked}: ok")
