"""Run one generated workflow for real with act, on the host (no Docker), against the fake of GitHub.

- The repository is the fake's bare repository, served over HTTPS; act runs on a fresh clone of the commit whose
  workflow file GitHub would use, with `--github-instance` set to the fake's host, so GITHUB_API_URL,
  GITHUB_SERVER_URL and GITHUB_REPOSITORY are the fake's, as on a GitHub Enterprise host.
- Each `uses:` action is replaced by its stand-in under tests/e2e/standins/<owner>/<repo> (`--local-repository`
  matches the pinned commit, so the workflows run unchanged); every `uses:` must be pinned by a full commit SHA.
  A job that calls a shared workflow is run the way GitHub runs it: act clones the workflow's repository from the
  fake (shared_workflows.py), and the actions of the called workflow get their stand-ins too.
- The run's GITHUB_TOKEN is a token of the fake that stands for the GitHub Actions app with the workflow's
  permissions, so whatever the run does is recorded as caused by GITHUB_TOKEN.
- Environment protection (which refs may deploy, required reviewers), which act ignores, is applied before the
  run by github_rules.py: a job that may not deploy fails with GitHub's message, one waiting for a reviewer does
  not run.
"""

import itertools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import cml
from .shared_workflows import CALLER

STANDINS = Path(__file__).parent / "standins"
USES = re.compile(r"^([\w.-]+/[\w.-]+)@([0-9a-f]{40})$")


@dataclass
class ActRun:
    returncode: int
    output: str
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> success | failure (absent: skipped)


def git(*args: str, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env or os.environ)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def pinned_actions(workflow: dict, called) -> set[tuple[str, str]]:
    """Every (owner/repo, sha) a workflow uses, also in the shared workflows its jobs call (`called(uses)` reads
    one); all must be pinned by full commit SHA."""
    found = set()
    for job in workflow["jobs"].values():
        if "uses" in job:
            assert CALLER.match(job["uses"]), f"{job['uses']} is not pinned by a full commit SHA"
            found |= pinned_actions(called(job["uses"]), called)
        for step in job.get("steps", []):
            if "uses" in step and not step["uses"].startswith("./"):
                match = USES.match(step["uses"])
                assert match, f"{step['uses']} is not pinned by a full commit SHA"
                found.add((match[1], match[2]))
    return found


