"""What counts as a change to the model: the files whose change makes a pull request train and gate a candidate.

model-pr.yml runs on every pull request (the ruleset requires its model-gate status) and trains only when one of
these changed; model-report.yml checks that claim against the pull request's files as the API lists them.
"""

import re

MODEL_INPUTS = (
    "data/**",
    "src/**",
    "params.yaml",
    "dvc.yaml",
    "dvc.lock",
    "**.dvc",
    "pyproject.toml",
    "uv.lock",
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
    """Files this checkout changes since its merge base with `base`, uncommitted changes included (git)."""
    from ..core.shell import git

    return git("diff", "--name-only", git("merge-base", base, "HEAD")).splitlines()


def changed_in_pull_request(number: int) -> list[str]:
    """Files pull request `number` changes, as GitHub lists them (every page; model-report.yml)."""
    from ..github import client

    return [entry["filename"] for entry in client.paginate(f"pulls/{number}/files")]
