"""GitHub's REST API for the repository a workflow runs in, and the outputs and summary of a workflow step.

Standard library only, so the workflows that hold write tokens can run it without installing the project. Lists
are read to their end (`paginate`, following the Link header), and a redirect is an answer, not followed.
"""

import json
import os
import re
import urllib.error
import urllib.request

from .. import UserError

NEXT_PAGE = re.compile(r'<([^>]+)>;\s*rel="next"')


class NotFound(UserError):
    """The API answered 404."""


class _Answer(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # GitHub answers 303 See Other when something already exists: that is the answer


_OPENER = urllib.request.build_opener(_Answer)


def api(method: str, path: str, body: dict | None = None) -> dict | list:
    """One call to the REST API of the repository this workflow runs in."""
    return api_root(method, f"repos/{repository()}/{path}", body)


def paginate(path: str) -> list:
    """Every item of a list endpoint of this repository, page after page (100 at a time)."""
    separator = "&" if "?" in path else "?"
    url = f"{base_url()}/repos/{repository()}/{path}{separator}per_page=100"
    items: list = []
    while url:
        page, link = _call("GET", url, None)
        items += _items(page)
        match = NEXT_PAGE.search(link or "")
        url = match[1] if match else None
    return items


def _items(page) -> list:
    """A page's items: the list itself, or the one list in an object ({"total_count": n, "branch_policies": [..]})."""
    if isinstance(page, list):
        return page
    lists = [value for value in page.values() if isinstance(value, list)]
    if len(lists) != 1:
        raise UserError(f"GitHub API answered a page that is not a list: {sorted(page)}")
    return lists[0]


def api_root(method: str, path: str, body: dict | None = None) -> dict | list:
    """One call to any path of the REST API."""
    return _call(method, f"{base_url()}/{path}", body)[0]


def repository() -> str:
    name = os.environ.get("GITHUB_REPOSITORY")
    if not name:
        raise UserError("GITHUB_REPOSITORY must be set to owner/name (it is, inside GitHub Actions)")
    return name


def base_url() -> str:
    return os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")


def _call(method: str, url: str, body: dict | None) -> tuple[dict | list, str | None]:
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UserError(
            "GITHUB_TOKEN must be set (inside GitHub Actions it is; locally: export GITHUB_TOKEN=$(gh auth token))"
        )
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
        },
    )
    where = url.removeprefix(base_url() + "/").split("?")[0]
    try:
        with _OPENER.open(request, timeout=30) as response:
            return json.loads(response.read() or b"{}"), response.headers.get("Link")
    except urllib.error.HTTPError as error:
        if error.code == 303:
            return {"see_other": error.headers.get("Location")}, None
        kind = NotFound if error.code == 404 else UserError
        detail = _message(error)
        raise kind(f"GitHub API {method} {where} answered {error.code}: {detail}") from None
    except urllib.error.URLError as error:
        raise UserError(f"GitHub API {method} {where} unreachable: {error.reason}") from None


def _message(error: urllib.error.HTTPError) -> str:
    """GitHub's own message, which says what is wrong ("Resource not accessible by integration", ...)."""
    try:
        message = json.loads(error.read() or b"{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or error.reason).splitlines()[0]


def download(path: str, limit: int) -> bytes:
    """The bytes behind an API path of this repository that answers with the file or redirects to it (a release
    asset, an artifact's zip): GitHub's storage gets no token, and more than `limit` bytes are refused."""
    url = f"{base_url()}/repos/{repository()}/{path}"
    token = os.environ.get("GITHUB_TOKEN")
    if not token:
        raise UserError(
            "GITHUB_TOKEN must be set to download from GitHub (a token that can read the repository)"
        )
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/octet-stream",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        return _read(urllib.request.Request(url, headers=headers), limit)
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location") if error.code in (301, 302, 307, 308) else None
        if not location:
            kind = NotFound if error.code == 404 else UserError
            raise kind(f"GitHub API GET {path} answered {error.code}: {_message(error)}") from None
    try:
        return _read(urllib.request.Request(location), limit)
    except urllib.error.HTTPError as error:
        raise UserError(f"GitHub's storage answered {error.code} for {path}: {error.reason}") from None


def _read(request: urllib.request.Request, limit: int) -> bytes:
    where = request.full_url.split("?")[0]
    try:
        with _OPENER.open(request, timeout=120) as response:
            data = response.read(limit + 1)
    except urllib.error.URLError as error:
        if isinstance(error, urllib.error.HTTPError):
            raise
        raise UserError(f"{where} unreachable: {error.reason}") from None
    if len(data) > limit:
        raise UserError(f"{where} is larger than {limit:,} bytes: refusing it")
    return data


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


def warn(message: str) -> None:
    """A warning annotation on the run, shown on its summary page."""
    print(f"::warning::{message}")
