"""The model's tags (GTO's format), checked wherever one arrives from an event or a person, and the version a
release run may build: a version tag that main holds.

Standard library only: release.yml checks the version with main's code before it checks anything else out.
"""

import re

from .. import UserError
from ..core.shell import git
from ..github import client

ARTIFACT = "model"
VERSION_TAG = re.compile(rf"^{ARTIFACT}@v(\d+)\.(\d+)\.(\d+)$")
VERSION = re.compile(r"^v\d+\.\d+\.\d+$")
STAGE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def check_version_tag(tag: str) -> str:
    """The tag, if it is a version tag (model@vX.Y.Z); anything else, from an event or a person, is refused."""
    if not VERSION_TAG.match(tag):
        raise UserError(f"{tag!r} is not a version tag such as {ARTIFACT}@v1.2.0: refusing to release it")
    return tag


def check_on_main(tag: str) -> str:
    """The tag's commit, if main holds it: a version tag on any other commit (a branch's) was never reviewed."""
    try:
        commit = git("rev-list", "-n", "1", f"refs/tags/{tag}")
    except UserError:
        raise UserError(f"there is no tag {tag}: registered versions are tags {ARTIFACT}@vX.Y.Z") from None
    try:
        git("merge-base", "--is-ancestor", commit, _main_ref())
    except UserError:
        raise UserError(
            f"{tag} points at {commit[:12]}, which is not on main: only what main holds is released"
        ) from None
    return commit


def _main_ref() -> str:
    for ref in ("refs/remotes/origin/main", "refs/heads/main"):
        try:
            git("rev-parse", "--verify", "--quiet", ref)
            return ref
        except UserError:
            continue
    raise UserError("main is not in this checkout: fetch it (git fetch origin main) before releasing")


def release_version(version: str) -> None:
    """Check the version a release run was asked for (by register.yml, or by hand to roll back) and write its tag
    and commit as step outputs: the only ref the run checks out and builds."""
    if not VERSION.match(version):
        raise UserError(f"{version!r} is not a version such as v1.2.0: refusing to release it")
    tag = f"{ARTIFACT}@{version}"
    commit = check_on_main(tag)
    client.write_outputs({"version": version, "tag": tag, "commit": commit})
    print(f"releasing {tag} ({commit[:12]}, on main)")
