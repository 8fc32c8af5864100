"""Command line: `python -m {{ cookiecutter.module_name }} <command>`. The DVC stages and the workflows call these.

Each command imports only what it needs: a stage does not pay for libraries it never uses, and the commands the
report workflow runs (check-artifact, set-status) need nothing but the standard library.
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

from . import UserError

STAGES = {
    "prepare": "validate the data and split it into train and test sets",
    "train": "fit the model on the training set",
    "evaluate": "score the model on the test set: metrics, predictions, plots",
}

CHECKSUMS_HELP = "a release's SHA256SUMS: refuse a model file whose digest differs from the one listed"


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
    for name, summary in STAGES.items():
        commands.add_parser(name, help=summary, description=summary).set_defaults(handler=run_stage)

    check_params = commands.add_parser(
        "check-params", help="check params.yaml, the estimator's arguments included, without running anything"
    )
    check_params.add_argument(
        "--data", action="store_true", help="also read, validate and split the data it points at"
    )
    check_params.set_defaults(handler=run_check_params)

    recover = commands.add_parser(
        "recover",
        help="after a killed run: remove DVC's stale lock and the temporary files of unfinished writes",
    )
    recover.set_defaults(handler=run_recover)

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

    check = commands.add_parser("check-artifact", help="validate a downloaded model-report artifact (CI)")
    check.add_argument("directory", type=Path)
    check.add_argument("--head-sha", required=True, help="commit the model-pr run built")
    check.set_defaults(handler=run_check_artifact)

    register = commands.add_parser("register", help="register a model version (GTO tag) if the model changed")
    register.add_argument("--push", action="store_true", help="push the tag to origin")
    register.add_argument("--no-labels", action="store_true", help="skip pull-request labels")
    register.set_defaults(handler=run_register)

    assets = commands.add_parser("release-assets", help="rebuild a version, check its metrics, write dist/")
    assets.add_argument("--tag", required=True, help="the version's tag, e.g. model@v1.2.0")
    assets.set_defaults(handler=run_release_assets)

    publish = commands.add_parser("publish-release", help="create the tag's GitHub Release with dist/ (CI)")
    publish.add_argument("--tag", required=True)
    publish.add_argument("--dir", type=Path, default=Path("dist"))
    publish.set_defaults(handler=run_publish_release)

    attested = commands.add_parser(
        "attestation-status", help="does any release asset still lack a provenance attestation? (CI)"
    )
    attested.add_argument("--dir", type=Path, default=Path("dist"))
    attested.set_defaults(handler=run_attestation_status)

    promote = commands.add_parser("promote", help="assign a version to a stage with GTO, e.g. prod")
    promote.add_argument("--version", required=True, help="e.g. v1.2.0")
    promote.add_argument("--stage", default="prod")
    promote.add_argument("--push", action="store_true", help="push the stage tag to origin")
    promote.set_defaults(handler=run_promote)

    smoke = commands.add_parser("smoke", help="load the model as the service does and score sample rows")
    smoke.add_argument("--output", type=Path, help="also write the result to this markdown file")
    smoke.add_argument("--url", help="smoke-test the service running at this URL over HTTP instead")
    smoke.add_argument("--wait", type=float, default=60, help="seconds to wait for the service's /health")
    smoke.add_argument("--checksums", type=Path, help=CHECKSUMS_HELP)
    smoke.set_defaults(handler=run_smoke)

    comment = commands.add_parser("comment", help="post a markdown file as a pull-request comment (CI)")
    comment.add_argument("file", type=Path)
    comment.add_argument("--pull-request", type=int, required=True)
    comment.set_defaults(handler=run_comment)

    setup = commands.add_parser(
        "github-setup", help="apply .github/settings: environments and the main ruleset"
    )
    setup.set_defaults(handler=run_github_setup)

    serve = commands.add_parser("serve", help="serve the model over HTTP: GET /health, POST /predict")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--checksums", type=Path, help=CHECKSUMS_HELP)
    serve.set_defaults(handler=run_serve)

    drift = commands.add_parser("drift", help="compare the newest data with the champion's reference sample")
    drift.add_argument(
        "--reference", type=Path, help="reference data (default: data/prepared/reference.parquet)"
    )
    drift.add_argument("--current", type=Path, help="current data (default: the data params.yaml points at)")
    drift.add_argument(
        "--model", type=Path, help="also compare this model's predictions (default: the champion)"
    )
    drift.add_argument(
        "--output-dir", type=Path, help="where drift.json, drift.md, drift.png go (reports/drift)"
    )
    drift.add_argument("--fail-on-drift", action="store_true", help="exit 3 when the data drifted")
    drift.add_argument(
        "--github", action="store_true", help="also write the job summary and drift=<bool> (CI)"
    )
    drift.set_defaults(handler=run_drift)

    batch = commands.add_parser("drifted-batch", help="write a drifted copy of the bundled data (demo)")
    batch.add_argument("--output", type=Path, default=Path("data/raw/drifted.csv"))
    batch.add_argument("--rows", type=int, default=500)
    batch.set_defaults(handler=run_drifted_batch)

    retrain_open = commands.add_parser("retrain-status", help="is a retraining pull request open? (CI)")
    retrain_open.set_defaults(handler=run_retrain_status)

    retrain_pr = commands.add_parser("retrain-pr", help="open the retraining pull request with CML (CI)")
    retrain_pr.add_argument("--run-id", default=os.environ.get("GITHUB_RUN_ID", "local"))
    retrain_pr.set_defaults(handler=run_retrain_pr)

    status = commands.add_parser("set-status", help="set the model-gate commit status (CI)")
    status.add_argument("--sha", required=True)
    status.add_argument("--gate", required=True, choices=("pass", "fail"))
    status.add_argument("--target-url")
    status.set_defaults(handler=run_set_status)
    return root


def run_stage(args: argparse.Namespace) -> None:
    from . import config

    stage = importlib.import_module(f".{args.command}", __package__)
    stage.run(config.load())


def run_check_params(args: argparse.Namespace) -> None:
    from . import config, paths, train

    settings = config.load()
    train.estimator(settings.model, settings.seed)
    checked = str(paths.PARAMS)
    if args.data:
        from . import data, prepare

        prepare.split(data.load(settings.data), settings)
        checked += f" and {settings.data.path or data.BUNDLED}"
    print(f"{checked}: ok")


def run_recover(args: argparse.Namespace) -> None:
    from . import recover

    for line in recover.run():
        print(line)


def run_report(args: argparse.Namespace) -> None:
    from . import config, paths, report

    report.run(config.load(), args.base, args.images, args.pull_request, args.head_sha)
    print(f"wrote {paths.REPORT} and {paths.REPORT_SUMMARY}")


def run_gate(args: argparse.Namespace) -> int:
    from . import config, gate

    return gate.run(config.load(), args.base)


def run_register(args: argparse.Namespace) -> None:
    from . import register

    register.run(push=args.push, use_labels=not args.no_labels)


def run_release_assets(args: argparse.Namespace) -> None:
    from . import release

    release.assets(args.tag)


def run_publish_release(args: argparse.Namespace) -> None:
    from . import github

    github.publish_release(args.tag, args.dir)


def run_attestation_status(args: argparse.Namespace) -> None:
    from . import github

    github.attestation_status(args.dir)


def run_promote(args: argparse.Namespace) -> None:
    from . import release

    release.promote(args.version, args.stage, push=args.push)


def run_smoke(args: argparse.Namespace) -> None:
    from . import config, files, serve

    target = config.load().data.target
    result = (
        serve.smoke_http(target, args.url, args.wait) if args.url else serve.smoke(target, args.checksums)
    )
    print(result)
    if args.output:
        files.write_text(f"### Staging: smoke test of the candidate model\n\n{result}\n", args.output)


def run_comment(args: argparse.Namespace) -> None:
    from . import github

    github.comment(args.pull_request, args.file.read_text(encoding="utf-8"))


def run_github_setup(args: argparse.Namespace) -> None:
    from . import settings

    settings.apply()


def run_serve(args: argparse.Namespace) -> None:
    from . import serve

    serve.run(args.host, args.port, args.checksums)


def run_check_artifact(args: argparse.Namespace) -> None:
    from . import github

    github.write_outputs(github.check_artifact(args.directory, args.head_sha))


def run_drift(args: argparse.Namespace) -> int:
    from . import config, drift, github, paths

    directory = args.output_dir or paths.DRIFT
    summary = drift.run(
        config.load(), args.reference or paths.REFERENCE, args.current, directory, args.model or paths.MODEL
    )
    report = (directory / "drift.md").read_text(encoding="utf-8")
    print(report)
    if args.github:
        github.write_summary(drift.markdown(summary, plot=None))
        github.write_outputs({"drift": str(summary["drift"]).lower()})
    return 3 if args.fail_on_drift and summary["drift"] else 0


def run_drifted_batch(args: argparse.Namespace) -> None:
    from . import config, drift, files

    frame = drift.drifted_batch(config.load(), args.rows, seed=7)
    with files.atomic_path(args.output) as temporary:
        frame.to_csv(temporary, index=False)
    print(
        f"wrote {args.output}: {len(frame)} rows of the bundled data with shifted features. Watch the loop: "
        f"`uv run dvc add {args.output}`, set data.path: {args.output} in params.yaml, commit and push "
        "(or compare now: make drift)"
    )


def run_retrain_status(args: argparse.Namespace) -> None:
    from . import retrain

    retrain.status()


def run_retrain_pr(args: argparse.Namespace) -> None:
    from . import retrain

    retrain.create_pull_request(args.run_id)


def run_set_status(args: argparse.Namespace) -> None:
    from . import github

    github.set_status(args.sha, args.gate, args.target_url)


if __name__ == "__main__":
    sys.exit(main())
