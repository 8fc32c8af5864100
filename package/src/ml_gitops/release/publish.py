"""Publish a version's GitHub Release, all or none, and say which assets still need an attestation.

Standard library only: the publish job downloads the release assets and runs this without installing the project.
"""

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .. import UserError
from ..core import files
from ..github.client import NotFound, api, paginate, write_outputs

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.DOTALL)  # the model card's YAML metadata


def upload(url: str, path: Path) -> dict:
    """POST a file's bytes to a release's upload URL."""
    request = urllib.request.Request(
        url,
        method="POST",
        data=path.read_bytes(),
        headers={
            "Authorization": f"Bearer {os.environ.get('GITHUB_TOKEN', '')}",
            "Content-Type": "application/octet-stream",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise UserError(
            f"uploading {path.name} to the release answered {error.code} {error.reason}: re-run the workflow"
        ) from None


def publish_release(tag: str, directory: Path) -> None:
    """Publish the tag's GitHub Release with every file of `directory`, all or none.

    The assets go onto a draft, published only once all are uploaded, so nobody sees a half release. A draft
    left by a failed run is deleted and built again from this run's files, which keeps SHA256SUMS true to the
    assets; a published release is never changed.
    """
    from .tags import check_version_tag  # the same refusal as the build's, before anything is published

    check_version_tag(tag)
    published = find_release(tag)
    if published:
        check_published(published, tag, directory)
        write_outputs({"uploaded": "false"})  # only assets this run uploaded get an attestation
        return
    for draft in paginate("releases"):
        if draft["tag_name"] == tag and draft.get("draft"):
            api("DELETE", f"releases/{draft['id']}")
            print(f"deleted the unfinished draft release of {tag} left by an earlier run")
    release = api(
        "POST", "releases", {"tag_name": tag, "name": tag, "body": release_notes(directory), "draft": True}
    )
    for path in sorted(directory.iterdir()):
        target = release["upload_url"].split("{")[0] + "?" + urllib.parse.urlencode({"name": path.name})
        upload(target, path)
        print(f"{path.name}: uploaded")
    api("PATCH", f"releases/{release['id']}", {"draft": False})
    print(f"published the release {tag}")
    write_outputs({"uploaded": "true"})


def check_published(release: dict, tag: str, directory: Path) -> None:
    """A re-run of a published release: it must already hold every asset (never rewritten)."""
    existing = {asset["name"] for asset in paginate(f"releases/{release['id']}/assets")}
    for path in sorted(directory.iterdir()):
        if path.name not in existing:
            raise UserError(
                f"release {tag} is published without {path.name}: a release is never rewritten; "
                "delete it on GitHub and re-run to publish it again"
            )
        print(f"{path.name}: already published")


def find_release(tag: str) -> dict | None:
    try:
        return api("GET", f"releases/tags/{urllib.parse.quote(tag, safe='')}")
    except NotFound:
        return None


def release_notes(directory: Path) -> str:
    """The release's text: the model card without its front matter (metadata for tools: the asset keeps it), then
    the checksums."""
    card = FRONT_MATTER.sub("", (directory / "model-card.md").read_text(encoding="utf-8"), count=1)
    return f"{card}\n## Checksums (SHA-256)\n```\n{(directory / 'SHA256SUMS').read_text()}```\n"


def attestation_status(directory: Path) -> None:
    """Say (step output `needed`) whether any asset listed in SHA256SUMS still lacks a provenance attestation."""
    checksums = directory / "SHA256SUMS"
    if not checksums.is_file():
        raise UserError(f"{checksums} is missing: download the release-assets artifact of this run first")
    missing = [name for name, digest in files.read_checksums(checksums).items() if not _attestations(digest)]
    print(f"without an attestation: {', '.join(missing)}" if missing else "every asset is already attested")
    write_outputs({"needed": str(bool(missing)).lower()})


def _attestations(digest: str) -> list:
    try:
        return api("GET", f"attestations/sha256:{digest}").get("attestations", [])
    except NotFound:
        return []
