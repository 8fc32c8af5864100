"""The origin's pre-receive hook: GitHub's rulesets, applied to every push that reaches the fake over HTTPS.

git http-backend runs it with the pushed ref updates on stdin and the pusher's identity in E2E_PUSHER (set by the
fake from the token the push carried). The rulesets are the ones `make github-setup` applied to the fake, written
by it to e2e-rulesets.json in the bare repository. A refused update gets GitHub's own wording (GH013).
"""

import fnmatch
import json
import os
import sys
from pathlib import Path

ZERO = "0" * 40
ADMIN_ROLE = 5  # the RepositoryRole actor id of the admin role in a ruleset's bypass list


def matches(ref: str, ruleset: dict, default_branch: str) -> bool:
    prefix = "refs/heads/" if ruleset.get("target", "branch") == "branch" else "refs/tags/"
    if not ref.startswith(prefix):
        return False
    conditions = ruleset.get("conditions", {}).get("ref_name", {})

    def expand(pattern: str) -> str:
        if pattern == "~DEFAULT_BRANCH":
            return f"refs/heads/{default_branch}"
        if pattern == "~ALL":
            return prefix + "*"
        return pattern if pattern.startswith("refs/") else prefix + pattern

    included = any(fnmatch.fnmatchcase(ref, expand(p)) for p in conditions.get("include", []))
    excluded = any(fnmatch.fnmatchcase(ref, expand(p)) for p in conditions.get("exclude", []))
    return included and not excluded


def bypasses(pusher: dict, ruleset: dict) -> bool:
    for actor in ruleset.get("bypass_actors", []):
        if actor.get("actor_type") == "Integration" and actor.get("actor_id") == pusher.get("app_id"):
            return True
        is_admin_role = actor.get("actor_type") == "RepositoryRole" and actor.get("actor_id") == ADMIN_ROLE
        if is_admin_role and pusher.get("role") == "admin":
            return True
    return False


def violations(
    old: str, new: str, ref: str, pusher: dict, rulesets: list, default_branch: str, git_dir: Path
):
    found = []
    for ruleset in rulesets:
        if ruleset.get("enforcement") != "active" or not matches(ref, ruleset, default_branch):
            continue
        if bypasses(pusher, ruleset):
            continue
        for rule in ruleset.get("rules", []):
            kind = rule["type"]
            if kind == "creation" and old == ZERO:
                found.append("Cannot create ref due to creations being restricted.")
            elif kind == "update" and old != ZERO and new != ZERO:
                found.append("Cannot update this protected ref.")
            elif kind == "deletion" and new == ZERO:
                found.append("Cannot delete this protected ref.")
            elif kind == "pull_request" and new != ZERO:
                found.append("Changes must be made through a pull request.")
            elif kind == "required_status_checks" and new != ZERO:
                found.append("Required status checks must pass: changes must be made through a pull request.")
            elif kind == "non_fast_forward" and ZERO not in (old, new) and not is_ancestor(old, new, git_dir):
                found.append("Cannot force-push to this branch")
    return found


def is_ancestor(old: str, new: str, git_dir: Path) -> bool:
    import subprocess

    return (
        subprocess.run(["git", "--git-dir", str(git_dir), "merge-base", "--is-ancestor", old, new]).returncode
        == 0
    )


def main() -> int:
    git_dir = Path(os.environ.get("GIT_DIR", ".")).resolve()
    config = (
        json.loads((git_dir / "e2e-rulesets.json").read_text())
        if (git_dir / "e2e-rulesets.json").exists()
        else {}
    )
    pusher = json.loads(os.environ.get("E2E_PUSHER") or "{}")
    refused = False
    for line in sys.stdin:
        old, new, ref = line.split()
        problems = violations(
            old, new, ref, pusher, config.get("rulesets", []), config.get("default_branch", "main"), git_dir
        )
        if problems:
            refused = True
            print("error: GH013: Repository rule violations found for " + ref + ".", file=sys.stderr)
            for problem in problems:
                print(f"- {problem}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
