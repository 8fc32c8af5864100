"""A loopback fake of GitHub for one repository: its REST API, its Git smart HTTP endpoint, and CML's asset host.

It speaks HTTPS with a certificate of a private CA (tls.py), like a GitHub Enterprise host: the REST API under
`/api/v3`, the repository at `/<owner>/<repo>.git` (git http-backend on a bare repository), uploads under
`/api/uploads`, and, read-only, the public repository that holds the shared workflows (serve_repository). So real clients work against it unchanged: git, Python's urllib, and CML (which derives the API host
from the repository URL).

Every request carries a token, and every token is someone: a user with a role on the repository, the GITHUB_TOKEN
of one workflow run (the GitHub Actions app, with that workflow's permissions), or a GitHub App installation.
The fake refuses what that identity may not do, records who caused each push, tag, pull request, comment, status
and dispatch, and queues the events GitHub would emit, which github_rules.py turns into workflow runs. Objects are
built from GitHub's REST description (github_schemas.example), so their shape is GitHub's; lists are paginated with
Link headers as GitHub's are.
"""

import base64
import copy
import fnmatch
import hashlib
import itertools
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from . import github_schemas as schemas
from .shared_workflows import CALLER
from .tls import make_certificates

MAX_PULL_FILES = 3000  # "Responses include a maximum of 3000 files" (REST: list pull request files)

ZERO = "0" * 40


def triggers(workflow: dict) -> dict:
    """A workflow's `on:` as a mapping of event -> settings, whichever of its three forms it is written in."""
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return {name: (value or {}) for name, value in (on or {}).items()}


ACTIONS_APP_ID = 15368  # the GitHub Actions app: GITHUB_TOKEN is its installation token
ACTIONS_BOT = ("github-actions[bot]", 41898282)
PRE_RECEIVE = Path(__file__).with_name("pre_receive.py")
WRITE_ROLES = ("admin", "maintain", "write")
ASSOCIATION = {
    "admin": "OWNER",
    "maintain": "MEMBER",
    "write": "COLLABORATOR",
    "triage": "MEMBER",
    "read": "CONTRIBUTOR",
}


@dataclass
class Identity:
    """Who a token is. kind: user, github_token (one workflow run) or app (an installation token)."""

    kind: str
    login: str
    user_id: int
    role: str = "read"  # users: admin, maintain, write, read, none
    permissions: dict[str, str] = field(default_factory=dict)  # tokens: scope -> read | write
    app_id: int | None = None
    run_id: int | None = None

    @property
    def is_bot(self) -> bool:
        return self.kind != "user"

    def may(self, scope: str, level: str) -> bool:
        if scope == "metadata" and level == "read":
            return True  # every token may read the repository's metadata
        if self.kind == "user":
            if level == "admin":
                return self.role == "admin"
            return self.role in WRITE_ROLES if level == "write" else self.role != "none"
        granted = self.permissions.get(scope)
        return granted == "write" or (level == "read" and granted == "read")

    def summary(self) -> dict:
        return {"kind": self.kind, "login": self.login, "app_id": self.app_id, "role": self.role}


@dataclass
class Forbidden(Exception):
    status: int
    message: str


@dataclass
class Recorded:
    method: str
    path: str
    body: object
    who: Identity | None
    status: int = 0
    response: object = None


@dataclass
class Event:
    """What GitHub would deliver as a webhook and offer to workflows: the engine reads these in order."""

    name: str
    action: str | None
    who: Identity
    data: dict


