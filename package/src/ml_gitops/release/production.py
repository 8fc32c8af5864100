"""Production: assign a released version to a stage with GTO (a tag `model#prod#N`), or roll back to an earlier one."""

import json

from .. import UserError
from ..core.shell import git, tool
from .register import push_tag
from .tags import ARTIFACT, STAGE, VERSION


def promote(version: str, stage: str, push: bool) -> None:
    """Assign `version` to `stage` with GTO and push the tag; nothing when it already is there."""
    if not VERSION.match(version) or not STAGE.match(stage):
        raise UserError(
            f"{version!r} is not a version such as v1.2.0 (or {stage!r} no stage name): refusing it"
        )
    current = version_in(stage)
    if current == version:
        print(f"{ARTIFACT} {version} is already in {stage}: nothing to do")
        return
    before = set(git("tag", "--list", f"{ARTIFACT}#{stage}#*").split())
    tool("gto", "assign", ARTIFACT, "--version", version, "--stage", stage)
    if push:
        for tag in sorted(set(git("tag", "--list", f"{ARTIFACT}#{stage}#*").split()) - before):
            push_tag(tag)
    print(f"{ARTIFACT} {version} assigned to {stage} (was {current or 'none'})")


def version_in(stage: str) -> str | None:
    """The version GTO says is in `stage` (a stage tag model#<stage>#N), or None."""
    version = json.loads(tool("gto", "show", "--json") or "{}").get(ARTIFACT, {}).get("stage", {}).get(stage)
    if version is not None and not VERSION.match(version):
        raise UserError(f"GTO says {version!r} is in {stage}, which is not a version such as v1.2.0")
    return version
