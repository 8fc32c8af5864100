"""The GitHub side: check the report artifact, then talk to the REST API (comments, statuses, releases).

model-report.yml runs this from the default branch, with a write token, on an artifact that untrusted pull-request
code produced. So the artifact is data only: its layout, sizes, links and pull-request number are checked here
before anything is posted. Standard library only, so it runs without installing the project.
"""

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import UserError, files

MAX_REPORT_BYTES = 60_000  # a GitHub comment holds 65,536 characters; leave room for CML's watermark
MAX_PLOT_BYTES = 5 * 2**20
MAX_TOTAL_BYTES = 20 * 2**20
PLOT_NAME = re.compile(r"^[a-z_]{1,40}\.png$")
SHA = re.compile(r"^[0-9a-f]{40}$")
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)")
DEFINITION_TARGET = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)", re.MULTILINE)
STATUS_CONTEXT = "model-gate"


class NotFound(UserError):
    """The API answered 404."""


def check_artifact(directory: Path, head_sha: str) -> dict:
    """Validate a downloaded model-report artifact; return its pull-request number and gate verdict."""
    if not SHA.match(head_sha):
        raise UserError(f"--head-sha must be a 40-character commit id, got '{head_sha}'")
    _check_layout(directory)
    summary = _read_summary(directory / "report.json")
    if summary["head_sha"] != head_sha:
        raise UserError(
            f"report.json is for commit {summary['head_sha']}, but the run built {head_sha}: refusing it"
        )
    _check_links((directory / "report.md").read_text(encoding="utf-8"), directory)
    pull = api("GET", f"pulls/{summary['pull_request']}")
    if pull.get("head", {}).get("sha") != head_sha or pull.get("state") != "open":
        raise UserError(
            f"pull request #{summary['pull_request']} is not open at commit {head_sha}: refusing the report"
        )
    return {"pull_request": summary["pull_request"], "gate": summary["gate"]}


def _check_layout(directory: Path) -> None:
    if not (directory / "report.md").is_file() or not (directory / "report.json").is_file():
        raise UserError(
            f"{directory} must hold report.md and report.json: the model-pr run did not finish its report"
        )
    total = 0
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_symlink():
            raise UserError(f"artifact entry {relative} is a symbolic link: refusing the artifact")
        if path.is_dir():
            if str(relative) != "plots":
                raise UserError(f"artifact has an unexpected directory {relative}: only plots/ is allowed")
            continue
        size = path.stat().st_size
        total += size
        allowed = str(relative) in ("report.md", "report.json") or (
            relative.parent.name == "plots" and PLOT_NAME.match(relative.name)
        )
        if not allowed:
            raise UserError(
                f"artifact has an unexpected file {relative}: only report.md, report.json, plots/*.png"
            )
        limit = MAX_REPORT_BYTES if relative.name == "report.md" else MAX_PLOT_BYTES
        if size > limit:
            raise UserError(
                f"artifact file {relative} has {size:,} bytes, over the limit of {limit:,}: refusing it"
            )
    if total > MAX_TOTAL_BYTES:
        raise UserError(f"artifact holds {total:,} bytes, over the limit of {MAX_TOTAL_BYTES:,}: refusing it")


def _read_summary(path: Path) -> dict:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError("report.json is not valid JSON: refusing the artifact") from None
    number = summary.get("pull_request") if isinstance(summary, dict) else None
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 10**9:
        raise UserError(
            f"report.json has no valid pull-request number (got {number!r}): refusing the artifact"
        )
    if not isinstance(summary.get("head_sha"), str) or not SHA.match(summary["head_sha"]):
        raise UserError("report.json has no valid head_sha: refusing the artifact")
    if summary.get("gate") not in ("pass", "fail"):
        raise UserError(
            f"report.json has gate {summary.get('gate')!r}, not pass or fail: refusing the artifact"
        )
    return summary


def _check_links(markdown: str, directory: Path) -> None:
    """Only links to the artifact's own plots: CML uploads every local file an image link names."""
    if re.search(r"<\s*img|\bsrc\s*=", markdown, re.IGNORECASE):
        raise UserError("report.md contains an HTML image: only markdown links to plots/*.png are allowed")
    for target in LINK_TARGET.findall(markdown) + DEFINITION_TARGET.findall(markdown):
        if not (
            target.startswith("plots/") and PLOT_NAME.match(target[6:]) and (directory / target).is_file()
        ):
            raise UserError(f"report.md links to '{target}': only the artifact's plots/*.png are allowed")


def api(method: str, path: str, body: dict | None = None) -> dict:
    """One call to the REST API of the repository this workflow runs in."""
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository:
        raise UserError("GITHUB_REPOSITORY must be set to owner/name (it is, inside GitHub Actions)")
    return api_root(method, f"repos/{repository}/{path}", body)


def api_root(method: str, path: str, body: dict | None = None) -> dict:
    """One call to any path of the REST API."""
    base = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UserError(
            "GITHUB_TOKEN must be set (inside GitHub Actions it is; locally: export GITHUB_TOKEN=$(gh auth token))"
        )
    request = urllib.request.Request(
        f"{base}/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        kind = NotFound if error.code == 404 else UserError
        raise kind(f"GitHub API {method} {path} answered {error.code}: {error.reason}") from None
    except urllib.error.URLError as error:
        raise UserError(f"GitHub API {method} {path} unreachable: {error.reason}") from None


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
    published = find_release(tag)
    if published:
        check_published(published, tag, directory)
        write_outputs({"uploaded": "false"})  # only assets this run uploaded get an attestation
        return
    for draft in api("GET", "releases?per_page=100"):
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
    existing = {asset["name"] for asset in api("GET", f"releases/{release['id']}/assets")}
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
    card = (directory / "model-card.md").read_text(encoding="utf-8")
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


def comment(number: int, body: str) -> None:
    """A new comment on pull request `number`."""
    api("POST", f"issues/{number}/comments", {"body": body})


def set_status(sha: str, gate: str, target_url: str | None) -> None:
    """The `model-gate` commit status, which a branch ruleset can require before merging."""
    if not SHA.match(sha) or gate not in ("pass", "fail"):
        raise UserError(
            f"set-status needs a 40-character --sha and --gate pass|fail, got {sha!r} and {gate!r}"
        )
    body = {
        "state": "success" if gate == "pass" else "failure",
        "context": STATUS_CONTEXT,
        "description": "The candidate model passed the gate"
        if gate == "pass"
        else "The candidate model failed the gate",
    }
    if target_url:
        body["target_url"] = target_url
    api("POST", f"statuses/{sha}", body)


def write_outputs(values: dict) -> None:
    """Expose validated values to later workflow steps (GITHUB_OUTPUT), one `name=value` line each."""
    lines = "".join(f"{name}={value}\n" for name, value in values.items())
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(lines)
    print(lines, end="")


def write_summary(markdown: str) -> None:
    """Append to the job summary (GITHUB_STEP_SUMMARY) when running in GitHub Actions."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
