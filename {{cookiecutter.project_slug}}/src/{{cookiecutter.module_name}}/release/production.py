"""Production: assign a released version to a stage with GTO (a tag `model#prod#N`), or roll back to an earlier one."""

import json

from ..core.shell import tool
from .register import ARTIFACT


def promote(version: str, stage: str, push: bool) -> None:
    """Assign `version` to `stage` with GTO and push the tag; nothing when it already is there."""
    current = json.loads(tool("gto", "show", "--json") or "{}").get(ARTIFACT, {}).get("stage", {}).get(stage)
    if current == version:
        print(f"{ARTIFACT} {version} is already in {stage}: nothing to do")
        return
    tool("gto", "assign", ARTIFACT, "--version", version, "--stage", stage, *(["--push"] if push else []))
    print(f"{ARTIFACT} {version} assigned to {stage} (was {current or 'none'})")