class FakeGitHub:
    """`with FakeGitHub("acme/churn", root) as github:` serves on 127.0.0.1 until the block ends."""

    def __init__(self, repository: str, root: Path):
        self.repository = repository
        self.owner, self.name = repository.split("/")
        self.root = root
        self.certs = make_certificates(root / "tls")
        self.git_root = root / "git"
        self.origin = self.git_root / self.owner / f"{self.name}.git"
        self._init_origin()
        self.lock = threading.RLock()
        self.ids = itertools.count(1001)
        self.numbers = itertools.count(1)
        self.users: dict[str, Identity] = {}
        self.tokens: dict[str, Identity] = {}
        self.actions_bot = Identity("github_token", *ACTIONS_BOT, app_id=ACTIONS_APP_ID)
        self.apps: dict[int, dict] = {}
        self.visibility = "public"
        self.pulls: dict[int, dict] = {}
        self.issues: dict[int, dict] = {}
        self.reviews: dict[int, list[dict]] = {}
        self.comments: dict[int, dict] = {}
        self.statuses: list[dict] = []
        self.check_runs: list[dict] = []
        self.releases: dict[int, dict] = {}
        self.assets: dict[int, dict[str, dict]] = {}
        self.attestations: dict[int, dict] = {}
        self.environments: dict[str, dict] = {}
        self.rulesets: dict[int, dict] = {}
        self.workflow_permissions = {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": False,
        }
        self.cml_assets: dict[str, bytes] = {}
        self.deployments: dict[int, dict] = {}
        self.storage_requests: list[dict] = []
        self.deployment_statuses: dict[int, list[dict]] = {}
        self.artifact_store: Path | None = None  # the artifact stand-ins' store (harness.artifacts)
        self.artifact_ids: dict[tuple[int, str], int] = {}
        # The workflow runs GitHub's rules started, oldest first (github_rules.GitHub.runs: run_id, workflow, name,
        # event, who, head_sha, head_branch, conclusion, output), as `GET actions/runs` lists them.
        self.workflow_runs: list = []
        self.workflow_ids: dict[str, int] = {}
        self.failing_uploads: set[str] = set()
        self.requests: list[Recorded] = []
        self.errors: list[str] = []  # exceptions the fake raised while answering: a test must never see one
        self.pushes: list[dict] = []
        self.events: list[Event] = []
        self.code_owners: dict[str, list[str]] = {}
        self.served: set[str] = (
            set()
        )  # public repositories served read-only beside this one (serve_repository)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certs["server.pem"], self.certs["server.key"])
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        port = self.server.server_port
        self.url = f"https://127.0.0.1:{port}"
        self.host = f"127.0.0.1:{port}"
        self.api_url = f"{self.url}/api/v3"
        self.clone_url = f"{self.url}/{repository}.git"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._write_rulesets()

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def __enter__(self) -> "FakeGitHub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _init_origin(self) -> None:
        self.origin.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(self.origin)], check=True)
        self._git("config", "http.receivepack", "true")
        self._git("config", "uploadpack.allowReachableSHA1InWant", "true")
        hook = self.origin / "hooks" / "pre-receive"
        hook.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{PRE_RECEIVE}'\n")
        hook.chmod(0o755)

    def _git(self, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.origin), *args], capture_output=True, input=input, env=env
        )
        if result.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode()}")
        return result.stdout.decode().strip()

    # -- identities ----------------------------------------------------------------------------------------------

    def add_user(self, login: str, role: str) -> str:
        """A GitHub user with a role on the repository (admin, maintain, write, read, none); returns their token."""
        with self.lock:
            identity = Identity("user", login, 10_000 + len(self.users), role=role)
            self.users[login] = identity
            token = f"ghp_{login}"
            self.tokens[token] = identity
            return token

    def run_token(self, run_id: int, permissions: dict[str, str], fork: bool = False) -> str:
        """The GITHUB_TOKEN of one workflow run, with the permissions of its workflow (read-only for forks)."""
        with self.lock:
            if fork:
                permissions = {scope: "read" for scope in permissions}
            identity = Identity(
                "github_token",
                *ACTIONS_BOT,
                app_id=ACTIONS_APP_ID,
                permissions=dict(permissions),
                run_id=run_id,
            )
            token = f"ghs_run{run_id}"
            self.tokens[token] = identity
            return token

    def add_app(self, slug: str, public_key_pem: bytes, permissions: dict[str, str]) -> str:
        """A GitHub App installed on the repository: installation tokens are minted with a JWT it signs (its
        issuer is the App's client ID or its numeric ID, as GitHub accepts). Returns the client ID."""
        with self.lock:
            app_id = 900_000 + len(self.apps) + 1
            self.apps[app_id] = {
                "slug": slug,
                "client_id": f"Iv23li{app_id}",
                "public_key": public_key_pem,
                "installation_id": 7_000_000 + app_id,
                "permissions": dict(permissions),
            }
            return self.apps[app_id]["client_id"]

    def user_token(self, login: str) -> str:
        return f"ghp_{login}"

    # -- what tests read ---------------------------------------------------------------------------------------------

    def comments_on(self, number: int) -> list[dict]:
        return [comment for comment in self.comments.values() if comment["issue"] == number]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    def statuses_of(self, sha: str, context: str | None = None) -> list[dict]:
        return [s for s in self.statuses if s["sha"] == sha and (context is None or s["context"] == context)]

    def ref(self, name: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", name)
        except RuntimeError:
            return None

    def tags(self) -> list[str]:
        return sorted(self._git("tag", "--list").split())

    def fail_next_upload(self, name: str) -> None:
        """The next upload of asset `name` fails with 502, as GitHub's upload host sometimes does."""
        self.failing_uploads.add(name)

    # -- rulesets enforced at push time ---------------------------------------------------------------------------

    def _write_rulesets(self) -> None:
        config = {"default_branch": "main", "rulesets": [dict(r) for r in self.rulesets.values()]}
        (self.origin / "e2e-rulesets.json").write_text(json.dumps(config))

    # -- events ----------------------------------------------------------------------------------------------------

    def _emit(self, name: str, action: str | None, who: Identity, **data) -> None:
        self.events.append(Event(name, action, who, data))
        if (
            name == "pull_request"
        ):  # the same activity starts the default branch's pull_request_target workflows
            self.events.append(Event("pull_request_target", action, who, data))

    def deployment_states(self, environment: str) -> list[tuple[dict, str | None]]:
        """Each deployment to `environment`, oldest first, with its newest status's state (None: no status)."""
        return [
            (d, (self.deployment_statuses[d["id"]] or [{}])[-1].get("state"))
            for d in self.deployments.values()
            if d["environment"] == environment
        ]

    def take_events(self) -> list[Event]:
        with self.lock:
            events, self.events = self.events, []
            return events

    def record_push(self, who: Identity, updates: list[tuple[str, str, str]]) -> None:
        """A push that reached origin: push events, and synchronize for the pull requests whose head moved."""
        self.pushes.append({"who": who.summary(), "updates": updates})
        for ref, old, new in updates:
            self._emit("push", None, who, ref=ref, before=old, after=new)
            if ref.startswith("refs/heads/") and new != ZERO:
                branch = ref.removeprefix("refs/heads/")
                for pull in self.pulls.values():
                    if (
                        pull["state"] == "open"
                        and pull["head_ref"] == branch
                        and pull["head_repo"] == self.repository
                    ):
                        pull["head_sha"] = new
                        self._update_merge_ref(pull)
                        self._emit("pull_request", "synchronize", who, number=pull["number"], before=old)

    # -- pull requests, driven by people --------------------------------------------------------------------------

    def open_fork_pull_request(self, login: str, fork: str, branch: str, local: Path, title: str) -> int:
        """A pull request from `login`'s fork: its commits land in refs/pull/<n>/head, as GitHub stores them."""
        with self.lock:
            number = next(self.numbers)
            sha = subprocess.run(
                ["git", "rev-parse", branch], cwd=local, capture_output=True, text=True, check=True
            ).stdout.strip()
            subprocess.run(
                ["git", "push", "--quiet", str(self.origin), f"{sha}:refs/pull/{number}/head"],
                cwd=local,
                check=True,
                env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"},
            )
            self.pulls[number] = self._new_pull(
                number, self.users[login], title, "", branch, sha, fork, "main"
            )
            self._update_merge_ref(self.pulls[number])
            self._emit("pull_request", "opened", self.users[login], number=number)
            return number

    def push_to_fork_pull_request(self, number: int, local: Path) -> str:
        """The fork's author pushes their branch again: the new head lands in refs/pull/<n>/head (synchronize)."""
        with self.lock:
            pull = self.pulls[number]
            sha = subprocess.run(
                ["git", "rev-parse", pull["head_ref"]], cwd=local, capture_output=True, text=True, check=True
            ).stdout.strip()
            subprocess.run(
                ["git", "push", "--quiet", "--force", str(self.origin), f"{sha}:refs/pull/{number}/head"],
                cwd=local,
                check=True,
                env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null"},
            )
            before, pull["head_sha"] = pull["head_sha"], sha
            self._update_merge_ref(pull)
            self._emit("pull_request", "synchronize", self.users[pull["user"]], number=number, before=before)
            return sha

    def _new_pull(self, number, who, title, body, head_ref, head_sha, head_repo, base_ref) -> dict:
        return {
            "number": number,
            "id": next(self.ids),
            "state": "open",
            "title": title,
            "body": body,
            "user": who.login,
            "user_type": "Bot" if who.is_bot else "User",
            "head_ref": head_ref,
            "head_sha": head_sha,
            "head_repo": head_repo,
            "base_ref": base_ref,
            "labels": [],
            "merged": False,
            "merge_commit_sha": None,
            "merged_by": None,
            "created_by": who.summary(),
        }

    def _update_merge_ref(self, pull: dict) -> None:
        """refs/pull/<n>/merge: the test merge commit GitHub builds for pull_request workflows."""
        base = self._git("rev-parse", f"refs/heads/{pull['base_ref']}")
        pull["base_sha"] = base
        self._git("update-ref", f"refs/pull/{pull['number']}/head", pull["head_sha"])
        result = subprocess.run(
            ["git", "--git-dir", str(self.origin), "merge-tree", "--write-tree", base, pull["head_sha"]],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pull["mergeable"] = False
            return
        tree = result.stdout.split()[0]
        message = f"Merge {pull['head_sha']} into {base}"
        merge = self._commit_tree(tree, [base, pull["head_sha"]], message)
        self._git("update-ref", f"refs/pull/{pull['number']}/merge", merge)
        pull["mergeable"], pull["merge_ref_sha"] = True, merge

    def _commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", tree, "-m", message]
        for parent in parents:
            args += ["-p", parent]
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "GitHub",
            "GIT_AUTHOR_EMAIL": "noreply@github.com",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
        }
        return self._git(*args, env=env)

    # -- merging under the ruleset --------------------------------------------------------------------------------

    def merge_blockers(self, number: int) -> list[str]:
        """Why the ruleset of the base branch keeps pull request `number` from merging (empty: it may merge)."""
        pull = self.pulls[number]
        problems = []
        rulesets = [
            r
            for r in self.rulesets.values()
            if r.get("target", "branch") == "branch"
            and r.get("enforcement") == "active"
            and self._ruleset_matches(r, f"refs/heads/{pull['base_ref']}")
        ]
        for ruleset in rulesets:
            for rule in ruleset.get("rules", []):
                parameters = rule.get("parameters", {})
                if rule["type"] == "pull_request":
                    problems += self._review_problems(pull, parameters)
                elif rule["type"] == "required_status_checks":
                    problems += self._status_problems(pull, parameters)
        if not pull.get("mergeable", True):
            problems.append("the pull request has conflicts with its base branch")
        return problems

    def _ruleset_matches(self, ruleset: dict, ref: str) -> bool:
        sys.path.insert(0, str(PRE_RECEIVE.parent))
        try:
            from pre_receive import matches  # the same matching as the push-time hook
        finally:
            sys.path.pop(0)
        return matches(ref, ruleset, "main")

    def latest_reviews(self, number: int) -> dict[str, dict]:
        latest = {}
        for review in self.reviews.get(number, []):
            if review["state"] in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[review["user"]] = review
        return latest

    def _review_problems(self, pull: dict, parameters: dict) -> list[str]:
        problems = []
        latest = self.latest_reviews(pull["number"])
        approvals = [
            review
            for review in latest.values()
            if review["state"] == "APPROVED"
            and self.users.get(review["user"], Identity("user", "", 0, role="none")).role in WRITE_ROLES
            and review["user"] != pull["user"]
            and (
                not parameters.get("dismiss_stale_reviews_on_push") or review["commit_id"] == pull["head_sha"]
            )
        ]
        required = parameters.get("required_approving_review_count", 0)
        if len(approvals) < required:
            problems.append(
                f"{required} approving review(s) from users with write access required, {len(approvals)} given"
            )
        if any(review["state"] == "CHANGES_REQUESTED" for review in latest.values()):
            problems.append("a reviewer requested changes")
        if parameters.get("require_code_owner_review"):
            owners = self._owners_of(self.changed_files(pull["number"]), pull["base_sha"])
            approvers = {review["user"] for review in approvals}
            if owners and not owners & approvers:
                problems.append(f"a code owner's review is required ({', '.join(sorted(owners))})")
        return problems

    def _status_problems(self, pull: dict, parameters: dict) -> list[str]:
        problems = []
        for check in parameters.get("required_status_checks", []):
            context, app = check["context"], check.get("integration_id")
            latest = None
            for status in self.statuses_of(pull["head_sha"], context):
                if app is None or status["app_id"] == app:
                    latest = status
            for run in self.check_runs:
                if run["sha"] == pull["head_sha"] and run["name"] == context and app in (None, run["app_id"]):
                    latest = {"state": "success" if run["conclusion"] == "success" else "failure"}
            if latest is None:
                problems.append(f"required status {context} is expected: it never reported")
            elif latest["state"] != "success":
                problems.append(f"required status {context} is {latest['state']}")
        return problems

    def _owners_of(self, files: list[str], base_sha: str) -> set[str]:
        """CODEOWNERS of the base branch: the owners of the last matching pattern of each changed file."""
        try:
            text = self._git("show", f"{base_sha}:.github/CODEOWNERS")
        except RuntimeError:
            return set()
        rules = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                pattern, *owners = line.split()
                rules.append((pattern, {owner.lstrip("@") for owner in owners}))
        found = set()
        for path in files:
            owners = set()
            for pattern, names in rules:
                if _codeowners_match(pattern, path):
                    owners = names
            found |= owners
        return found

    def changed_files(self, number: int) -> list[str]:
        pull = self.pulls[number]
        merge_base = self._git("merge-base", pull["base_sha"], pull["head_sha"])
        return self._git("diff", "--name-only", merge_base, pull["head_sha"]).splitlines()

    def merge(self, number: int, who: Identity) -> str:
        """Merge pull request `number` into its base with a merge commit, as `who`: the push starts workflows."""
        pull = self.pulls[number]
        base_ref = f"refs/heads/{pull['base_ref']}"
        old = self._git("rev-parse", base_ref)
        tree = self._git("merge-tree", "--write-tree", old, pull["head_sha"]).split()[0]
        head_label = f"{pull['head_repo'].split('/')[0]}/{pull['head_ref']}"
        sha = self._commit_tree(
            tree, [old, pull["head_sha"]], f"Merge pull request #{number} from {head_label}"
        )
        self._git("update-ref", base_ref, sha, old)
        pull.update(state="closed", merged=True, merge_commit_sha=sha, merged_by=who.login)
        self._emit("pull_request", "closed", who, number=number)
        self.record_push(who, [(base_ref, old, sha)])
        return sha

    # -- HTTP ------------------------------------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)

            def _serve(self) -> None:
                raw = self._body()
                path = self.path
                if path.startswith(f"/{fake.repository}.git/"):
                    return self._send(*fake._git_http(self.command, path, self.headers, raw))
                served = fake._served_repository(path)
                if served:
                    return self._send(
                        *fake._git_http_read_only(self.command, path, self.headers, raw, served)
                    )
                if path.startswith("/cml-assets"):
                    return self._send(*fake._cml_asset(raw, self.headers))
                if path.startswith("/storage/"):
                    return self._send(*fake._storage(path, self.headers))
                status, payload, headers = fake._api(self.command, path, self.headers, raw)
                data = b"" if status in (204, 303) or payload is None else json.dumps(payload).encode()
                self._send(status, data, {"Content-Type": "application/json; charset=utf-8", **headers})

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        return Handler

    def _identity(self, headers) -> Identity | None:
        value = headers.get("Authorization", "").strip()
        if not value:
            return None
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "basic":
            credential = base64.b64decode(credential).decode().partition(":")[2]
        return self.tokens.get(credential.strip())

    # -- Git over HTTPS ---------------------------------------------------------------------------------------------

    def serve_repository(self, full_name: str, source: Path) -> None:
        """Serve a copy of the bare repository `source` as the public repository `full_name`, read-only: the
        repository that holds the shared workflows a project's callers use (act clones it from here)."""
        target = self.git_root / f"{full_name}.git"
        if full_name in self.served:
            shutil.rmtree(target)
        subprocess.run(["git", "clone", "--quiet", "--bare", str(source), str(target)], check=True)
        subprocess.run(
            ["git", "--git-dir", str(target), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True
        )
        self.served.add(full_name)

    def called_workflow(self, uses: str) -> dict:
        """The shared workflow a caller's `uses:` names, as the served repository holds it at that commit."""
        full_name, file, sha = CALLER.match(uses).groups()
        assert full_name in self.served, f"{uses}: the fake serves no {full_name}"
        text = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.git_root / f"{full_name}.git"),
                "show",
                f"{sha}:.github/workflows/{file}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return yaml.safe_load(text)

    def _served_repository(self, path: str) -> str | None:
        """The served repository a Git request is for: `/<owner>/<name>.git/...` or, as act asks, without .git."""
        for full_name in self.served:
            for prefix in (f"/{full_name}.git/", f"/{full_name}/"):
                if path.startswith(prefix):
                    return full_name
        return None

    def _git_http_read_only(self, method: str, path: str, headers, body: bytes, full_name: str):
        if "receive-pack" in path:
            return 403, f"Permission to {full_name}.git denied.\n".encode(), {}
        rest = path.removeprefix(f"/{full_name}.git/").removeprefix(f"/{full_name}/")
        return self._git_http(method, f"/{full_name}.git/{rest}", headers, body)

    def _git_http(self, method: str, path: str, headers, body: bytes):
        who = self._identity(headers)
        service = "receive-pack" if "receive-pack" in path else "upload-pack"
        if service == "receive-pack" and (who is None or not who.may("contents", "write")):
            if who is None:
                return 401, b"", {"WWW-Authenticate": 'Basic realm="GitHub"'}
            return 403, f"Permission to {self.repository}.git denied to {who.login}.\n".encode(), {}
        route, _, query = path.partition("?")
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(self.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": route,
            "QUERY_STRING": query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": who.login if who else "",
            "REMOTE_ADDR": "127.0.0.1",
            "E2E_PUSHER": json.dumps(who.summary() if who else {}),
        }
        if headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = headers["Content-Encoding"]
        if headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = headers["Git-Protocol"]
        pushing = method == "POST" and route.endswith("git-receive-pack")
        with self.lock:
            before = self._refs() if pushing else None
            result = subprocess.run(["git", "http-backend"], env=env, input=body, capture_output=True)
            if pushing:
                after = self._refs()
                updates = [
                    (ref, before.get(ref, ZERO), after.get(ref, ZERO))
                    for ref in sorted(set(before) | set(after))
                    if before.get(ref) != after.get(ref)
                ]
                if updates:
                    self.record_push(who, updates)
        head, _, content = result.stdout.partition(b"\r\n\r\n")
        status, response_headers = 200, {}
        for line in head.decode(errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                response_headers[name.strip()] = value.strip()
        return status, content, response_headers

    def _refs(self) -> dict[str, str]:
        listing = self._git("for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split() for line in listing.splitlines() if line)

    def _cml_asset(self, body: bytes, headers):
        """CML's asset host (asset.cml.dev): it stores the upload and answers its address."""
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            self.cml_assets[digest] = body
        return 200, f"https://asset.cml.dev/{digest}".encode(), {"Content-Type": "text/plain"}

    # -- the REST API -----------------------------------------------------------------------------------------------

    def _api(self, method: str, path: str, headers, raw: bytes):
        who = self._identity(headers)
        parsed = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        body: object = raw
        if raw and not parsed.path.startswith("/api/uploads/"):  # GitHub reads a JSON body whatever its type
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return 400, {"message": "Problems parsing JSON"}, {}
        with self.lock:
            record = Recorded(method, path, body if isinstance(body, dict) else {"bytes": len(raw)}, who)
            self.requests.append(record)
            headers_out: dict[str, str] = {}
            try:
                if parsed.path.startswith("/api/uploads/"):
                    if who is None:
                        raise Forbidden(401, "Requires authentication")
                    status, payload = self._upload(parsed.path, query, raw, who, headers)
                elif parsed.path.startswith("/api/v3/"):
                    status, payload, headers_out = self._route(
                        method, parsed.path[len("/api/v3") :], query, body, who, headers
                    )
                else:
                    status, payload = 404, {"message": "Not Found"}
            except Forbidden as refusal:
                status, payload = (
                    refusal.status,
                    {"message": refusal.message, "documentation_url": "https://docs.github.com/rest"},
                )
            except Exception as error:  # a bug of the fake: the test fails on it (see `errors`)
                import traceback

                self.errors.append(f"{method} {path}: {traceback.format_exc()}")
                status, payload = 500, {"message": f"fake GitHub error: {error!r}"}
            record.status, record.response = status, payload
            return status, payload, headers_out

    def _require(self, who: Identity | None, scope: str, level: str) -> Identity:
        if who is None:
            raise Forbidden(401, "Requires authentication")
        if not who.may(scope, level):
            raise Forbidden(
                403,
                "Resource not accessible by integration"
                if who.is_bot
                else "Must have admin rights to Repository.",
            )
        return who

    def _page(self, items: list, query: dict, path: str) -> tuple[list, dict[str, str]]:
        """One page of a list, with GitHub's Link header (per_page: 30 by default, at most 100)."""
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        base = {key: value for key, value in query.items() if key != "page"}

        def link(number: int, rel: str) -> str:
            url = f"{self.api_url}{path}?{urllib.parse.urlencode({**base, 'page': number})}"
            return f'<{url}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _route(self, method: str, path: str, query: dict, body, who: Identity | None, headers):
        if method == "GET" and (match := re.fullmatch(r"/users/([\w.\[\]-]+)", path)):
            login = match[1]
            user = self.users.get(login)
            public = schemas.example(
                "public-user",
                login=login,
                id=user.user_id if user else 5000 + len(login),
                type="User",
                html_url=f"https://github.com/{login}",
            )
            return 200, public, {}
        if method == "GET" and (match := re.fullmatch(r"/orgs/([\w-]+)/teams/([\w-]+)", path)):
            return 200, schemas.example("team-full", id=4242, slug=match[2], name=match[2]), {}
        if match := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path):
            return self._installation_token(int(match[1]), headers, body)
        prefix = f"/repos/{self.repository}"
        if path == prefix and method == "GET":
            return 200, self._repository(), {}
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(prefix) + 1 :]
        if rest == "installation" and method == "GET":
            app = self._app_from_jwt(headers)
            return (
                200,
                schemas.example(
                    "installation", id=app["installation_id"], app_id=app["id"], app_slug=app["slug"]
                ),
                {},
            )
        if who is None:
            raise Forbidden(401, "Requires authentication")
        asset = re.fullmatch(r"releases/assets/(\d+)", rest)
        if asset and method == "GET" and "octet-stream" in headers.get("Accept", ""):
            status, payload = self._get_asset(who, query, body, asset[1])  # "Get a release asset": its bytes
            if status != 200:
                return status, payload, {}
            return 302, None, {"Location": f"{self.url}/storage/assets/{payload['id']}?sig=e2e"}
        for pattern, handlers in ROUTES:
            if (match := re.fullmatch(pattern, rest)) and method in handlers:
                result = handlers[method](self, who, query, body, *match.groups())
                status, payload = result[0], result[1]
                extra = result[2] if len(result) > 2 else {}
                return status, payload, extra
        return 404, {"message": "Not Found"}, {}

    # -- objects, shaped by GitHub's REST description -------------------------------------------------------------

    def _user(self, login: str, user_id: int, bot: bool = False) -> dict:
        return schemas.example(
            "simple-user",
            login=login,
            id=user_id,
            type="Bot" if bot or login.endswith("[bot]") else "User",
            html_url=f"https://github.com/{login}",
            url=f"{self.api_url}/users/{login}",
        )

    def _user_of(self, identity: Identity) -> dict:
        return self._user(identity.login, identity.user_id, identity.is_bot)

    def _repository(self) -> dict:
        owner = self.users.get(self.owner)
        return schemas.example(
            "full-repository",
            id=4711,
            name=self.name,
            full_name=self.repository,
            owner=self._user(self.owner, owner.user_id if owner else 9999),
            private=self.visibility != "public",
            visibility=self.visibility,
            default_branch="main",
            html_url=f"https://github.com/{self.repository}",
            clone_url=self.clone_url,
            url=f"{self.api_url}/repos/{self.repository}",
        )

    def _repo(self, full_name: str | None = None) -> dict:
        """A repository as pull requests carry it (the `repository` schema, lighter than full-repository)."""
        full_name = full_name or self.repository
        owner, name = full_name.split("/")
        return schemas.example(
            "repository",
            id=4711 if full_name == self.repository else 4712,
            name=name,
            full_name=full_name,
            owner=self._user(owner, 9999 if owner == self.owner else 777),
            private=self.visibility != "public",
            visibility=self.visibility,
            fork=full_name != self.repository,
            default_branch="main",
            html_url=f"https://github.com/{full_name}",
            clone_url=f"{self.url}/{full_name}.git",
            url=f"{self.api_url}/repos/{full_name}",
        )

    def _pull_json(self, pull: dict) -> dict:
        author = self.users.get(pull["user"]) or Identity("user", pull["user"], 1, role="none")
        head_owner = pull["head_repo"].split("/")[0]
        repo = self._repo()
        head_repo = self._repo(pull["head_repo"])
        return schemas.example(
            "pull-request",
            id=pull["id"],
            number=pull["number"],
            state=pull["state"],
            title=pull["title"],
            body=pull["body"],
            user=self._user(pull["user"], author.user_id, pull["user_type"] == "Bot"),
            labels=[
                schemas.example("label", id=n, name=name, color="ededed", description="")
                for n, name in enumerate(pull["labels"])
            ],
            head={
                "label": f"{head_owner}:{pull['head_ref']}",
                "ref": pull["head_ref"],
                "sha": pull["head_sha"],
                "repo": head_repo,
                "user": self._user(head_owner, 777),
            },
            base={
                "label": f"{self.owner}:{pull['base_ref']}",
                "ref": pull["base_ref"],
                "sha": pull.get("base_sha", ""),
                "repo": repo,
                "user": self._user(self.owner, 9999),
            },
            html_url=f"https://github.com/{self.repository}/pull/{pull['number']}",
            url=f"{self.api_url}/repos/{self.repository}/pulls/{pull['number']}",
            merged=pull["merged"],
            merge_commit_sha=pull["merge_commit_sha"],
            merged_at=schemas.NOW if pull["merged"] else None,
            merged_by=self._user(pull["merged_by"], self.users[pull["merged_by"]].user_id)
            if pull["merged_by"]
            else None,
            mergeable=pull.get("mergeable"),
            author_association=ASSOCIATION.get(author.role, "NONE")
            if pull["head_repo"] == self.repository or author.role in WRITE_ROLES
            else "CONTRIBUTOR",
            draft=False,
            **self._diff_counts(pull),
        )

    def _diff_counts(self, pull: dict) -> dict:
        """What GitHub counts of a pull request's diff (base...head): its files, commits and lines."""
        merge_base = self._git("merge-base", pull["base_sha"], pull["head_sha"])
        numstat = self._git("diff", "--numstat", merge_base, pull["head_sha"]).splitlines()
        lines = [line.split("\t", 2) for line in numstat]
        return {
            "changed_files": len(lines),
            "commits": int(self._git("rev-list", "--count", f"{merge_base}..{pull['head_sha']}")),
            "additions": sum(int(added) for added, _, _ in lines if added.isdigit()),
            "deletions": sum(int(deleted) for _, deleted, _ in lines if deleted.isdigit()),
        }

    def _comment_json(self, comment: dict) -> dict:
        user = self.users.get(comment["user"]) or Identity(
            "github_token", comment["user"], comment["user_id"]
        )
        return schemas.example(
            "issue-comment",
            id=comment["id"],
            body=comment["body"],
            user=self._user(comment["user"], comment["user_id"], comment["bot"]),
            html_url=f"https://github.com/{self.repository}/pull/{comment['issue']}#issuecomment-{comment['id']}",
            issue_url=f"{self.api_url}/repos/{self.repository}/issues/{comment['issue']}",
            url=f"{self.api_url}/repos/{self.repository}/issues/comments/{comment['id']}",
            created_at=comment["created_at"],
            updated_at=comment["updated_at"],
            author_association=ASSOCIATION.get(user.role, "NONE") if not comment["bot"] else "NONE",
        )

    def _release_json(self, release: dict) -> dict:
        assets = [
            self._asset_json(release["id"], name, asset)
            for name, asset in self.assets.get(release["id"], {}).items()
        ]
        return schemas.example(
            "release",
            id=release["id"],
            tag_name=release["tag_name"],
            name=release.get("name"),
            body=release.get("body"),
            draft=release.get("draft", False),
            prerelease=False,
            target_commitish=release.get("target_commitish", "main"),
            author=self._user(*ACTIONS_BOT),
            upload_url=f"{self.url}/api/uploads/repos/{self.repository}/releases/{release['id']}/assets{{?name,label}}",
            html_url=f"https://github.com/{self.repository}/releases/tag/{release['tag_name']}",
            url=f"{self.api_url}/repos/{self.repository}/releases/{release['id']}",
            published_at=None if release.get("draft") else schemas.NOW,
            assets=assets,
        )

    def _asset_json(self, release_id: int, name: str, asset: dict) -> dict:
        return schemas.example(
            "release-asset",
            id=asset["id"],
            name=name,
            size=len(asset["data"]),
            content_type=asset["content_type"],
            digest=f"sha256:{hashlib.sha256(asset['data']).hexdigest()}",
            state="uploaded",
            uploader=self._user(*ACTIONS_BOT),
            browser_download_url=f"https://github.com/{self.repository}/releases/download/x/{name}",
            url=f"{self.api_url}/repos/{self.repository}/releases/assets/{asset['id']}",
        )

    # -- GitHub Apps -----------------------------------------------------------------------------------------------

    def _app_from_jwt(self, headers) -> dict:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        token = headers.get("Authorization", "").partition(" ")[2]
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=="))
            app_id = next(i for i, a in self.apps.items() if str(claims["iss"]) in (a["client_id"], str(i)))
            app = self.apps[app_id]
            key = serialization.load_pem_public_key(app["public_key"])
            key.verify(
                base64.urlsafe_b64decode(signature_b64 + "=="),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, KeyError, StopIteration, InvalidSignature) as error:
            raise Forbidden(401, f"A JSON web token could not be decoded ({type(error).__name__})") from None
        return {**app, "id": app_id}

    def _installation_token(self, installation_id: int, headers, body):
        app = self._app_from_jwt(headers)
        if app["installation_id"] != installation_id:
            raise Forbidden(404, "Not Found")
        asked = (body or {}).get("permissions") if isinstance(body, dict) else None
        permissions = dict(app["permissions"])
        if asked:
            if any(permissions.get(scope) != "write" and level == "write" for scope, level in asked.items()):
                raise Forbidden(422, "The permissions requested are not granted to this installation.")
            permissions = asked
        token = f"ghs_app{next(self.ids)}"
        self.tokens[token] = Identity(
            "app", f"{app['slug']}[bot]", 800_000 + app["id"], permissions=permissions, app_id=app["id"]
        )
        return (
            201,
            schemas.example(
                "installation-token", token=token, expires_at=schemas.NOW, permissions=permissions
            ),
            {},
        )

    # -- route handlers (self, who, query, body, *path groups) -> (status, payload[, headers]) ---------------------

    def _list_pulls(self, who, query, body):
        self._require(who, "pull_requests", "read")
        state = query.get("state", "open")
        pulls = [p for p in self.pulls.values() if state == "all" or p["state"] == state]
        if "head" in query:
            owner, _, branch = query["head"].partition(":")
            pulls = [p for p in pulls if p["head_ref"] == branch and p["head_repo"].split("/")[0] == owner]
        page, links = self._page(
            [self._pull_json(p) for p in sorted(pulls, key=lambda p: -p["number"])],
            query,
            f"/repos/{self.repository}/pulls",
        )
        return 200, page, links

    def _create_pull(self, who, query, body):
        self._require(who, "pull_requests", "write")
        if who.kind == "github_token" and not self.workflow_permissions["can_approve_pull_request_reviews"]:
            raise Forbidden(403, "GitHub Actions is not permitted to create or approve pull requests.")
        head, base = body["head"], body["base"]
        owner, _, branch = head.rpartition(":")
        sha = self.ref(f"refs/heads/{branch}")
        if sha is None:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            }
        if any(p["head_ref"] == branch and p["state"] == "open" for p in self.pulls.values()):
            return 422, {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {self.owner}:{branch}.",
                    }
                ],
            }
        number = next(self.numbers)
        pull = self._new_pull(
            number, who, body.get("title", ""), body.get("body") or "", branch, sha, self.repository, base
        )
        self.pulls[number] = pull
        self._update_merge_ref(pull)
        self._emit("pull_request", "opened", who, number=number)
        return 201, self._pull_json(pull)

    def _get_pull(self, who, query, body, number):
        self._require(who, "pull_requests", "read")
        pull = self.pulls.get(int(number))
        return (200, self._pull_json(pull)) if pull else (404, {"message": "Not Found"})

    def _update_pull(self, who, query, body, number):
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        if who.login != pull["user"]:
            self._require(who, "pull_requests", "write")
        if body.get("state") == "closed" and pull["state"] == "open":
            pull["state"] = "closed"
            self._emit("pull_request", "closed", who, number=pull["number"])
        return 200, self._pull_json(pull)

    def _pull_files(self, who, query, body, number):
        self._require(who, "pull_requests", "read")
        if int(number) not in self.pulls:
            return 404, {"message": "Not Found"}
        files = [
            schemas.example(
                "diff-entry",
                filename=name,
                status="modified",
                sha="0" * 40,
                blob_url="https://github.com/",
                raw_url="https://github.com/",
                contents_url="https://github.com/",
            )
            for name in self.changed_files(int(number))[:MAX_PULL_FILES]  # GitHub lists at most 3,000
        ]
        page, links = self._page(files, query, f"/repos/{self.repository}/pulls/{number}/files")
        return 200, page, links

    def _review(self, who, query, body, number):
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        if who.is_bot:
            self._require(who, "pull_requests", "write")
            if (
                who.kind == "github_token"
                and body.get("event") == "APPROVE"
                and not self.workflow_permissions["can_approve_pull_request_reviews"]
            ):
                raise Forbidden(403, "GitHub Actions is not permitted to create or approve pull requests.")
        if who.login == pull["user"] and body.get("event") in ("APPROVE", "REQUEST_CHANGES"):
            return 422, {
                "message": "Unprocessable Entity",
                "errors": ["Can not approve your own pull request"],
            }
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}[
            body["event"]
        ]
        role = who.role if who.kind == "user" else "none"
        review = {
            "id": next(self.ids),
            "user": who.login,
            "user_id": who.user_id,
            "state": state,
            "commit_id": body.get("commit_id") or pull["head_sha"],
            "body": body.get("body", ""),
            "author_association": ASSOCIATION.get(role, "NONE"),
        }
        self.reviews.setdefault(pull["number"], []).append(review)
        self._emit("pull_request_review", "submitted", who, number=pull["number"], review=review)
        return 200, self._review_json(pull, review)

    def _list_reviews(self, who, query, body, number):
        """GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews: oldest first, paginated (pulls/list-reviews)."""
        self._require(who, "pull_requests", "read")
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        reviews = [self._review_json(pull, review) for review in self.reviews.get(pull["number"], [])]
        page, links = self._page(reviews, query, f"/repos/{self.repository}/pulls/{number}/reviews")
        return 200, page, links

    def _review_json(self, pull, review):
        return schemas.example(
            "pull-request-review",
            id=review["id"],
            user=self._user(review["user"], review["user_id"]),
            body=review["body"],
            state=review["state"],
            commit_id=review["commit_id"],
            author_association=review["author_association"],
            html_url=f"https://github.com/{self.repository}/pull/{pull['number']}#pullrequestreview-{review['id']}",
            pull_request_url=f"{self.api_url}/repos/{self.repository}/pulls/{pull['number']}",
        )

    def _merge_pull(self, who, query, body, number):
        self._require(who, "contents", "write")
        pull = self.pulls.get(int(number))
        if pull is None:
            return 404, {"message": "Not Found"}
        if pull["state"] != "open":
            return 405, {"message": "Pull Request is not mergeable"}
        blockers = self.merge_blockers(pull["number"])
        if blockers:
            return 405, {"message": "Repository rule violations found\n\n" + "\n".join(blockers)}
        sha = self.merge(pull["number"], who)
        return 200, schemas.example(
            "pull-request-merge-result", sha=sha, merged=True, message="Pull Request successfully merged"
        )

    def _commit_pulls(self, who, query, body, sha):
        self._require(who, "pull_requests", "read")
        found = [p for p in self.pulls.values() if sha in (p["head_sha"], p["merge_commit_sha"])]
        return 200, [
            schemas.example(
                "pull-request-simple",
                **{
                    k: v for k, v in self._pull_json(p).items() if k in schemas.example("pull-request-simple")
                },
            )
            for p in found
        ]

    def _list_comments(self, who, query, body, number):
        if not (who.may("pull_requests", "read") or who.may("issues", "read")):
            raise Forbidden(403, "Resource not accessible by integration")
        if int(number) not in self.pulls and int(number) not in self.issues:
            return 404, {"message": "Not Found"}
        comments = [self._comment_json(c) for c in self.comments_on(int(number))]
        page, links = self._page(comments, query, f"/repos/{self.repository}/issues/{number}/comments")
        return 200, page, links

    def _create_comment(self, who, query, body, number):
        number = int(number)
        if number not in self.pulls and number not in self.issues:
            return 404, {"message": "Not Found"}
        if who.is_bot:
            scope = "pull_requests" if number in self.pulls else "issues"
            if not (who.may(scope, "write") or who.may("issues", "write")):
                raise Forbidden(403, "Resource not accessible by integration")
        comment = {
            "id": next(self.ids),
            "issue": number,
            "body": body["body"],
            "user": who.login,
            "user_id": who.user_id,
            "bot": who.is_bot,
            "created_at": schemas.NOW,
            "updated_at": schemas.NOW,
            "created_by": who.summary(),
        }
        self.comments[comment["id"]] = comment
        self._emit("issue_comment", "created", who, number=number, comment=comment["id"])
        return 201, self._comment_json(comment)

    def _update_comment(self, who, query, body, comment_id):
        comment = self.comments.get(int(comment_id))
        if comment is None:
            return 404, {"message": "Not Found"}
        if who.login != comment["user"]:
            scope = "pull_requests" if comment["issue"] in self.pulls else "issues"
            if not (who.may(scope, "write") or who.may("issues", "write")):
                raise Forbidden(403, "Resource not accessible by integration" if who.is_bot else "Forbidden")
        comment.update(body=body["body"], updated_at=schemas.NOW)
        self._emit("issue_comment", "edited", who, number=comment["issue"], comment=comment["id"])
        return 200, self._comment_json(comment)

    def _create_status(self, who, query, body, sha):
        self._require(who, "statuses", "write")
        status = {
            "id": next(self.ids),
            "sha": sha,
            "state": body["state"],
            "context": body.get("context", "default"),
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "creator": who.login,
            "app_id": who.app_id,
            "created_by": who.summary(),
        }
        self.statuses.append(status)
        return 201, self._status_json(status)

    def _status_json(self, status):
        creator = self.users.get(status["creator"])
        return schemas.example(
            "status",
            id=status["id"],
            state=status["state"],
            context=status["context"],
            description=status["description"],
            target_url=status["target_url"],
            creator=self._user(status["creator"], creator.user_id if creator else ACTIONS_BOT[1]),
            url=f"{self.api_url}/repos/{self.repository}/statuses/{status['sha']}",
        )

    def _list_statuses(self, who, query, body, ref):
        self._require(who, "statuses", "read")
        sha = self.ref(ref) or ref
        found = [self._status_json(s) for s in reversed(self.statuses_of(sha))]
        page, links = self._page(found, query, f"/repos/{self.repository}/commits/{ref}/statuses")
        return 200, page, links

    def _list_releases(self, who, query, body):
        self._require(who, "contents", "read")
        releases = [self._release_json(r) for r in sorted(self.releases.values(), key=lambda r: -r["id"])]
        page, links = self._page(releases, query, f"/repos/{self.repository}/releases")
        return 200, page, links

    def _release_by_tag(self, who, query, body, tag):
        self._require(who, "contents", "read")
        tag = urllib.parse.unquote(tag)
        found = [r for r in self.releases.values() if r["tag_name"] == tag and not r.get("draft")]
        return (200, self._release_json(found[0])) if found else (404, {"message": "Not Found"})

    def _create_release(self, who, query, body):
        self._require(who, "contents", "write")
        if any(r["tag_name"] == body["tag_name"] and not r.get("draft") for r in self.releases.values()):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
            }
        release = {"id": next(self.ids), **body, "created_by": who.summary()}
        self.releases[release["id"]] = release
        self.assets[release["id"]] = {}
        return 201, self._release_json(release)

    def _update_release(self, who, query, body, release_id):
        self._require(who, "contents", "write")
        release = self.releases.get(int(release_id))
        if release is None:
            return 404, {"message": "Not Found"}
        release.update(body)
        return 200, self._release_json(release)

    def _delete_release(self, who, query, body, release_id):
        self._require(who, "contents", "write")
        if self.releases.pop(int(release_id), None) is None:
            return 404, {"message": "Not Found"}
        self.assets.pop(int(release_id), None)
        return 204, None

    def _list_assets(self, who, query, body, release_id):
        self._require(who, "contents", "read")
        if int(release_id) not in self.releases:
            return 404, {"message": "Not Found"}
        assets = [self._asset_json(int(release_id), n, a) for n, a in self.assets[int(release_id)].items()]
        page, links = self._page(assets, query, f"/repos/{self.repository}/releases/{release_id}/assets")
        return 200, page, links

    def _upload(self, path: str, query: dict, data: bytes, who: Identity, headers):
        self._require(who, "contents", "write")
        match = re.fullmatch(rf"/api/uploads/repos/{re.escape(self.repository)}/releases/(\d+)/assets", path)
        if not match or int(match[1]) not in self.assets:
            return 404, {"message": "Not Found"}
        name = query.get("name", "")
        if name in self.failing_uploads:
            self.failing_uploads.remove(name)
            return 502, {"message": "Server Error"}
        if name in self.assets[int(match[1])]:
            return 422, {
                "message": "Validation Failed",
                "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}],
            }
        asset = {
            "id": next(self.ids),
            "data": data,
            "content_type": headers.get("Content-Type", "application/octet-stream"),
        }
        self.assets[int(match[1])][name] = asset
        return 201, self._asset_json(int(match[1]), name, asset)

    def _create_attestation(self, who, query, body):
        self._require(who, "attestations", "write")
        attestation_id = next(self.ids)
        self.attestations[attestation_id] = body["bundle"]
        return 201, {"id": attestation_id}

    def _list_attestations(self, who, query, body, digest):
        self._require(who, "attestations", "read") if who.is_bot else None
        found = [
            {"bundle": bundle, "repository_id": 4711}
            for bundle in self.attestations.values()
            if digest.removeprefix("sha256:") in attested_digests(bundle)
        ]
        return 200, {"attestations": found}

    def _put_environment(self, who, query, body, name):
        self._require(who, "administration", "admin")
        existing = self.environments.get(name, {})
        self.environments[name] = {
            "id": existing.get("id", next(self.ids)),
            "name": name,
            "settings": copy.deepcopy(body or {}),
            "branch_policies": existing.get("branch_policies", []),
        }
        return 200, self._environment_json(self.environments[name])

    def _environment_json(self, environment: dict) -> dict:
        settings = environment["settings"]
        rules = []
        if settings.get("reviewers"):
            rules.append(
                {
                    "id": 1,
                    "node_id": "x",
                    "type": "required_reviewers",
                    "prevent_self_review": bool(settings.get("prevent_self_review")),
                    "reviewers": [],
                }
            )
        return schemas.example(
            "environment",
            id=environment["id"],
            name=environment["name"],
            url=f"{self.api_url}/repos/{self.repository}/environments/{environment['name']}",
            html_url=f"https://github.com/{self.repository}/deployments/activity_log?environments_filter={environment['name']}",
            protection_rules=rules,
            deployment_branch_policy=settings.get("deployment_branch_policy"),
        )

    def _custom_policies(self, name: str) -> dict | None:
        environment = self.environments.get(name)
        policy = (environment or {}).get("settings", {}).get("deployment_branch_policy") or {}
        return environment if environment is not None and policy.get("custom_branch_policies") else None

    def _list_branch_policies(self, who, query, body, name):
        environment = self._custom_policies(name)
        if environment is None:
            return 404, {"message": "Not Found"}
        policies = [self._policy_json(p) for p in environment["branch_policies"]]
        page, links = self._page(
            policies, query, f"/repos/{self.repository}/environments/{name}/deployment-branch-policies"
        )
        return 200, {"total_count": len(policies), "branch_policies": page}, links

    def _create_branch_policy(self, who, query, body, name):
        self._require(who, "administration", "admin")
        environment = self._custom_policies(name)
        if environment is None:
            return 404, {"message": "Not Found"}
        kind = body.get("type", "branch")
        for policy in environment["branch_policies"]:
            if policy["name"] == body["name"] and policy["type"] == kind:  # GitHub answers 303 See Other
                location = f"{self.api_url}/repos/{self.repository}/environments/{name}/deployment-branch-policies/{policy['id']}"
                return 303, None, {"Location": location}
        environment["branch_policies"].append({"id": next(self.ids), "name": body["name"], "type": kind})
        return 200, self._policy_json(environment["branch_policies"][-1])

    def _delete_branch_policy(self, who, query, body, name, policy_id):
        self._require(who, "administration", "admin")
        environment = self._custom_policies(name)
        found = [p for p in (environment or {}).get("branch_policies", []) if p["id"] == int(policy_id)]
        if not found:
            return 404, {"message": "Not Found"}
        environment["branch_policies"].remove(found[0])
        return 204, None

    def _policy_json(self, policy):
        return schemas.example(
            "deployment-branch-policy", id=policy["id"], node_id="x", name=policy["name"], type=policy["type"]
        )

    def _list_rulesets(self, who, query, body):
        self._require(who, "metadata", "read") if who.is_bot else None
        include_parents = query.get("includes_parents", "true") != "false"
        found = [r for r in self.rulesets.values() if include_parents or r["source_type"] == "Repository"]
        items = [self._ruleset_json(r, summary=True) for r in found]
        page, links = self._page(items, query, f"/repos/{self.repository}/rulesets")
        return 200, page, links

    def _branch_rules(self, who, query, body, branch):
        """GET rules/branches/{branch}: every rule of the active branch rulesets that apply to it (an organisation's
        too), each with the ruleset it comes from."""
        self._require(who, "metadata", "read") if who.is_bot else None
        items = [
            {
                **rule,
                "ruleset_source_type": ruleset["source_type"],
                "ruleset_source": ruleset["source"],
                "ruleset_id": ruleset["id"],
            }
            for ruleset in self.rulesets.values()
            if ruleset.get("target", "branch") == "branch"
            and ruleset.get("enforcement") == "active"
            and self._ruleset_matches(ruleset, f"refs/heads/{urllib.parse.unquote(branch)}")
            for rule in ruleset.get("rules", [])
        ]
        page, links = self._page(items, query, f"/repos/{self.repository}/rules/branches/{branch}")
        return 200, page, links

    def _ruleset_json(self, ruleset: dict, summary: bool = False) -> dict:
        fields = {
            k: v
            for k, v in ruleset.items()
            if k not in ("rules", "conditions", "bypass_actors") or not summary
        }
        return schemas.example("repository-ruleset", **fields)

    def add_organization_ruleset(self, body: dict) -> int:
        """A ruleset of the owning organisation: listed by the repository endpoint unless includes_parents=false."""
        with self.lock:
            ruleset = {"id": next(self.ids), **body, "source_type": "Organization", "source": self.owner}
            self.rulesets[ruleset["id"]] = ruleset
            self._write_rulesets()
            return ruleset["id"]

    def _create_ruleset(self, who, query, body):
        self._require(who, "administration", "admin")
        ruleset = {"id": next(self.ids), **body, "source_type": "Repository", "source": self.repository}
        self.rulesets[ruleset["id"]] = ruleset
        self._write_rulesets()
        return 201, self._ruleset_json(ruleset)

    def _update_ruleset(self, who, query, body, ruleset_id):
        self._require(who, "administration", "admin")
        ruleset = self.rulesets.get(int(ruleset_id))
        if ruleset is None or ruleset["source_type"] != "Repository":
            return 404, {"message": "Not Found"}
        ruleset.update(body)
        self._write_rulesets()
        return 200, self._ruleset_json(ruleset)

    def _get_workflow_permissions(self, who, query, body):
        self._require(who, "administration", "read")
        return 200, dict(self.workflow_permissions)

    def _set_workflow_permissions(self, who, query, body):
        self._require(who, "administration", "admin")
        self.workflow_permissions.update({k: v for k, v in body.items() if k in self.workflow_permissions})
        return 204, None

    def _dispatch_workflow(self, who, query, body, workflow):
        """GitHub's checks (REST "Create a workflow dispatch event"): the ref exists, its workflow file has a
        workflow_dispatch trigger, every required input is given, no other input is; defaults fill the rest."""
        self._require(who, "actions", "write")
        ref = body.get("ref", "main")
        short = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        sha = self.ref(f"refs/heads/{short}") or self.ref(f"refs/tags/{short}")
        if sha is None:
            return 422, {"message": f"No ref found for: {ref}"}
        try:
            text = self._git("show", f"{sha}:.github/workflows/{workflow}")
        except RuntimeError:
            return 404, {"message": "Not Found"}
        on = triggers(yaml.safe_load(text))
        if "workflow_dispatch" not in on:
            return 422, {"message": "Workflow does not have 'workflow_dispatch' trigger"}
        declared = on["workflow_dispatch"].get("inputs") or {}
        given = dict(body.get("inputs") or {})
        unexpected = sorted(set(given) - set(declared))
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {json.dumps(unexpected)}"}
        for name, spec in declared.items():
            if name not in given:
                if (spec or {}).get("required") and "default" not in (spec or {}):
                    return 422, {"message": f"Required input '{name}' not provided"}
                if "default" in (spec or {}):
                    given[name] = spec["default"]
        self._emit("workflow_dispatch", None, who, workflow=workflow, ref=ref, inputs=given)
        return 204, None

    def _repository_dispatch(self, who, query, body):
        self._require(who, "contents", "write")
        self._emit(
            "repository_dispatch", body["event_type"], who, client_payload=body.get("client_payload") or {}
        )
        return 204, None

    def _collaborator_permission(self, who, query, body, login):
        self._require(who, "metadata", "read") if who.is_bot else None
        user = self.users.get(login)
        role = user.role if user else "none"
        permission = {
            "admin": "admin",
            "maintain": "write",
            "write": "write",
            "triage": "read",
            "read": "read",
        }.get(role, "none")
        collaborator = schemas.example(
            "collaborator",
            login=login,
            id=user.user_id if user else 1,
            role_name=role,
            permissions={
                "admin": role == "admin",
                "maintain": role in ("admin", "maintain"),
                "push": permission in ("admin", "write"),
                "triage": role != "read",
                "pull": True,
            },
        )
        return 200, schemas.example(
            "repository-collaborator-permission", permission=permission, role_name=role, user=collaborator
        )

    def _add_labels(self, who, query, body, number):
        self._require(who, "issues", "write") if who.is_bot else None
        target = self.pulls.get(int(number)) or self.issues.get(int(number))
        if target is None:
            return 404, {"message": "Not Found"}
        if who.kind == "user" and who.role not in ("admin", "maintain", "write", "triage"):
            raise Forbidden(403, "Must have triage access to label")
        added = sorted(set(body.get("labels", [])) - set(target["labels"]))
        target["labels"] = sorted(set(target["labels"]) | set(body.get("labels", [])))
        if int(number) in self.pulls:
            for name in added:
                self._emit("pull_request", "labeled", who, number=int(number), label=name)
        labels = [
            schemas.example("label", id=i, name=name, color="ededed")
            for i, name in enumerate(target["labels"])
        ]
        return 200, labels

    def _remove_label(self, who, query, body, number, name):
        self._require(who, "issues", "write") if who.is_bot else None
        target = self.pulls.get(int(number)) or self.issues.get(int(number))
        name = urllib.parse.unquote(name)
        if target is None or name not in target["labels"]:
            return 404, {"message": "Label does not exist"}
        if who.kind == "user" and who.role not in ("admin", "maintain", "write", "triage"):
            raise Forbidden(403, "Must have triage access to label")
        target["labels"] = [label for label in target["labels"] if label != name]
        if int(number) in self.pulls:
            self._emit("pull_request", "unlabeled", who, number=int(number), label=name)
        labels = [
            schemas.example("label", id=i, name=label, color="ededed")
            for i, label in enumerate(target["labels"])
        ]
        return 200, labels

    # -- deployments: "Create a deployment", "Create a deployment status" (auto_inactive), and their lists --------

    def _create_deployment(self, who, query, body):
        self._require(who, "deployments", "write")
        ref = str(body.get("ref", ""))
        sha = self._commit_of(ref)
        if sha is None:
            return 422, {"message": f"No ref found for: {ref}"}
        if body.get("auto_merge", True):  # merging the default branch into the ref is not modelled: say so
            return 409, {"message": "auto_merge is not modelled by the fake: pass auto_merge: false"}
        if "required_contexts" not in body:  # every context of the commit must be success
            failed = sorted({s["context"] for s in self.statuses_of(sha) if s["state"] != "success"})
            if failed:
                return 409, {"message": f"Conflict: Commit status checks failed for {ref}."}
        deployment = {
            "id": next(self.ids),
            "sha": sha,
            "ref": ref,
            "task": body.get("task", "deploy"),
            "environment": body.get("environment", "production"),
            "payload": body.get("payload") or {},
            "description": body.get("description", ""),
            "transient_environment": bool(body.get("transient_environment", False)),
            "production_environment": bool(
                body.get("production_environment", body.get("environment", "production") == "production")
            ),
            "creator": who,
        }
        self.deployments[deployment["id"]] = deployment
        self.deployment_statuses[deployment["id"]] = []
        return 201, self._deployment_json(deployment)

    def _list_deployments(self, who, query, body):
        self._require(who, "deployments", "read")
        listed = [
            self._deployment_json(d)
            for d in reversed(self.deployments.values())  # newest first, as GitHub lists them
            if all(query.get(key) in (None, d[key]) for key in ("sha", "ref", "task", "environment"))
        ]
        page, links = self._page(listed, query, f"/repos/{self.repository}/deployments")
        return 200, page, links

    def _create_deployment_status(self, who, query, body, deployment_id):
        self._require(who, "deployments", "write")
        deployment = self.deployments.get(int(deployment_id))
        if deployment is None:
            return 404, {"message": "Not Found"}
        states = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
        if body.get("state") not in states:
            return 422, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]}
        status = self._deployment_status(deployment, body["state"], body, who)
        if body["state"] == "success" and body.get("auto_inactive", True):
            # "Adds a new inactive status to all prior non-transient, non-production environment deployments
            # with the same repository and environment name ... only added to deployments that had a success state"
            for other, state in self.deployment_states(deployment["environment"]):
                prior = other["id"] < deployment["id"] and state == "success"
                if prior and not other["transient_environment"] and not other["production_environment"]:
                    self._deployment_status(other, "inactive", {}, self.actions_bot)
        return 201, status

    def _list_deployment_statuses(self, who, query, body, deployment_id):
        self._require(who, "deployments", "read")
        if int(deployment_id) not in self.deployments:
            return 404, {"message": "Not Found"}
        listed = list(reversed(self.deployment_statuses[int(deployment_id)]))
        page, links = self._page(
            listed, query, f"/repos/{self.repository}/deployments/{deployment_id}/statuses"
        )
        return 200, page, links

    def _deployment_status(self, deployment: dict, state: str, body: dict, who: Identity) -> dict:
        status = schemas.example(
            "deployment-status",
            id=next(self.ids),
            state=state,
            description=body.get("description", ""),
            environment=deployment["environment"],
            log_url=body.get("log_url", ""),
            target_url=body.get("log_url", body.get("target_url", "")),
            creator=self._user_of(who),
            deployment_url=f"{self.api_url}/repos/{self.repository}/deployments/{deployment['id']}",
            repository_url=f"{self.api_url}/repos/{self.repository}",
            url=f"{self.api_url}/repos/{self.repository}/deployments/{deployment['id']}/statuses",
        )
        self.deployment_statuses[deployment["id"]].append(status)
        return status

    def _deployment_json(self, deployment: dict) -> dict:
        url = f"{self.api_url}/repos/{self.repository}/deployments/{deployment['id']}"
        return schemas.example(
            "deployment",
            id=deployment["id"],
            sha=deployment["sha"],
            ref=deployment["ref"],
            task=deployment["task"],
            payload=deployment["payload"],
            environment=deployment["environment"],
            original_environment=deployment["environment"],
            description=deployment["description"],
            transient_environment=deployment["transient_environment"],
            production_environment=deployment["production_environment"],
            creator=self._user_of(deployment["creator"]),
            url=url,
            statuses_url=f"{url}/statuses",
            repository_url=f"{self.api_url}/repos/{self.repository}",
        )

    def _commit_of(self, ref: str) -> str | None:
        """A deployment's ref: a branch, a tag or a commit SHA this repository holds."""
        for name in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if sha := self.ref(name):
                return self.ref(f"{name}^{{commit}}") or sha
        if re.fullmatch(r"[0-9a-f]{40}", ref) and self.ref(f"{ref}^{{commit}}"):
            return ref
        return None

    # -- downloads: a release asset or an artifact's zip answers 302 to storage that wants no token -----------------

    def _get_asset(self, who, query, body, asset_id):
        self._require(who, "contents", "read")
        for release_id, assets in self.assets.items():
            for name, asset in assets.items():
                if asset["id"] == int(asset_id):
                    return 200, self._asset_json(release_id, name, asset)
        return 404, {"message": "Not Found"}

    def _list_run_artifacts(self, who, query, body, run_id):
        self._require(who, "actions", "read")
        folder = self.artifact_store / run_id if self.artifact_store else None
        names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder and folder.is_dir() else []
        listed = [
            self._artifact_json(int(run_id), name) for name in names if query.get("name") in (None, name)
        ]
        page, links = self._page(listed, query, f"/repos/{self.repository}/actions/runs/{run_id}/artifacts")
        return 200, {"total_count": len(listed), "artifacts": page}, links

    def _download_artifact(self, who, query, body, artifact_id, archive_format):
        self._require(who, "actions", "read")
        found = [key for key, number in self.artifact_ids.items() if number == int(artifact_id)]
        if not found or archive_format != "zip":
            return 404, {"message": "Not Found"}
        return 302, None, {"Location": f"{self.url}/storage/artifacts/{artifact_id}.zip?sig=e2e"}

    def _artifact_json(self, run_id: int, name: str) -> dict:
        number = self.artifact_ids.setdefault((run_id, name), next(self.ids))
        url = f"{self.api_url}/repos/{self.repository}/actions/artifacts/{number}"
        return schemas.example(
            "artifact",
            id=number,
            name=name,
            size_in_bytes=len(self._artifact_zip(run_id, name)),
            expired=False,
            url=url,
            archive_download_url=f"{url}/zip",
            created_at=schemas.NOW,
            expires_at=schemas.NOW,
            updated_at=schemas.NOW,
            workflow_run={"id": run_id, "repository_id": 4711, "head_repository_id": 4711},
        )

    def _artifact_zip(self, run_id: int, name: str) -> bytes:
        """The artifact as GitHub serves it: a zip of its files, paths relative to the artifact's root."""
        import io
        import zipfile

        folder = self.artifact_store / str(run_id) / name
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                zipped.write(path, path.relative_to(folder).as_posix())
        return archive.getvalue()

    # -- workflow runs: GET actions/runs ("List workflow runs for a repository") ----------------------------------

    RUN_FILTERS = {
        "actor",
        "branch",
        "event",
        "status",
        "head_sha",
        "exclude_pull_requests",
        "per_page",
        "page",
    }

    def _list_workflow_runs(self, who, query, body):
        """The repository's workflow runs, newest first, narrowed as the description's parameters say: `actor` ("the
        login for the user who created the push associated with the check suite or workflow run"), `branch`,
        `event`, `status` ("the check run status or conclusion that you specify"), `head_sha` ("Only returns
        workflow runs that are associated with the specified head_sha"); `exclude_pull_requests` empties each run's
        `pull_requests`. A parameter the fake does not implement (`created`, `check_suite_id`) is a failure of the
        fake, never a silently unfiltered list. A token needs `actions: read` (fine-grained: "Actions" read)."""
        self._require(who, "actions", "read")
        unknown = sorted(set(query) - self.RUN_FILTERS)
        if unknown:
            raise NotImplementedError(f"GET actions/runs with {unknown}: the fake does not filter on them")
        listed = []
        for run in sorted(self.workflow_runs, key=lambda r: r.run_id, reverse=True):
            status, conclusion = self._run_state(run, who)
            if (
                query.get("head_sha", run.head_sha) == run.head_sha
                and query.get("event", run.event) == run.event
                and query.get("actor", run.who.login) == run.who.login
                and query.get("branch", run.head_branch) == run.head_branch
                and query.get("status") in (None, status, conclusion)
            ):
                listed.append(self._workflow_run_json(run, status, conclusion, query))
        page, links = self._page(listed, query, f"/repos/{self.repository}/actions/runs")
        return 200, {"total_count": len(listed), "workflow_runs": page}, links

    @staticmethod
    def _run_state(run, who) -> tuple[str, str | None]:
        """A run's `status` and `conclusion`. The rules run one workflow at a time, so the only run still going is
        the one whose log is not written yet (the one asking, when a run's token asks); a run recorded as started
        but not run here never ends, as the API shows it (in_progress); one waiting for a reviewer is `waiting`."""
        if not run.output or (who is not None and who.run_id == run.run_id):
            return "in_progress", None
        if run.conclusion in ("success", "failure"):
            return "completed", run.conclusion
        if run.conclusion == "waiting":
            return "waiting", None
        return "in_progress", None

    def _workflow_run_json(self, run, status: str, conclusion: str | None, query: dict) -> dict:
        url = f"{self.api_url}/repos/{self.repository}/actions/runs/{run.run_id}"
        path = f".github/workflows/{run.workflow}"
        workflow_id = self.workflow_ids.setdefault(run.workflow, next(self.ids))
        number = sum(1 for r in self.workflow_runs if r.workflow == run.workflow and r.run_id <= run.run_id)
        number_of = (run.payload.get("pull_request") or {}).get("number")
        own = self.pulls.get(number_of) if run.event in ("pull_request", "pull_request_target") else None
        head_repository = own["head_repo"] if own else self.repository
        # "Pull requests that are open with a head_sha or head_branch that matches the workflow run": this
        # repository's own; a fork's run lists none (as the workflow_run payload, github_rules.py).
        matching = [
            pull
            for pull in self.pulls.values()
            if head_repository == self.repository
            and pull["state"] == "open"
            and pull["head_repo"] == self.repository
            and (pull["head_sha"] == run.head_sha or pull["head_ref"] == run.head_branch)
        ]
        return schemas.example(
            "workflow-run",
            id=run.run_id,
            name=run.name,
            node_id=f"WFR_{run.run_id}",
            head_branch=run.head_branch,
            head_sha=run.head_sha,
            path=path,
            run_number=number,
            run_attempt=1,
            event=run.event,
            status=status,
            conclusion=conclusion,
            workflow_id=workflow_id,
            display_title=own["title"] if own else run.name,
            url=url,
            html_url=f"https://github.com/{self.repository}/actions/runs/{run.run_id}",
            jobs_url=f"{url}/jobs",
            logs_url=f"{url}/logs",
            check_suite_url=f"{self.api_url}/repos/{self.repository}/check-suites/{run.run_id}",
            cancel_url=f"{url}/cancel",
            rerun_url=f"{url}/rerun",
            artifacts_url=f"{url}/artifacts",
            workflow_url=f"{self.api_url}/repos/{self.repository}/actions/workflows/{workflow_id}",
            created_at=schemas.NOW,
            updated_at=schemas.NOW,
            run_started_at=schemas.NOW,
            actor=self._user_of(run.who),
            triggering_actor=self._user_of(run.who),
            head_commit=self._simple_commit(run.head_sha),
            repository=self._minimal_repository(self.repository),
            head_repository=self._minimal_repository(head_repository),
            pull_requests=[]
            if query.get("exclude_pull_requests") == "true"
            else [self._pull_minimal(p) for p in matching],
        )

    def _simple_commit(self, sha: str) -> dict | None:
        try:
            shown = self._git("show", "-s", "--format=%T%n%an%n%ae%n%B", sha)
            tree, name, email, message = shown.split("\n", 3)
        except RuntimeError:
            return None
        person = {"name": name, "email": email}
        return schemas.example(
            "simple-commit",
            id=sha,
            tree_id=tree,
            message=message.strip(),
            timestamp=schemas.NOW,
            author=person,
            committer=person,
        )

    def _minimal_repository(self, full_name: str) -> dict:
        repo = self._repo(full_name)
        return schemas.example(
            "minimal-repository",
            **{key: value for key, value in repo.items() if key in schemas.example("minimal-repository")},
        )

    def _pull_minimal(self, pull: dict) -> dict:
        def side(ref: str, sha: str, full_name: str) -> dict:
            repo = {
                "id": 4711 if full_name == self.repository else 4712,
                "url": f"{self.api_url}/repos/{full_name}",
                "name": full_name.split("/")[1],
            }
            return {"ref": ref, "sha": sha, "repo": repo}

        return {
            "id": pull["id"],
            "number": pull["number"],
            "url": f"{self.api_url}/repos/{self.repository}/pulls/{pull['number']}",
            "head": side(pull["head_ref"], pull["head_sha"], pull["head_repo"]),
            "base": side(pull["base_ref"], pull.get("base_sha") or ZERO, self.repository),
        }

    def _storage(self, path: str, headers):
        """GitHub's storage behind a download's redirect: the signed address is the credential, a token is not
        wanted (and recorded, so that a test can show none was sent)."""
        with self.lock:
            self.storage_requests.append({"path": path, "authorization": headers.get("Authorization")})
            if match := re.fullmatch(r"/storage/artifacts/(\d+)\.zip\?sig=e2e", path):
                found = [key for key, number in self.artifact_ids.items() if number == int(match[1])]
                if found:
                    return 200, self._artifact_zip(*found[0]), {"Content-Type": "application/zip"}
            if match := re.fullmatch(r"/storage/assets/(\d+)\?sig=e2e", path):
                for assets in self.assets.values():
                    for asset in assets.values():
                        if asset["id"] == int(match[1]):
                            return 200, asset["data"], {"Content-Type": "application/octet-stream"}
        return 404, b"Not Found", {"Content-Type": "text/plain"}

    def _create_issue(self, who, query, body):
        self._require(who, "issues", "write") if who.is_bot else None
        number = next(self.numbers)
        issue = {
            "number": number,
            "id": next(self.ids),
            "title": body["title"],
            "body": body.get("body") or "",
            "state": "open",
            "labels": list(body.get("labels") or []),
            "user": who.login,
            "user_id": who.user_id,
            "bot": who.is_bot,
            "created_by": who.summary(),
        }
        self.issues[number] = issue
        self._emit("issues", "opened", who, number=number)
        return 201, self._issue_json(issue)

    def _issue_json(self, issue):
        return schemas.example(
            "issue",
            id=issue["id"],
            number=issue["number"],
            title=issue["title"],
            body=issue["body"],
            state=issue["state"],
            labels=[
                schemas.example("label", id=i, name=name, color="ededed")
                for i, name in enumerate(issue["labels"])
            ],
            user=self._user(issue["user"], issue["user_id"], issue["bot"]),
            html_url=f"https://github.com/{self.repository}/issues/{issue['number']}",
            url=f"{self.api_url}/repos/{self.repository}/issues/{issue['number']}",
            **(
                {"pull_request": {"url": f"{self.api_url}/repos/{self.repository}/pulls/{issue['number']}",
                                  "html_url": f"https://github.com/{self.repository}/pull/{issue['number']}",
                                  "diff_url": None, "patch_url": None}}
                if issue.get("is_pull") else {}
            ),
        )  # fmt: skip

    def _list_issues(self, who, query, body):
        self._require(who, "issues", "read") if who.is_bot else None
        state = query.get("state", "open")
        labels = {label for label in query.get("labels", "").split(",") if label}
        # "GitHub's REST API considers every pull request an issue": they are listed too, with a pull_request key
        pulls = [
            {**pull, "user_id": self.users[pull["user"]].user_id if pull["user"] in self.users else 0,
             "bot": pull["user_type"] == "Bot", "is_pull": True}
            for pull in self.pulls.values()
        ]  # fmt: skip
        issues = [
            i
            for i in [*self.issues.values(), *pulls]
            if (state == "all" or i["state"] == state) and labels <= set(i["labels"])
        ]
        page, links = self._page(
            [self._issue_json(i) for i in sorted(issues, key=lambda i: -i["number"])],
            query,
            f"/repos/{self.repository}/issues",
        )
        return 200, page, links

    def _update_issue(self, who, query, body, number):
        self._require(who, "issues", "write") if who.is_bot else None
        issue = self.issues.get(int(number))
        if issue is None:
            return 404, {"message": "Not Found"}
        for key in ("title", "body", "state", "labels"):
            if key in body:
                issue[key] = body[key]
        return 200, self._issue_json(issue)


