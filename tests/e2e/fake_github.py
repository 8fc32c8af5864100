"""A loopback fake of the GitHub REST API: the few endpoints the generated workflows and CML call.

It keeps pull requests, comments, statuses, releases and attestations in memory and records every request, so a
test can assert exactly what a workflow would have posted. Requests without a token are refused, as GitHub does.
"""

import base64
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    body: dict | None


@dataclass
class State:
    repository: str
    pulls: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, dict] = field(default_factory=dict)
    statuses: list[dict] = field(default_factory=list)
    commit_pulls: dict[str, list[dict]] = field(default_factory=dict)
    releases: dict[int, dict] = field(default_factory=dict)
    environments: dict[str, dict] = field(default_factory=dict)
    rulesets: dict[int, dict] = field(default_factory=dict)
    assets: dict[int, dict[str, bytes]] = field(default_factory=dict)
    attestations: dict[int, dict] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1000

    def comments_on(self, number: int) -> list[dict]:
        return [comment for comment in self.comments.values() if comment["issue"] == number]

    def writes(self) -> list[Request]:
        return [request for request in self.requests if request.method in ("POST", "PATCH", "PUT", "DELETE")]


def attested_digests(bundle: dict) -> set[str]:
    """The SHA-256 digests of the subjects of an attestation bundle's in-toto statement."""
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {subject["digest"]["sha256"] for subject in statement["subject"]}


