"""The template's shared workflows as the journeys call them, the way GitHub does: the fake's Git host serves a
commit of the template's working tree under the repository the project's callers name, the callers are pointed at
that commit, and act clones the called workflows from the fake (`--github-instance`)."""

import os
import re
import subprocess
from pathlib import Path

from ..conftest import TEMPLATE

# A caller's job: `uses: <owner>/<repo>/.github/workflows/<file>@<full sha>`.
CALLER = re.compile(r"^([\w.-]+/[\w.-]+)/\.github/workflows/([\w.-]+\.ya?ml)@([0-9a-f]{40})$")
CALLER_LINE = re.compile(r"(uses: [\w.-]+/[\w.-]+/\.github/workflows/[\w.-]+\.ya?ml@)[0-9a-f]{40}")
# The commit's identity and dates are fixed, so the same working tree is the same commit in every worker.
COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def snapshot(root: Path) -> tuple[Path, str]:
    """A bare repository holding one commit of the template's working tree (what git would add), and its SHA."""
    bare = root / "template.git"
    env = {"PATH": os.environ["PATH"], **COMMIT_ENV}
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], check=True, env=env)
    env.update(GIT_DIR=str(bare), GIT_WORK_TREE=str(TEMPLATE), GIT_INDEX_FILE=str(root / "template.index"))

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=TEMPLATE, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
        return result.stdout.strip()

    git("add", "--all", ".")
    commit = git("commit-tree", git("write-tree"), "-m", "The template's working tree")
    git("update-ref", "refs/heads/main", commit)
    return bare, commit


def serve(project: Path, fake, template: tuple[Path, str]) -> str:
    """Serve the template commit as the repository the project's callers name, and point them at it (the hook
    pinned the checkout's HEAD or tag, which need not hold the working tree's shared workflows)."""
    bare, commit = template
    fake.serve_repository(pin_callers(project, commit), bare)
    return commit


def pin_callers(project: Path, commit: str) -> str:
    """Point the project's callers at the template commit; returns the repository they name."""
    repositories = set()
    for caller in (project / ".github" / "workflows").glob("*.yml"):
        text = caller.read_text()
        repositories |= {
            match[1] for match in re.finditer(r"uses: ([\w.-]+/[\w.-]+)/\.github/workflows/", text)
        }
        caller.write_text(CALLER_LINE.sub(lambda match: match[1] + commit, text))
    (repository,) = repositories
    return repository
