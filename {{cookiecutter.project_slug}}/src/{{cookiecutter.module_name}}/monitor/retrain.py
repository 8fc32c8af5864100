"""The retraining pull request: at most one open at a time, with the drift table and the metric diff in its body.

A pull request opened with the workflow's own GITHUB_TOKEN starts no workflows, so it would never get its model
report. retrain.yml gives CML the RETRAIN_TOKEN secret (a GitHub App or fine-grained token) when there is one;
without it the pull request is still opened, and its body says how to get the report.
"""

import json
import os
import shutil

from .. import UserError
from ..core import paths, shell
from ..github import client

BRANCH_PREFIX = "retrain/"
TITLE = "Retrain the model on the newest data"
CHANGED_FILES = ("dvc.lock", "reports/metrics.json", "reports/data.json", "data/raw/*.dvc")
NO_TOKEN_NOTE = (
    "> [!NOTE]\n"
    "> This pull request was opened with the workflow's `GITHUB_TOKEN`, so GitHub starts no workflow for it and the "
    "model report will not come by itself. Close and reopen the pull request to start it, or add a `RETRAIN_TOKEN` "
    "secret to the `automation` environment (a GitHub App token or a fine-grained token with contents and pull "
    "requests write) so that the next "
    "retraining pull request gets its report straight away."
)


def open_pull_request() -> dict | None:
    """The retraining pull request that is still open, if any."""
    pulls = client.api("GET", "pulls?state=open&per_page=100")
    return next((pull for pull in pulls if pull["head"]["ref"].startswith(BRANCH_PREFIX)), None)


def status() -> None:
    """Say (as a step output and in the job summary) whether a retraining pull request is already open."""
    pull = open_pull_request()
    if pull:
        client.write_summary(
            f"A retraining pull request is already open: #{pull['number']} ({pull['html_url']}). "
            "Review or close it first; no new one is opened."
        )
    client.write_outputs({"open": str(pull is not None).lower()})


def changed_files() -> list[str]:
    porcelain = shell.git("status", "--porcelain", "--", *CHANGED_FILES)
    return [line[3:] for line in porcelain.splitlines()]


def body(drift_summary: dict, metrics_diff: str, with_token: bool) -> str:
    from . import drift

    parts = [
        "Opened by `retrain.yml`: the newest data was compared with the champion's reference sample and the model "
        "was retrained on it with `dvc repro`. The model report follows as a comment; review it like any other.",
        drift.markdown(drift_summary, plot=None),
        "### Metrics against `main`\n\n" + (metrics_diff.strip() or "No metric changed."),
    ]
    if not with_token:
        parts.append(NO_TOKEN_NOTE)
    return "\n\n".join(parts) + "\n"


def create_pull_request(run_id: str, target: str = "main") -> None:
    """Commit the retrained model's files on a new branch and open the pull request with CML."""
    changed = changed_files()
    if not changed:
        client.write_summary("Retrained, but the model and its metrics did not change: no pull request.")
        print("nothing changed: no pull request")
        return
    summary_path = paths.DRIFT / "drift.json"
    if not summary_path.exists():
        raise UserError(
            f"{summary_path} is missing: run the drift check (make drift) before opening the pull request"
        )
    with_token = bool(os.environ.get("REPO_TOKEN"))
    metrics_diff = shell.tool("dvc", "metrics", "diff", "HEAD", "--md")
    text = body(json.loads(summary_path.read_text()), metrics_diff, with_token)
    if shutil.which("cml") is None:
        raise UserError("cml not found: install it (npm install -g @dvcorg/cml) or use iterative/setup-cml")
    url = shell.command(
        "cml", "pr", "create",
        "--branch", f"{BRANCH_PREFIX}{run_id}",
        "--target-branch", target,
        "--title", TITLE,
        "--body", text,
        "--message", f"{TITLE} (retrain.yml run {run_id})",
        *CHANGED_FILES,
    )  # fmt: skip
    note = (
        "" if with_token else " It was opened with GITHUB_TOKEN: close and reopen it to get its model report."
    )
    client.write_summary(f"Opened the retraining pull request {url}.{note}\n\n{text}")
    print(url)