class FakeGitHub:
    """`with FakeGitHub("acme/churn") as api:` serves on 127.0.0.1; `api.url` goes into GITHUB_API_URL."""

    def __init__(self, repository: str):
        self.state = State(repository)
        self.failing_uploads: set[str] = set()  # asset names whose next upload fails with 502
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGitHub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def open_pull_request(self, number: int, head_sha: str, head_repository: str | None = None) -> None:
        with self.lock:
            self.state.pulls[number] = {
                "number": number,
                "state": "open",
                "head": {
                    "ref": f"pr-{number}",
                    "sha": head_sha,
                    "repo": {"full_name": head_repository or self.state.repository},
                },
                "base": {"ref": "main", "repo": {"full_name": self.state.repository}},
            }

    def fail_next_upload(self, name: str) -> None:
        """The next upload of asset `name` fails, as GitHub's upload host sometimes does."""
        self.failing_uploads.add(name)

    def close_pull_request(self, number: int) -> None:
        with self.lock:
            self.state.pulls[number]["state"] = "closed"

    def merge_pull_request(self, number: int, merge_sha: str, labels: list[str]) -> None:
        """Record that `merge_sha` on main came from pull request `number`, with these labels."""
        with self.lock:
            pull = {"number": number, "state": "closed", "merged_at": "2026-11-23T00:00:00Z"}
            self.state.commit_pulls[merge_sha] = [pull | {"labels": [{"name": name} for name in labels]}]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _respond(self, status: int, payload) -> None:
                data = b"" if status == 204 else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                is_json = self.headers.get("Content-Type", "").startswith("application/json")
                body = json.loads(raw) if raw and is_json else raw
                with fake.lock:
                    fake.state.requests.append(
                        Request(method, self.path, body if is_json else {"bytes": len(raw)})
                    )
                    if not self.headers.get("Authorization", "").strip():
                        return self._respond(401, {"message": "Requires authentication"})
                    if self.path.startswith("/uploads/"):
                        status, payload = fake._upload(self.path, body)
                    else:
                        status, payload = fake._route(method, self.path.split("?")[0], body)
                self._respond(status, payload)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler

    def _upload(self, path: str, data: bytes) -> tuple[int, object]:
        match = re.fullmatch(r"/uploads/repos/[^/]+/[^/]+/releases/(\d+)/assets\?name=([^&]+)", path)
        if not match or int(match[1]) not in self.state.assets:
            return 404, {"message": "Not Found"}
        name = urllib.parse.unquote(match[2])
        if name in self.failing_uploads:
            self.failing_uploads.remove(name)
            return 502, {"message": "Server Error"}
        if name in self.state.assets[int(match[1])]:
            return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}
        self.state.assets[int(match[1])][name] = data
        return 201, {"name": name, "size": len(data)}

    def _create_pull(self, body: dict) -> tuple[int, object]:
        state = self.state
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for p in state.pulls.values()):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"message": "A pull request already exists"}],
            }
        number = max(state.pulls, default=0) + 1
        repository = {"full_name": state.repository}
        state.pulls[number] = {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body.get("body", ""),
            "head": {"ref": body["head"], "repo": repository},
            "base": {"ref": body["base"], "repo": repository},
            "html_url": f"https://github.com/{state.repository}/pull/{number}",
        }
        return 201, state.pulls[number]

    def _route(self, method: str, path: str, body: dict | None) -> tuple[int, object]:
        state = self.state
        if method == "GET" and (match := re.fullmatch(r"/users/([\w-]+)", path)):
            return 200, {"login": match[1], "id": 5000 + len(match[1])}
        prefix = f"/repos/{state.repository}/"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        if method == "GET" and rest == "pulls":  # the tests only ask for open pull requests
            return 200, [pull for pull in state.pulls.values() if pull["state"] == "open"]
        if method == "POST" and rest == "pulls":
            return self._create_pull(body)
        if method == "GET" and (match := re.fullmatch(r"pulls/(\d+)", rest)):
            pull = state.pulls.get(int(match[1]))
            return (200, pull) if pull else (404, {"message": "Not Found"})
        if method == "GET" and (match := re.fullmatch(r"commits/([0-9a-f]{40})/pulls", rest)):
            return 200, state.commit_pulls.get(match[1], [])
        if match := re.fullmatch(r"issues/(\d+)/comments", rest):
            number = int(match[1])
            if number not in state.pulls:
                return 404, {"message": "Not Found"}
            if method == "GET":
                return 200, state.comments_on(number)
            if method == "POST":
                state.next_id += 1
                comment = {
                    "id": state.next_id,
                    "issue": number,
                    "body": body["body"],
                    "user": {"login": "bot"},
                }
                state.comments[state.next_id] = comment
                return 201, comment
        if method == "PATCH" and (match := re.fullmatch(r"issues/comments/(\d+)", rest)):
            comment = state.comments.get(int(match[1]))
            if not comment:
                return 404, {"message": "Not Found"}
            comment["body"] = body["body"]
            return 200, comment
        if method == "GET" and (match := re.fullmatch(r"releases/tags/(.+)", rest)):  # drafts are not found
            tag = urllib.parse.unquote(match[1])
            found = [r for r in state.releases.values() if r["tag_name"] == tag and not r.get("draft")]
            return (200, found[0]) if found else (404, {"message": "Not Found"})
        if method == "GET" and rest == "releases":
            return 200, sorted(state.releases.values(), key=lambda release: -release["id"])
        if method == "DELETE" and (match := re.fullmatch(r"releases/(\d+)", rest)):
            if state.releases.pop(int(match[1]), None) is None:
                return 404, {"message": "Not Found"}
            state.assets.pop(int(match[1]))
            return 204, None
        if method == "PATCH" and (match := re.fullmatch(r"releases/(\d+)", rest)):
            release = state.releases.get(int(match[1]))
            if release is None:
                return 404, {"message": "Not Found"}
            release.update(body)
            return 200, release
        if method == "POST" and rest == "releases":
            published = [r for r in state.releases.values() if not r.get("draft")]
            if any(release["tag_name"] == body["tag_name"] for release in published):
                return 422, {"message": "Validation Failed", "errors": [{"code": "already_exists"}]}
            state.next_id += 1
            upload_url = (
                f"{self.url}/uploads/repos/{state.repository}/releases/{state.next_id}/assets{{?name,label}}"
            )
            state.releases[state.next_id] = {"id": state.next_id, **body, "upload_url": upload_url}
            state.assets[state.next_id] = {}
            return 201, state.releases[state.next_id]
        if method == "GET" and (match := re.fullmatch(r"releases/(\d+)/assets", rest)):
            files = state.assets.get(int(match[1]), {})
            return 200, [{"name": name, "size": len(data)} for name, data in files.items()]
        if method == "POST" and rest == "attestations":
            state.next_id += 1
            state.attestations[state.next_id] = body["bundle"]
            return 201, {"id": state.next_id}
        if method == "GET" and (match := re.fullmatch(r"attestations/sha256:([0-9a-f]{64})", rest)):
            found = [
                {"bundle": bundle}
                for bundle in state.attestations.values()
                if match[1] in attested_digests(bundle)
            ]
            return 200, {"attestations": found}
        if method == "PUT" and (match := re.fullmatch(r"environments/([\w-]+)", rest)):
            policies = state.environments.get(match[1], {}).get("branch_policies", [])
            state.environments[match[1]] = {"name": match[1], **body, "branch_policies": policies}
            return 200, state.environments[match[1]]
        if match := re.fullmatch(r"environments/([\w-]+)/deployment-branch-policies", rest):
            environment = state.environments.get(match[1])
            if environment is None or not (environment["deployment_branch_policy"] or {}).get(
                "custom_branch_policies"
            ):
                return 404, {"message": "Not Found"}
            policies = environment["branch_policies"]
            if method == "GET":
                return 200, {"total_count": len(policies), "branch_policies": policies}
            if any(policy["name"] == body["name"] for policy in policies):
                return 422, {"message": "Validation Failed"}
            state.next_id += 1
            policies.append({"id": state.next_id, **body})
            return 201, policies[-1]
        if rest == "rulesets" and method == "GET":
            return 200, [{"id": ruleset_id, "name": r["name"]} for ruleset_id, r in state.rulesets.items()]
        if rest == "rulesets" and method == "POST":
            state.next_id += 1
            state.rulesets[state.next_id] = body
            return 201, {"id": state.next_id, **body}
        if method == "PUT" and (match := re.fullmatch(r"rulesets/(\d+)", rest)):
            if int(match[1]) not in state.rulesets:
                return 404, {"message": "Not Found"}
            state.rulesets[int(match[1])] = body
            return 200, {"id": int(match[1]), **body}
        if method == "POST" and (match := re.fullmatch(r"statuses/([0-9a-f]{40})", rest)):
            status = {"sha": match[1], **body}
            state.statuses.append(status)
            return 201, status
        return 404, {"message": "Not Found"}
