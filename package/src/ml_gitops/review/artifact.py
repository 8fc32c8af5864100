"""The checks model-report.yml makes before it trusts a model-report artifact that pull-request code produced.

model-report.yml runs from the default branch with a write token, so the artifact is data only: its layout, sizes,
links and pull-request number are checked here before anything is posted. Standard library only.
"""

import json
import math
import re
from pathlib import Path

from .. import UserError
from ..github import client

# report.json's "comparison": how the report compared the champion (review/comparable.py). The trusted verdict
# reads only these words, never a text of the artifact.
SAME_ROWS, RESCORED = "same test rows", "champion scored again on the candidate's test set"
TARGET, CLASSES, UNSCORABLE = "target changed", "classes changed", "champion cannot score the test set"
NOT_COMPARABLE = (TARGET, CLASSES, UNSCORABLE)

MAX_REPORT_BYTES = 60_000  # a GitHub comment holds 65,536 characters; leave room for CML's watermark
MAX_PLOT_BYTES = 5 * 2**20
MAX_TOTAL_BYTES = 20 * 2**20
PLOT_NAME = re.compile(r"^[a-z_]{1,40}\.png$")
SHA = re.compile(r"^[0-9a-f]{40}$")
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)")
DEFINITION_TARGET = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)", re.MULTILINE)


def check_artifact(directory: Path, head_sha: str) -> dict:
    """Validate a downloaded model-report artifact; return its report.json, checked."""
    if not SHA.match(head_sha):
        raise UserError(f"--head-sha must be a 40-character commit id, got '{head_sha}'")
    _check_layout(directory)
    summary = read_summary(directory / "report.json")
    if summary["head_sha"] != head_sha:
        raise UserError(
            f"report.json is for commit {summary['head_sha']}, but the run built {head_sha}: refusing it"
        )
    _check_links((directory / "report.md").read_text(encoding="utf-8"), directory)
    pull = client.api("GET", f"pulls/{summary['pull_request']}")
    if pull.get("head", {}).get("sha") != head_sha or pull.get("state") != "open":
        raise UserError(
            f"pull request #{summary['pull_request']} is not open at commit {head_sha}: refusing the report"
        )
    _check_into_default_branch(pull, summary["pull_request"])
    return summary


class NotIntoDefaultBranch(UserError):
    """A pull request into another branch than the default: it gets no model-gate status and no comment."""


def _check_into_default_branch(pull: dict, number: int) -> None:
    """A status belongs to the commit, not the pull request: a second pull request of the same head into another
    branch (whose changed files leave out the model) must not set the status the default branch's rules read."""
    base = pull.get("base") or {}
    default = (base.get("repo") or {}).get("default_branch")
    if not default or base.get("ref") != default:
        raise NotIntoDefaultBranch(
            f"pull request #{number} is into {base.get('ref')!r}, not the default branch {default!r}: model-gate "
            "judges only pull requests into the default branch, so this run sets no status and posts no comment"
        )


def _check_layout(directory: Path) -> None:
    if not (directory / "report.md").is_file() or not (directory / "report.json").is_file():
        raise UserError(
            f"{directory} must hold report.md and report.json: the model-pr run did not finish its report"
        )
    total = 0
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_symlink():
            raise UserError(f"artifact entry {relative} is a symbolic link: refusing the artifact")
        if path.is_dir():
            if str(relative) != "plots":
                raise UserError(f"artifact has an unexpected directory {relative}: only plots/ is allowed")
            continue
        size = path.stat().st_size
        total += size
        allowed = str(relative) in ("report.md", "report.json") or (
            relative.parent.name == "plots" and PLOT_NAME.match(relative.name)
        )
        if not allowed:
            raise UserError(
                f"artifact has an unexpected file {relative}: only report.md, report.json, plots/*.png"
            )
        limit = MAX_REPORT_BYTES if relative.name == "report.md" else MAX_PLOT_BYTES
        if size > limit:
            raise UserError(
                f"artifact file {relative} has {size:,} bytes, over the limit of {limit:,}: refusing it"
            )
    if total > MAX_TOTAL_BYTES:
        raise UserError(f"artifact holds {total:,} bytes, over the limit of {MAX_TOTAL_BYTES:,}: refusing it")


def read_summary(path: Path) -> dict:
    """report.json, refused unless every field the trusted side reads has the shape it expects."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError("report.json is not valid JSON: refusing the artifact") from None
    number = summary.get("pull_request") if isinstance(summary, dict) else None
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 10**9:
        raise UserError(
            f"report.json has no valid pull-request number (got {number!r}): refusing the artifact"
        )
    if not isinstance(summary.get("head_sha"), str) or not SHA.match(summary["head_sha"]):
        raise UserError("report.json has no valid head_sha: refusing the artifact")
    if summary.get("gate") not in ("pass", "fail", "not comparable"):
        raise UserError(
            f"report.json has gate {summary.get('gate')!r}, not pass, fail or not comparable: refusing the artifact"
        )
    if summary.get("comparison", SAME_ROWS) not in (SAME_ROWS, RESCORED, *NOT_COMPARABLE):
        raise UserError("report.json has a comparison the report never writes: refusing the artifact")
    if not isinstance(summary.get("model_inputs_changed", True), bool):
        raise UserError(
            "report.json has a model_inputs_changed that is not true or false: refusing the artifact"
        )
    for key in ("metrics", "champion_metrics"):
        if not _numbers_by_name(summary.setdefault(key, {})):
            raise UserError(
                f"report.json has {key} that are not finite numbers by name: refusing the artifact"
            )
    return summary


def _numbers_by_name(values: object) -> bool:
    return isinstance(values, dict) and all(
        isinstance(name, str)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        for name, value in values.items()
    )


def _check_links(markdown: str, directory: Path) -> None:
    """Only links to the artifact's own plots: CML uploads every local file an image link names."""
    if re.search(r"<\s*img|\bsrc\s*=", markdown, re.IGNORECASE):
        raise UserError("report.md contains an HTML image: only markdown links to plots/*.png are allowed")
    for target in LINK_TARGET.findall(markdown) + DEFINITION_TARGET.findall(markdown):
        if not (
            target.startswith("plots/") and PLOT_NAME.match(target[6:]) and (directory / target).is_file()
        ):
            raise UserError(f"report.md links to '{target}': only the artifact's plots/*.png are allowed")