class Harness:
    """Clones, event files and act invocations for one fake GitHub; one per test module."""

    def __init__(self, root: Path, fake, uv_cache: Path, tools_bin: Path):
        self.root, self.fake = root, fake
        self.artifacts = root / "artifacts"
        self.actions_cache = root / "actions-cache"
        self.gitconfig = root / "gitconfig"
        self.uv_cache, self.tools_bin = uv_cache, tools_bin
        self.run_ids = itertools.count(101)
        self.clones = itertools.count(1)
        for directory in (self.artifacts, self.actions_cache):
            directory.mkdir(parents=True, exist_ok=True)
        certificates = fake.certs
        # Clones, pushes and CML reach the fake by the address its repository would have on github.com.
        self.gitconfig.write_text(
            f'[url "{fake.url}/"]\n\tinsteadOf = https://github.com/\n'
            f"[http]\n\tsslCAInfo = {certificates['bundle.pem']}\n\tpostBuffer = 524288000\n"
            "[user]\n\tname = E2E Tests\n\temail = e2e@example.com\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},  # steps reuse bytecode
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            "GIT_SSL_CAINFO": str(certificates["bundle.pem"]),
            "SSL_CERT_FILE": str(certificates["bundle.pem"]),
            "REQUESTS_CA_BUNDLE": str(certificates["bundle.pem"]),
            "CURL_CA_BUNDLE": str(certificates["bundle.pem"]),
            "NODE_EXTRA_CA_CERTS": str(certificates["ca.pem"]),
        }

    def clone(self, sha: str, branch: str | None = None) -> Path:
        """A fresh clone of origin at `sha`, on `branch` when the run's ref is a branch (act reads the ref there)."""
        clone = self.root / f"clone-{next(self.clones)}"
        git(
            "clone",
            "--quiet",
            "--no-checkout",
            self.fake.clone_url,
            str(clone),
            cwd=self.root,
            env=self.user_env("ada"),
        )
        git("fetch", "--quiet", "origin", sha, cwd=clone, env=self.user_env("ada"))
        if branch:
            git("checkout", "--quiet", "-B", branch, sha, cwd=clone)
        else:
            git("checkout", "--quiet", "--detach", sha, cwd=clone)
        return clone

    def user_env(self, login: str) -> dict:
        """The environment of `login` using git on their machine: their token answers the fake's challenge."""
        token = self.fake.user_token(login)
        helper = f"!f() {{ echo username={login}; echo password={token}; }}; f"
        return {
            **self.env,
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": helper,
        }

    def act(
        self,
        event: str,
        payload: dict,
        workflow: str,
        clone: Path,
        token: str,
        actor: str,
        secrets: dict[str, str],
        variables: dict[str, str],
        run_id: int,
        called: dict[str, dict] | None = None,
    ) -> ActRun:
        event_file = self.root / f"event-{run_id}.json"
        event_file.write_text(json.dumps(payload))
        path = clone / ".github" / "workflows" / workflow
        command = [
            str(Path(sys.executable).parent / "act"),
            event,
            "-W",
            str(path.relative_to(clone)),
            "-e",
            str(event_file),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
            "--no-skip-checkout",  # run the checkout stand-in: it fetches with the token the workflow gives it
            "--json",
            "--github-instance",
            self.fake.host,
            "-a",
            actor,
            "-s",
            f"GITHUB_TOKEN={token}",
        ]
        for name, value in secrets.items():
            command += ["-s", f"{name}={value}"]
        for name, value in variables.items():
            command += ["--var", f"{name}={value}"]
        for action, sha in sorted(
            pinned_actions(yaml.safe_load(path.read_text()), self.fake.called_workflow)
        ):
            standin = STANDINS / action
            assert (standin / "action.yml").is_file(), (
                f"no stand-in for {action}: add tests/e2e/standins/{action}"
            )
            command += ["--local-repository", f"{action}@{sha}={standin}"]
        for number, (uses, copy) in enumerate((called or {}).items()):
            # A called workflow that environment protection changed: act reads this run copy, not the fake's.
            full_name, file, sha = CALLER.match(uses).groups()
            folder = self.root / f"called-{run_id}-{number}"
            (folder / ".github" / "workflows").mkdir(parents=True)
            document = {("on" if key is True else key): value for key, value in copy.items()}
            (folder / ".github" / "workflows" / file).write_text(yaml.safe_dump(document, sort_keys=False))
            command += ["--local-repository", f"{full_name}@{sha}={folder}"]
        certificates = self.fake.certs
        environment = {
            "GITHUB_RUN_ID": str(run_id),
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            "GIT_SSL_CAINFO": str(certificates["bundle.pem"]),
            "SSL_CERT_FILE": str(certificates["bundle.pem"]),
            "REQUESTS_CA_BUNDLE": str(certificates["bundle.pem"]),
            "CURL_CA_BUNDLE": str(certificates["bundle.pem"]),
            "NODE_EXTRA_CA_CERTS": str(certificates["ca.pem"]),
            "GIT_TERMINAL_PROMPT": "0",  # a refused credential fails the step instead of waiting for a person
            "ITERATIVE_DO_NOT_TRACK": "1",
            "CML_ASSET_URL": f"{self.fake.url}/cml-assets",
            "E2E_ARTIFACTS": str(self.artifacts),
            "E2E_ACTIONS_CACHE": str(self.actions_cache),
            "E2E_CML_HOME": str(cml.home()),
            "E2E_PYTHON": sys.executable,
            "E2E_TOOLS_BIN": str(self.tools_bin),
            "E2E_UV_CACHE": str(self.uv_cache),
        }
        for name, value in environment.items():
            command += ["--env", f"{name}={value}"]
        result = subprocess.run(
            command, cwd=clone, capture_output=True, text=True, timeout=1200, env=self.env
        )
        return parse_act_log(result.returncode, result.stdout + result.stderr)

    def artifact(self, run_id: int, name: str) -> Path:
        return self.artifacts / str(run_id) / name


def parse_act_log(returncode: int, log: str) -> ActRun:
    """act's --json log as readable text, and each job's result."""
    lines, jobs = [], {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            lines.append(line)
            continue
        if not isinstance(entry, dict):
            lines.append(line)
            continue
        message = entry.get("msg", "").rstrip("\n")
        lines.append(f"[{entry.get('job', '').strip()}] {message}" if entry.get("job") else message)
        if "jobResult" in entry:
            jobs[entry["jobID"]] = entry["jobResult"]
    return ActRun(returncode, "\n".join(lines), jobs)
