"""What counts as a change to the model: the files whose change makes a pull request train and gate a candidate.

model-pr.yml runs on every pull request (the ruleset requires its model-gate status) and trains only when one of
these changed; model-report.yml checks that claim against the pull request's files: the Git diff of its two
commits when the clone holds them, else GitHub's list, refused when GitHub cut it short (at most 3,000 files).

The champion's figures are among them: `reports/metrics.json` on main is the number every later candidate is
gated against, so a pull request that edits it (or `dvc.lock`, or a `.dvc` file) trains, is gated on the numbers
its run computes again, and needs a code owner's review (CODEOWNERS).
"""

import re

SHA = re.compile(r"^[0-9a-f]{40}$")

MODEL_INPUTS = (
    "data/**",
    "src/**",
    "params.yaml",
    "dvc.yaml",
    "dvc.lock",
    "**.dvc",
    "pyproject.toml",
    "uv.lock",
    "reports/metrics.json",
)
MAX_LISTED_FILES = (
    3000  # GitHub lists at most 3,000 files of a pull request (REST API, "List pull requests files")
)


def _pattern(glob: str) -> re.Pattern:
    """GitHub's path filter syntax: ** matches any characters, * any but /."""
    parts = re.split(r"(\*\*|\*)", glob)
    regex = "".join(".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part) for part in parts)
    return re.compile(f"^{regex}$")


PATTERNS = [_pattern(glob) for glob in MODEL_INPUTS]


def model_inputs(paths: list[str]) -> list[str]:
    """The paths among `paths` that are model inputs."""
    return [path for path in paths if any(pattern.match(path) for pattern in PATTERNS)]


def changed_since(base: str) -> list[str]:
    """Files this checkout changes since its merge base with `base`, uncommitted changes included (git; names as
    they are, -z: never quoted)."""
    from ..core.shell import git

    names = git("diff", "--name-only", "-z", git("merge-base", base, "HEAD"))
    return [name for name in names.split("\0") if name]


def changed_in_pull_request(number: int) -> list[str]:
    """Files pull request `number` changes (model-report.yml, promote.yml): from Git, when this clone holds the pull
    request's base and head commits (read as data: their trees are compared, nothing is checked out or run), else as
    GitHub lists them."""
    from .. import UserError
    from ..github import client

    pull = client.api("GET", f"pulls/{number}")
    base, head = pull.get("base", {}).get("sha", ""), pull.get("head", {}).get("sha", "")
    try:
        return changed_between(base, head)
    except UserError:
        return listed_by_github(number, pull.get("changed_files"))


def changed_between(base: str, head: str) -> list[str]:
    """Files commit `head` changes since its merge base with commit `base` (git diff base...head, names as they are)."""
    from .. import UserError
    from ..core.shell import git

    if not (SHA.match(base) and SHA.match(head)):
        raise UserError(f"{base!r} and {head!r} must be 40-character commit ids")
    names = git(
        "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", f"{base}...{head}"
    )
    return [name for name in names.split("\0") if name]


def listed_by_github(number: int, total: object) -> list[str]:
    """Files pull request `number` changes as GitHub lists them (every page), taken only when the list holds as many
    as the pull request says it changes (`total`, its changed_files): GitHub lists at most 3,000, so a short or
    truncated list is refused, never read as "no model input"."""
    from .. import UserError
    from ..github import client

    listed = [entry["filename"] for entry in client.paginate(f"pulls/{number}/files")]
    if isinstance(total, bool) or not isinstance(total, int) or total != len(listed):
        beyond = " (GitHub lists at most 3,000)" if len(listed) >= MAX_LISTED_FILES else ""
        said = (
            f"{total:,}" if isinstance(total, int) and not isinstance(total, bool) else "an unknown number of"
        )
        raise UserError(
            f"pull request #{number} changes {said} files, but GitHub listed {len(listed):,}{beyond}: which model "
            "inputs it changes cannot be told, so it is refused; split it into pull requests of fewer files"
        )
    return listed
