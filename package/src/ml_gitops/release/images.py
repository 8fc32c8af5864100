"""The service image on GHCR: its name, and saving, pushing and promoting it with Docker (container projects).

The image is `ghcr.io/<owner>/<repository>` in lower case (IMAGE overrides it), tagged dev, pr-<number> or vX.Y.Z
(IMAGE_TAG, else the version of TAG). A version's image is published once and never overwritten. Docker runs as a
list of arguments, never through a shell: the tag comes from an event.
"""

import os
import re
import subprocess
from pathlib import Path

from .. import UserError
from .tags import check_version_tag

IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$")
TAG = re.compile(r"^(dev|pr-\d{1,9}|v\d+\.\d+\.\d+)$")
REGISTRY = "ghcr.io"


def name() -> str:
    """IMAGE, else ghcr.io/<GITHUB_REPOSITORY> in lower case (Docker refuses upper case)."""
    image = os.environ.get("IMAGE", "") or _from_repository(os.environ.get("GITHUB_REPOSITORY", ""))
    if not IMAGE.match(image):
        raise UserError(f"image name {image!r} is not a registry path like ghcr.io/owner/name: set IMAGE")
    return image


def _from_repository(repository: str) -> str:
    if not repository:
        raise UserError("no image name: set IMAGE, or GITHUB_REPOSITORY to owner/name (CI sets it)")
    return f"{REGISTRY}/{repository.lower()}"


def tag() -> str:
    """IMAGE_TAG, else the version of TAG (model@vX.Y.Z), else dev; checked, as it comes from an event."""
    explicit, version_tag = os.environ.get("IMAGE_TAG", ""), os.environ.get("TAG", "")
    value = explicit or (check_version_tag(version_tag).partition("@")[2] if version_tag else "dev")
    if not TAG.match(value):
        raise UserError(f"IMAGE_TAG {value!r} is not dev, pr-<number> or vX.Y.Z: refusing it")
    return value


def reference() -> str:
    return f"{name()}:{tag()}"


def save(archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    _docker("save", "--output", str(archive), reference())


def push(archive: Path | None) -> None:
    """Push the image (loaded from `archive` first when given); a published version is never overwritten."""
    image = reference()
    if archive is not None:
        _docker("load", "--input", str(archive))
    _login()
    if tag().startswith("v") and _published(image):
        raise UserError(f"{image} is published already: a version's image is never overwritten")
    _docker("push", image)


def promote(stage: str = "prod") -> None:
    """Point <image>:<stage> at the image of this tag (a release, or a rollback)."""
    _login()
    _docker("buildx", "imagetools", "create", "--tag", f"{name()}:{stage}", reference())


def _published(image: str) -> bool:
    return subprocess.run(["docker", "manifest", "inspect", image], capture_output=True).returncode == 0


def _login() -> None:
    token, actor = os.environ.get("GITHUB_TOKEN", ""), os.environ.get("GITHUB_ACTOR", "")
    if not token or not actor:
        raise UserError("pushing to GHCR needs GITHUB_TOKEN and GITHUB_ACTOR (CI sets both)")
    login = ["docker", "login", REGISTRY, "--username", actor, "--password-stdin"]
    _check(subprocess.run(login, input=token, capture_output=True, text=True), login)


def _docker(*args: str) -> None:
    command = ["docker", *args]
    _check(subprocess.run(command, capture_output=True, text=True), command)


def _check(result: subprocess.CompletedProcess, command: list[str]) -> None:
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise UserError(f"{' '.join(command[:2])} failed: {output[-1]}")
