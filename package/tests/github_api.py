"""A loopback stand-in for the part of GitHub's REST API the review and staging commands call, served over HTTP
so that ml_gitops.github.client runs unchanged against it: a pull request (`GET pulls/{n}`, with GitHub's
`changed_files` count), its files (`GET pulls/{n}/files`, which GitHub caps at 3,000 files: "Responses include a
maximum of 3000 files. The paginated response returns 30 files per page by default.", REST API, "List pull requests
files"), and its comments (list, create, update), paginated with Link headers as GitHub's lists are."""

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
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def open_pull_request(
        self, number: int, files: list[str], head_sha: str = "a" * 40, base_sha: str = "b" * 40
    ) -> None:
        self.pulls[number] = {
            "number": number,
            "state": "open",
            "head": {"sha": head_sha},
            "base": {"sha": base_sha},
        }
        self.files[number] = files

    def answer(self, method: str, path: str, query: dict, body) -> tuple[int, object, str]:
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
        if (match := re.fullmatch(rf"/repos/{REPOSITORY}/issues/comments/(\d+)", path)) and method == "PATCH":
            (comment,) = [c for c in self.comments if c["id"] == int(match[1])]
            comment["body"] = body["body"]
            return 200, comment, ""
        return 404, {"message": "Not Found"}, ""

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
            status, answer, link = github.answer(self.command, url.path, query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args):
            pass

    return Handler
