"""Run the generated workflows for real with act, on the host (no Docker), against local stand-ins.

- `origin` is a local bare repository; workflows reach it as https://github.com/<repository>.git through a git
  `insteadOf` rule in a private global git config, so pushes and fetches are real.
- Each `uses:` action is replaced by its stand-in under tests/e2e/standins/<owner>/<repo> (`--local-repository`,
  which also matches the pinned commit, so the workflows run unchanged).
- GITHUB_API_URL points at the loopback fake of the REST API (fake_github.py).
"""

import itertools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

STANDINS = Path(__file__).parent / "standins"
USES = re.compile(r"^([\w.-]+/[\w.-]+)@([0-9a-f]{40})$")


@dataclass
class ActRun:
    returncode: int
    output: str


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def pinned_actions(workflow: Path) -> set[tuple[str, str]]:
    """Every (owner/repo, sha) a workflow uses; all must be pinned by full commit SHA."""
    found = set()
    for job in yaml.safe_load(workflow.read_text())["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                match = USES.match(step["uses"])
                assert match, f"{workflow.name}: {step['uses']} is not pinned by a full commit SHA"
                found.add((match[1], match[2]))
    return found


class Harness:
    def __init__(self, root: Path, repository: str, api_url: str, tools_bin: Path, uv_cache: Path):
        self.root, self.repository, self.api_url = root, repository, api_url
        self.origin = root / "origin.git"
        self.artifacts = root / "artifacts"
        self.actions_cache = root / "actions-cache"
        self.cml_log = root / "cml.jsonl"
        self.gitconfig = root / "gitconfig"
        self.tools_bin, self.uv_cache = tools_bin, uv_cache
        self.run_ids = itertools.count(101)
        self.clones = itertools.count(1)
        for directory in (self.artifacts, self.actions_cache):
            directory.mkdir(parents=True, exist_ok=True)
        self.gitconfig.write_text(
            f'[url "{self.origin}"]\n\tinsteadOf = https://github.com/{repository}.git\n'
            "[user]\n\tname = E2E Tests\n\temail = e2e@example.com\n"
            "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        )
        os.environ["GIT_CONFIG_GLOBAL"] = str(self.gitconfig)

    def publish(self, project: Path) -> None:
        """Make `project` (a Git repository) the content of origin, and origin its remote."""
        subprocess.run(["git", "init", "--quiet", "--bare", str(self.origin)], check=True)
        git("remote", "add", "origin", f"https://github.com/{self.repository}.git", cwd=project)
        git("push", "--quiet", "origin", "main", cwd=project)

    def clone_at(self, ref: str) -> Path:
        clone = self.root / f"clone-{next(self.clones)}"
        git("clone", "--quiet", f"https://github.com/{self.repository}.git", str(clone), cwd=self.root)
        git("fetch", "--quiet", "origin", "+refs/pull/*:refs/remotes/origin/pull/*", cwd=clone)
        git("checkout", "--quiet", "--detach", ref, cwd=clone)
        return clone

    def act(self, event: str, payload: dict, workflow: str, ref: str) -> tuple[ActRun, int]:
        """Run one workflow for `event` from a checkout of `ref`; return the run and its run id."""
        clone = self.clone_at(ref)
        run_id = next(self.run_ids)
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
            "-s",
            "GITHUB_TOKEN=e2e-token",
        ]
        for action, sha in sorted(pinned_actions(path)):
            standin = STANDINS / action
            assert (standin / "action.yml").is_file(), (
                f"no stand-in for {action}: add tests/e2e/standins/{action}"
            )
            command += ["--local-repository", f"{action}@{sha}={standin}"]
        environment = {
            "GITHUB_API_URL": self.api_url,
            "GITHUB_RUN_ID": str(run_id),
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            "E2E_ARTIFACTS": str(self.artifacts),
            "E2E_ACTIONS_CACHE": str(self.actions_cache),
            "E2E_CML_LOG": str(self.cml_log),
            "E2E_STANDIN_BIN": str(STANDINS / "bin"),
            "E2E_TOOLS_BIN": str(self.tools_bin),
            "E2E_UV_CACHE": str(self.uv_cache),
        }
        for name, value in environment.items():
            command += ["--env", f"{name}={value}"]
        result = subprocess.run(command, cwd=clone, capture_output=True, text=True, timeout=900)
        return ActRun(result.returncode, result.stdout + result.stderr), run_id

    def artifact(self, run_id: int, name: str) -> Path:
        return self.artifacts / str(run_id) / name

    def cml_calls(self) -> list[dict]:
        if not self.cml_log.exists():
            return []
        return [json.loads(line) for line in self.cml_log.read_text().splitlines()]