def _codeowners_match(pattern: str, path: str) -> bool:
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        return path.startswith(pattern) if anchored else f"/{pattern}" in f"/{path}"
    if anchored:
        return fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern + "/")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)


def attested_digests(bundle: dict) -> set[str]:
    """The SHA-256 digests of the subjects of an attestation bundle's in-toto statement."""
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return {subject["digest"]["sha256"] for subject in statement["subject"]}


F = FakeGitHub
ROUTES: list[tuple[str, dict]] = [
    (r"pulls", {"GET": F._list_pulls, "POST": F._create_pull}),
    (r"pulls/(\d+)", {"GET": F._get_pull, "PATCH": F._update_pull}),
    (r"pulls/(\d+)/files", {"GET": F._pull_files}),
    (r"pulls/(\d+)/reviews", {"GET": F._list_reviews, "POST": F._review}),
    (r"pulls/(\d+)/merge", {"PUT": F._merge_pull}),
    (r"commits/([0-9a-f]{40})/pulls", {"GET": F._commit_pulls}),
    (r"commits/([^/]+)/statuses", {"GET": F._list_statuses}),
    (r"issues", {"GET": F._list_issues, "POST": F._create_issue}),
    (r"issues/(\d+)", {"PATCH": F._update_issue}),
    (r"issues/(\d+)/comments", {"GET": F._list_comments, "POST": F._create_comment}),
    (r"issues/(\d+)/labels", {"POST": F._add_labels}),
    (r"issues/comments/(\d+)", {"PATCH": F._update_comment}),
    (r"statuses/([0-9a-f]{40})", {"POST": F._create_status}),
    (r"releases", {"GET": F._list_releases, "POST": F._create_release}),
    (r"releases/tags/(.+)", {"GET": F._release_by_tag}),
    (r"releases/(\d+)", {"PATCH": F._update_release, "DELETE": F._delete_release}),
    (r"releases/(\d+)/assets", {"GET": F._list_assets}),
    (r"attestations", {"POST": F._create_attestation}),
    (r"attestations/(sha256:[0-9a-f]{64})", {"GET": F._list_attestations}),
    (r"environments/([\w-]+)", {"PUT": F._put_environment}),
    (
        r"environments/([\w-]+)/deployment-branch-policies",
        {"GET": F._list_branch_policies, "POST": F._create_branch_policy},
    ),
    (r"environments/([\w-]+)/deployment-branch-policies/(\d+)", {"DELETE": F._delete_branch_policy}),
    (r"rulesets", {"GET": F._list_rulesets, "POST": F._create_ruleset}),
    (r"rulesets/(\d+)", {"PUT": F._update_ruleset}),
    (r"rules/branches/([^/]+)", {"GET": F._branch_rules}),
    (
        r"actions/permissions/workflow",
        {"GET": F._get_workflow_permissions, "PUT": F._set_workflow_permissions},
    ),
    (r"actions/workflows/([\w.-]+)/dispatches", {"POST": F._dispatch_workflow}),
    (r"dispatches", {"POST": F._repository_dispatch}),
    (r"collaborators/([\w.\[\]-]+)/permission", {"GET": F._collaborator_permission}),
    (r"issues/(\d+)/labels/([^/]+)", {"DELETE": F._remove_label}),
    (r"deployments", {"GET": F._list_deployments, "POST": F._create_deployment}),
    (
        r"deployments/(\d+)/statuses",
        {"GET": F._list_deployment_statuses, "POST": F._create_deployment_status},
    ),
    (r"releases/assets/(\d+)", {"GET": F._get_asset}),
    (r"actions/runs", {"GET": F._list_workflow_runs}),
    (r"actions/runs/(\d+)/artifacts", {"GET": F._list_run_artifacts}),
    (r"actions/artifacts/(\d+)/(\w+)", {"GET": F._download_artifact}),
]
del F
