"""The assets of a registered version: rebuild it, check that it reproduces, describe it.

`assets` rebuilds the model of the version's tag, refuses the release when the model does not reproduce the
committed metrics, and writes the release assets: the model, its metrics, a model card and SHA-256 checksums.
Publishing them is `publish.publish_release`; production is `production.promote`.
"""

import json

from .. import UserError
from ..core import files, paths, remote
from ..core.shell import show, tool, without_secrets
from .card import model_card
from .tags import check_on_main, check_version_tag

TOLERANCE = 1e-9


def assets(tag: str) -> None:
    check_on_main(check_version_tag(tag))
    shown = show(tag, paths.METRICS)
    if shown is None:
        raise UserError(f"{tag} has no committed {paths.METRICS}: it is not a trained version")
    committed = json.loads(shown)
    if remote.fetch_inputs() != 0:
        raise UserError(
            f"{tag}: the DVC-tracked raw data could not be pulled: check the DVC remote and its secret"
        )
    # Every stage runs now, none restored from DVC's caches: the model is the one the tag's code and data produce,
    # and its metrics are measured, not taken from a file.
    tool("dvc", "repro", "--force", env=without_secrets())  # the stages get no token and no remote secret
    measured = json.loads(paths.METRICS.read_text())
    differences = [
        f"{name} {committed.get(name)} committed, {value} reproduced"
        for name, value in measured.items()
        if committed.get(name) is None or abs(value - committed[name]) > TOLERANCE * max(1, abs(value))
    ]
    if differences:
        raise UserError(
            f"{tag} does not reproduce its metrics ({'; '.join(differences)}): the release is refused"
        )
    directory = paths.RELEASE_ASSETS
    directory.mkdir(exist_ok=True)
    (directory / paths.MODEL.name).write_bytes(paths.MODEL.read_bytes())
    (directory / paths.METRICS.name).write_text(paths.METRICS.read_text())
    (directory / "model-card.md").write_text(model_card(tag, measured), encoding="utf-8")
    assets = sorted(p for p in directory.iterdir() if p.name != "SHA256SUMS")
    (directory / "SHA256SUMS").write_text("".join(f"{files.sha256(p)}  {p.name}\n" for p in assets))
    print(
        f"{tag}: metrics reproduced; assets in {directory}/: {', '.join(p.name for p in assets)}, SHA256SUMS"
    )
