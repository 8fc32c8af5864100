"""GitHub's REST API for the repository a workflow runs in, and the outputs and summary of a workflow step.

Standard library only, so the workflows that hold write tokens can run it without installing the project.
"""

import json
import os
import urllib.error
import urllib.request

from .. import UserError


class NotFound(UserError):
    """The API answered 404."""


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


def comment(number: int, body: str) -> None:
    """A new comment on pull request `number`."""
    api("POST", f"issues/{number}/comments", {"body": body})


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
