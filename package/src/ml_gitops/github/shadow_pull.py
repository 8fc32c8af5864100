"""Pick up the challenger recorded for shadow scoring, where the service is deployed (a token that reads the
repository is enough): the newest record (shadow_record.current), its model downloaded (a version's release
asset, or the candidate-model artifact of the pull request's model-pr run), verified against the record's SHA-256
before anything is written, then `model.skops`, `SHA256SUMS` and `record.json` written atomically to `dest`.

Standard output carries only the options that give `serve` (or `score`) the challenger, empty when none is
recorded, so a deployment runs `serve $(python -m ml_gitops shadow-pull --dest models/shadow)`.
Standard library only.
"""

import hashlib
import sys
from pathlib import Path

from .. import UserError
from ..core import files
from . import client, shadow_record
from .shadow_record import MODEL, Record

MAX_MODEL_BYTES = shadow_record.MAX_MODEL_BYTES


def pull(dest: Path) -> Record | None:
    """Fetch, verify and write the recorded challenger; None (and nothing touched) when none is recorded."""
    record = shadow_record.current()
    if record is None:
        _say("no challenger recorded: the service runs without a shadow")
        return None
    model = _download(record)
    actual = hashlib.sha256(model).hexdigest()
    if actual != record.model_sha256:
        raise UserError(
            f"the model downloaded for {record.describe()} has SHA-256 {actual[:12]}..., the record says "
            f"{record.model_sha256[:12]}...: refusing it, nothing written"
        )
    _write(dest, record, model)
    _say(f"{record.describe()} is the challenger: {dest / MODEL} (sha256 {actual[:12]}...)")
    return record


def serve_options(dest: Path, record: Record) -> list[str]:
    """The options of serve/score that load this challenger."""
    return [
        "--shadow",
        str(dest / MODEL),
        "--shadow-checksums",
        str(dest / "SHA256SUMS"),
        "--shadow-version",
        record.label,
    ]


def _download(record: Record) -> bytes:
    if record.version:
        tag = shadow_record.MODEL_TAG.format(version=record.version)
        try:
            release = client.api("GET", f"releases/tags/{tag}")
        except client.NotFound:
            raise UserError(f"the release {tag} recorded as the challenger no longer exists") from None
        assets = [asset for asset in release.get("assets", []) if asset.get("name") == MODEL]
        if not assets:
            raise UserError(f"the release {tag} has no {MODEL} asset")
        return client.download(f"releases/assets/{assets[0]['id']}", MAX_MODEL_BYTES)
    return _from_artifact(record)


def _from_artifact(record: Record) -> bytes:
    return shadow_record.candidate_model(record.run_id, "the record names a run without a candidate")


def _write(dest: Path, record: Record, model: bytes) -> None:
    with files.atomic_path(dest / MODEL) as temporary:
        temporary.write_bytes(model)
    files.write_text(f"{record.model_sha256}  {MODEL}\n", dest / "SHA256SUMS")
    files.write_json(
        {
            "version": record.label,
            "model_sha256": record.model_sha256,
            "deployment": record.deployment,
            "pull_request": record.pull_request,
            "head_sha": record.head_sha,
            "run_id": record.run_id,
            "release": record.version,
            "serve_options": serve_options(dest, record),
        },
        dest / "record.json",
    )


def _say(message: str) -> None:
    print(message, file=sys.stderr)
