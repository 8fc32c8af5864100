"""Commands of versions and deployment: register (register.yml), release and production (release.yml), the
staging smoke test (promote.yml) and the service."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .shadow import Challenger

CHECKSUMS_HELP = "a release's SHA256SUMS: refuse a model file whose digest differs from the one listed"


def shadow_options(parser: argparse.ArgumentParser) -> None:
    """--shadow, --shadow-checksums, --shadow-version: a challenger scoring the same rows, logged as its own."""
    parser.add_argument(
        "--shadow",
        type=Path,
        help="a challenger model file: it scores the same rows in shadow, its answers go to the prediction log "
        "only (a challenger that cannot be loaded is reported, and the production model serves alone)",
    )
    parser.add_argument(
        "--shadow-checksums", type=Path, help="the challenger's release SHA256SUMS: refuse another file"
    )
    parser.add_argument(
        "--shadow-version", help="the challenger's version in the prediction log (default: challenger)"
    )


def challenger(args: argparse.Namespace) -> "Challenger | None":
    """The challenger the options name, or None; its options without --shadow are refused."""
    from .. import UserError
    from .shadow import DEFAULT_VERSION, Challenger

    if args.shadow is None:
        if args.shadow_checksums or args.shadow_version:
            raise UserError(
                "--shadow-checksums and --shadow-version go with --shadow PATH: give the challenger's file"
            )
        return None
    return Challenger(args.shadow, args.shadow_checksums, args.shadow_version or DEFAULT_VERSION)


def register(commands) -> None:
    register = commands.add_parser("register", help="register a model version (GTO tag) if the model changed")
    register.add_argument("--push", action="store_true", help="push the tag to origin")
    register.add_argument("--no-labels", action="store_true", help="skip pull-request labels")
    register.add_argument(
        "--release", action="store_true", help="then run release.yml for the new version (CI)"
    )
    register.set_defaults(handler=run_register)

    version = commands.add_parser(
        "release-version", help="check the version a release run builds: its tag, on main (CI, release.yml)"
    )
    version.add_argument("--version", required=True, help="e.g. v1.2.0")
    version.set_defaults(handler=run_release_version)

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

    reviewer = commands.add_parser(
        "check-reviewer", help="may this reviewer's approval deploy to staging? (write access, CI)"
    )
    reviewer.add_argument("--login", required=True)
    reviewer.add_argument("--pull-request", type=int, required=True)
    reviewer.set_defaults(handler=run_check_reviewer)

    smoke = commands.add_parser("smoke", help="load the model as the service does and score sample rows")
    smoke.add_argument("--output", type=Path, help="also write the result to this markdown file")
    smoke.add_argument("--url", help="smoke-test the service running at this URL over HTTP instead")
    smoke.add_argument("--wait", type=float, default=60, help="seconds to wait for the service's /health")
    smoke.add_argument("--checksums", type=Path, help=CHECKSUMS_HELP)
    smoke.set_defaults(handler=run_smoke)

    staging = commands.add_parser(
        "staging-comment", help="comment the staging result from the checked staging-model artifact (CI)"
    )
    staging.add_argument(
        "directory", type=Path, help="the downloaded staging-model artifact (models/, reports/)"
    )
    staging.add_argument("--pull-request", type=int, required=True)
    staging.set_defaults(handler=run_staging_comment)

    image = commands.add_parser(
        "image-ref",
        help="the service image: <IMAGE or ghcr.io/owner/repo>:<IMAGE_TAG or TAG's version or dev>",
    )
    image.set_defaults(handler=run_image_ref)
    save = commands.add_parser("image-save", help="save the service image to an archive (CI)")
    save.add_argument("--archive", type=Path, required=True)
    save.set_defaults(handler=run_image_save)
    push = commands.add_parser(
        "image-push", help="push the service image; never over a published version (CI)"
    )
    push.add_argument("--archive", type=Path, help="load the image from this archive first")
    push.set_defaults(handler=run_image_push)
    promote_image = commands.add_parser(
        "image-promote", help="point the image's prod tag at this version (CI)"
    )
    promote_image.set_defaults(handler=run_image_promote)

    serve = commands.add_parser("serve", help="serve the model over HTTP: GET /health, POST /predict")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--checksums", type=Path, help=CHECKSUMS_HELP)
    serve.add_argument(
        "--log-dir",
        help="write the prediction log here, a directory or URL; off: none "
        "(default: PREDICTION_LOG_DIR, else monitoring.log_dir)",
    )
    serve.add_argument(
        "--workers",
        type=workers,
        default=1,
        help="service processes sharing the port, each scoring on one core; auto: one per core (default 1)",
    )
    shadow_options(serve)
    serve.add_argument(
        "--ab-share",
        metavar="S",
        help="A/B: the share of requests with an X-AB-Key header the challenger (--shadow) answers, sticky per key, "
        "0 to 1 (default: SERVE_AB_SHARE, else 0: off)",
    )
    serve.set_defaults(handler=run_serve)

    score = commands.add_parser(
        "score", help="score a CSV or Parquet file in batches, validated like /predict"
    )
    score.add_argument("input", type=Path)
    score.add_argument(
        "output", type=Path, help="a .csv or .parquet file: the input's columns and the predictions"
    )
    score.add_argument(
        "--batch-rows", type=int, default=100_000, help="rows read, scored and written at a time"
    )
    score.add_argument("--strict", action="store_true", help="refuse the file when a row does not fit")
    score.add_argument("--log-dir", help="the prediction log (default: monitoring.log_dir; off: none)")
    shadow_options(score)
    score.set_defaults(handler=run_score)


def workers(text: str) -> int:
    """--workers: a positive whole number, or auto (one per core this process may use)."""
    if text.strip().lower() == "auto":
        from .threads import cores

        return cores()
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive whole number of processes, or auto")
    return int(text)


def run_register(args: argparse.Namespace) -> None:
    from . import register

    register.run(push=args.push, use_labels=not args.no_labels, release=args.release)


def run_release_assets(args: argparse.Namespace) -> None:
    from . import assets

    assets.assets(args.tag)


def run_publish_release(args: argparse.Namespace) -> None:
    from . import publish

    publish.publish_release(args.tag, args.dir)


def run_attestation_status(args: argparse.Namespace) -> None:
    from . import publish

    publish.attestation_status(args.dir)


def run_promote(args: argparse.Namespace) -> None:
    from . import production

    production.promote(args.version, args.stage, push=args.push)


def run_check_reviewer(args: argparse.Namespace) -> None:
    from ..github import client
    from . import staging

    deploy = staging.check_reviewer(args.login, args.pull_request)
    client.write_outputs({"deploy": str(deploy).lower()})


def run_smoke(args: argparse.Namespace) -> None:
    from ..core import config, files
    from . import serve

    target = config.load().data.target
    result = (
        serve.smoke_http(target, args.url, args.wait) if args.url else serve.smoke(target, args.checksums)
    )
    print(result)
    if args.output:
        files.write_text(f"### Staging: smoke test of the candidate model\n\n{result}\n", args.output)


def run_release_version(args: argparse.Namespace) -> None:
    from .tags import release_version

    release_version(args.version)


def run_staging_comment(args: argparse.Namespace) -> None:
    from . import staging

    staging.post_smoke_comment(args.pull_request, args.directory)


def run_image_ref(args: argparse.Namespace) -> None:
    from . import images

    print(images.reference())


def run_image_save(args: argparse.Namespace) -> None:
    from . import images

    images.save(args.archive)


def run_image_push(args: argparse.Namespace) -> None:
    from . import images

    images.push(args.archive)


def run_image_promote(args: argparse.Namespace) -> None:
    from . import images

    images.promote()


def run_score(args: argparse.Namespace) -> int:
    import os

    from ..core import config
    from . import score

    log_dir = args.log_dir or config.load().monitoring.log_dir
    outcome = score.run(
        args.input,
        args.output,
        batch_rows=args.batch_rows,
        strict=args.strict,
        log_dir="" if log_dir == "off" else log_dir,
        model_version=os.environ.get("MODEL_VERSION", "unreleased"),
        challenger=challenger(args),
    )
    score.report(args.input, args.output, outcome)
    return 0


def run_serve(args: argparse.Namespace) -> None:
    from . import serve
    from .ab import share_of

    share = None if args.ab_share is None else share_of(args.ab_share, "--ab-share")
    serve.run(args.host, args.port, args.checksums, args.log_dir, args.workers, challenger(args), share)
