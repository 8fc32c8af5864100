"""People who use the repository, each with their own token: they push, open pull requests, review, merge and run
workflows by hand through the fake's REST API and Git endpoint, exactly as they would on github.com."""

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from .fake_github import FakeGitHub
from .harness import Harness, git


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # an API answer of 303 is the answer, as GitHub's clients read it


class Person:
    def __init__(self, login: str, fake: FakeGitHub, harness: Harness):
        self.login, self.fake, self.harness = login, fake, harness
        self.token = fake.user_token(login)
        self.context = ssl.create_default_context(cafile=str(fake.certs["ca.pem"]))
        self.opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPSHandler(context=self.context)
        )

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        url = (
            f"{self.fake.api_url}/repos/{self.fake.repository}/{path}"
            if not path.startswith("/")
            else f"{self.fake.api_url}{path}"
        )
        request = urllib.request.Request(
            url,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                data = response.read()
                return response.status, json.loads(data) if data else None
        except urllib.error.HTTPError as error:
            data = error.read()
            return error.code, json.loads(data) if data else None

    def push(self, project: Path, *refspecs: str, check: bool = True):
        """`git push origin <refspecs>` from `project`, as this person."""
        import subprocess

        result = subprocess.run(
            ["git", "push", "--quiet", self.fake.clone_url, *refspecs],
            cwd=project,
            env=self.harness.user_env(self.login),
            capture_output=True,
            text=True,
        )
        if check:
            assert result.returncode == 0, f"git push by {self.login}: {result.stderr}"
        return result

    def open_pull_request(self, branch: str, title: str, body: str = "") -> int:
        status, pull = self.api(
            "POST", "pulls", {"head": branch, "base": "main", "title": title, "body": body}
        )
        assert status == 201, pull
        return pull["number"]

    def review(self, number: int, event: str, commit_id: str | None = None) -> tuple[int, object]:
        body = {"event": event, "body": ""}
        if commit_id:
            body["commit_id"] = commit_id
        return self.api("POST", f"pulls/{number}/reviews", body)

    def label(self, number: int, *labels: str) -> tuple[int, object]:
        return self.api("POST", f"issues/{number}/labels", {"labels": list(labels)})

    def merge(self, number: int) -> tuple[int, object]:
        return self.api("PUT", f"pulls/{number}/merge", {"merge_method": "merge"})

    def dispatch(self, workflow: str, inputs: dict | None = None, ref: str = "main") -> tuple[int, object]:
        return self.api(
            "POST", f"actions/workflows/{workflow}/dispatches", {"ref": ref, "inputs": inputs or {}}
        )


def sync_main(project: Path, person: "Person") -> str:
    """Bring the local main up to the fake's main (after merges made there); return its commit."""
    git(
        "fetch",
        "--quiet",
        person.fake.clone_url,
        "+refs/heads/main:refs/remotes/github/main",
        cwd=project,
        env=person.harness.user_env(person.login),
    )
    git("checkout", "--quiet", "-B", "main", "refs/remotes/github/main", cwd=project)
    return git("rev-parse", "HEAD", cwd=project)


def commit_change(project: Path, branch: str, change, message: str, base: str = "main") -> str:
    """Commit `change()` on `branch` (made from `base`) in the local repository; return the commit."""
    git("checkout", "--quiet", "-B", branch, base, cwd=project)
    change()
    # DVC (autostage) rewrites the index with fresh file times; a params.yaml edited in the same second as the
    # checkout, with the same size, then looks unchanged to git. Rebuilding the index from HEAD makes git look.
    git("read-tree", "HEAD", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", message, cwd=project)
    sha = git("rev-parse", "HEAD", cwd=project)
    git("checkout", "--quiet", base, cwd=project)
    return sha
