"""A loopback stand-in for the part of GitHub's REST API the review and staging commands call, served over HTTP
so that ml_gitops.github.client runs unchanged against it: a pull request (`GET pulls/{n}`, with GitHub's
`changed_files` count), its files (`GET pulls/{n}/files`, which GitHub caps at 3,000 files: "Responses include a
maximum of 3000 files. The paginated response returns 30 files per page by default.", REST API, "List pull requests
files"), its comments (list, create, update) and its head commit's statuses (create), paginated with Link headers as GitHub's lists are.

For the challenger in shadow: collaborators' permissions, deployments and their statuses (a `success` status marks
the environment's earlier successful deployments `inactive`: "auto_inactive ... Default: true", REST API, "Create a
deployment status"), releases by tag with their assets, and a run's artifacts, whose downloads answer 302 with a
storage address that wants no token ("API clients should handle both a 200 or 302 response", "Get a release
asset"; "Look for Location: in the response header", "Download an artifact")."""

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPOSITORY = "acme/churn"
MAX_LISTED_FILES = 3000
BOT = {"login": "github-actions[bot]", "type": "Bot"}


class FakeGitHub:
    """`with FakeGitHub() as github:`; then set GITHUB_API_URL to github.url."""

    def __init__(self):
        self.pulls: dict[int, dict] = {}
        self.files: dict[int, list[str]] = {}
        self.comments: list[dict] = []
        self.permissions: dict[str, str] = {}
        self.deployments: list[dict] = []
        self.statuses: list[dict] = []
        self.commit_statuses: list[dict] = []  # POST statuses/{sha}: a commit's, as model-gate's
        self.releases: dict[str, list[tuple[str, bytes]]] = {}
        self.artifacts: dict[int, list[tuple[str, bytes, bool]]] = {}
        self.blobs: dict[str, bytes] = {}
        self.storage_requests: list[dict] = []
        self.creator = BOT
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def open_pull_request(
        self,
        number: int,
        files: list[str],
        head_sha: str = "a" * 40,
        base_sha: str = "b" * 40,
        base_ref: str = "main",
    ) -> None:
        self.pulls[number] = {
            "number": number,
            "state": "open",
            "head": {"sha": head_sha},
            "base": {
                "sha": base_sha,
                "ref": base_ref,
                "repo": {"full_name": REPOSITORY, "default_branch": "main"},
            },
        }
        self.files[number] = files

    def release(self, tag: str, assets: dict[str, bytes]) -> None:
        self.releases[tag] = list(assets.items())

    def artifact(self, run_id: int, name: str, archive: bytes, expired: bool = False) -> None:
        self.artifacts.setdefault(run_id, []).append((name, archive, expired))

    def state_of(self, deployment_id: int) -> str | None:
        mine = [s for s in self.statuses if s["deployment"] == deployment_id]
        return mine[-1]["state"] if mine else None

    def answer(self, method: str, path: str, query: dict, body) -> tuple[int, object, str]:
        shadow = self._shadow(method, path, query, body)
        if shadow is not None:
            return shadow
        if match := re.fullmatch(rf"/repos/{REPOSITORY}/pulls/(\d+)", path):
            pull = self.pulls.get(int(match[1]))
            if pull is None:
                return 404, {"message": "Not Found"}, ""
            return 200, {**pull, "changed_files": len(self.files[pull["number"]])}, ""
        if match := re.fullmatch(rf"/repos/{REPOSITORY}/pulls/(\d+)/files", path):
            listed = [{"filename": name} for name in self.files[int(match[1])][:MAX_LISTED_FILES]]
            return self._page(listed, query, path)
        if match := re.fullmatch(rf"/repos/{REPOSITORY}/issues/(\d+)/comments", path):
            if method == "POST":
                comment = {
                    "id": 1000 + len(self.comments),
                    "issue": int(match[1]),
                    "body": body["body"],
                    "user": BOT,
                }
                self.comments.append(comment)
                return 201, {**comment, "html_url": f"https://github.com/{REPOSITORY}/pull/{match[1]}"}, ""
            mine = [c for c in self.comments if c["issue"] == int(match[1])]
            return self._page(mine, query, path)
        if (
            match := re.fullmatch(rf"/repos/{REPOSITORY}/statuses/([0-9a-f]{{40}})", path)
        ) and method == "POST":
            self.commit_statuses.append({"sha": match[1], **body, "creator": BOT})
            return 201, self.commit_statuses[-1], ""
        if (match := re.fullmatch(rf"/repos/{REPOSITORY}/issues/comments/(\d+)", path)) and method == "PATCH":
            (comment,) = [c for c in self.comments if c["id"] == int(match[1])]
            comment["body"] = body["body"]
            return 200, comment, ""
        return 404, {"message": "Not Found"}, ""

    def _shadow(self, method: str, path: str, query: dict, body):
        repo = f"/repos/{REPOSITORY}"
        if match := re.fullmatch(rf"{repo}/collaborators/([^/]+)/permission", path):
            return 200, {"permission": self.permissions.get(match[1], "none")}, ""
        if path == f"{repo}/deployments" and method == "POST":
            deployment = {
                "id": 500 + len(self.deployments),
                "ref": body["ref"],
                "environment": body["environment"],
                "payload": body["payload"],
                "creator": self.creator,
                "created_at": "2026-12-01T00:00:00Z",
            }
            self.deployments.append(deployment)
            return 201, deployment, ""
        if path == f"{repo}/deployments":
            listed = [
                d for d in self.deployments if d["environment"] == query.get("environment", d["environment"])
            ]
            return self._page(listed[::-1], query, path)
        if match := re.fullmatch(rf"{repo}/deployments/(\d+)/statuses", path):
            number = int(match[1])
            if method == "POST":
                deployment = next(d for d in self.deployments if d["id"] == number)
                if body["state"] == "success" and body.get("auto_inactive", True):
                    for other in self.deployments:
                        same = other["environment"] == deployment["environment"]
                        if other is not deployment and same and self.state_of(other["id"]) == "success":
                            self._status(other["id"], "inactive")
                return 201, self._status(number, body["state"]), ""
            mine = [s for s in self.statuses if s["deployment"] == number][::-1]
            return self._page(mine, query, path)
        if match := re.fullmatch(rf"{repo}/releases/tags/(.+)", path):
            assets = self.releases.get(urllib.parse.unquote(match[1]))
            if assets is None:
                return 404, {"message": "Not Found"}, ""
            tag = urllib.parse.unquote(match[1])
            listed = [{"id": self._blob(f"{tag}/{name}", data), "name": name} for name, data in assets]
            return 200, {"tag_name": tag, "assets": listed}, ""
        if match := re.fullmatch(rf"{repo}/releases/assets/(\d+)", path):
            return 302, {}, f"{self.url}/storage/{match[1]}"
        if match := re.fullmatch(rf"{repo}/actions/runs/(\d+)/artifacts", path):
            made = self.artifacts.get(int(match[1]), [])
            listed = [
                {"id": self._blob(f"run{match[1]}/{name}", archive), "name": name, "expired": expired}
                for name, archive, expired in made
                if name == query.get("name", name)
            ]
            return 200, {"total_count": len(listed), "artifacts": listed}, ""
        if match := re.fullmatch(rf"{repo}/actions/artifacts/(\d+)/zip", path):
            return 302, {}, f"{self.url}/storage/{match[1]}"
        return None

    def _status(self, deployment_id: int, state: str) -> dict:
        status = {"id": 900 + len(self.statuses), "deployment": deployment_id, "state": state}
        self.statuses.append(status)
        return status

    def _blob(self, key: str, data: bytes) -> int:
        keys = list(self.blobs)
        if key not in self.blobs:
            self.blobs[key] = data
            keys.append(key)
        return 700 + keys.index(key)

    def stored(self, blob_id: int, headers) -> bytes:
        self.storage_requests.append({"blob": blob_id, "authorization": headers.get("Authorization")})
        return list(self.blobs.values())[blob_id - 700]

    def _page(self, items: list, query: dict, path: str) -> tuple[int, list, str]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(items)
        link = f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"' if more else ""
        return 200, chunk, link


def _handler(github: FakeGitHub):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if match := re.fullmatch(r"/storage/(\d+)", url.path):
                status, data, link = 200, github.stored(int(match[1]), self.headers), ""
            else:
                status, answer, link = github.answer(self.command, url.path, query, body)
                data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Location" if status == 302 else "Link", link)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args):
            pass

    return Handler
