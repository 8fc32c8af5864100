"""The retraining pull request: at most one open at a time, with the drift table and the metric diff in its body.

It is opened by the automation, a GitHub App (retrain.yml mints its installation token) or the RETRAIN_TOKEN
secret: a pull request opened with the workflow's own GITHUB_TOKEN would start no workflow (so no model report and
no model-gate status), and new repositories do not let GitHub Actions open pull requests at all. Without either
token, the run fails and its summary says exactly what to add.
"""

import json
import os
import shutil

from .. import UserError
from ..core import paths, shell
from ..github import client

BRANCH_PREFIX = "retrain/"
TITLE = "Retrain the model on the newest data"
CHANGED_FILES = (
    "dvc.lock",
    "reports/metrics.json",
    "reports/data.json",
    "reports/importance.json",
    "data/raw/*.dvc",
)
NO_TOKEN = (
    "Drift was found and the model retrained, but no pull request was opened: GitHub Actions' own token cannot "
    "open one that starts the model report. Give the automation a token, then run retrain again (Actions, "
    "retrain, Run workflow): either a GitHub App installed on this repository with Contents and Pull requests "
    "read and write (repository variable `AUTOMATION_APP_CLIENT_ID`, secret `AUTOMATION_APP_PRIVATE_KEY` in the "
    "`automation` environment), or a fine-grained token with the same permissions as the secret `RETRAIN_TOKEN` "
    "of the `automation` environment."
)


def fetch_data() -> int:
    """The champion's outputs (its reference sample among them) from the DVC remote, or reproduced when there is
    none; then the imports under data/raw updated to the newest version of their source."""
    from ..core import remote

    if remote.remote_url() is not None:
        status = remote.run(["pull"])  # DVC names what failed: a poisoned object, a missing one
    else:
        status = remote.run(["repro", "prepare"], credentials="")
    imports = sorted(str(path) for path in remote.RAW.glob("*.dvc"))
    if status or not imports:
        return status
    print(f"dvc update {' '.join(imports)}: the newest version of the data's source")
    return remote.run(["update", *imports])


def open_pull_request() -> dict | None:
    """The retraining pull request still open: a `retrain/` branch of this repository (never a fork's)."""
    pulls = client.paginate("pulls?state=open")
    repository = client.repository()
    return next(
        (
            pull
            for pull in pulls
            if pull["head"]["ref"].startswith(BRANCH_PREFIX)
            and (pull["head"].get("repo") or {}).get("full_name") == repository
        ),
        None,
    )


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


def body(drift_summary: dict, metrics_diff: str, monitoring: dict | None = None) -> str:
    """The pull request's text: why it was opened (the monitor of production, the data's drift), what changed."""
    from . import drift, performance, watch

    parts = [
        "Opened by `retrain.yml`: the newest data was compared with the champion's reference sample and the model "
        "was retrained on it with `dvc repro`. The model report follows as a comment; review it like any other.",
    ]
    if monitoring and monitoring.get("verdict") in (performance.DECAY, performance.DRIFT):
        parts += [
            performance.markdown(monitoring, plot=None).replace(
                "## Monitoring", "### The model in production", 1
            ),
            watch.imports_table(monitoring),
        ]
    parts += [
        drift.markdown(drift_summary, plot=None),
        "### Metrics against `main`\n\n" + (metrics_diff.strip() or "No metric changed."),
    ]
    return "\n\n".join(part for part in parts if part) + "\n"


def monitor_record() -> tuple[dict | None, list[str]]:
    """The monitor job's summary (reports/monitor/monitor.json, when it found decay or drift), and the import files
    of the prediction log and labels it read, written back so the pull request's commit records them."""
    from ..core import config
    from . import watch

    monitored = paths.MONITOR / "monitor.json"
    if not monitored.exists():
        return None, []
    monitoring = json.loads(monitored.read_text())
    settings = config.load().monitoring
    recorded = []
    for path in watch.imports(settings):
        text = (monitoring.get("imports") or {}).get(str(path))
        if text is not None:
            path.write_text(text)
            recorded.append(str(path))
    return monitoring, recorded


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
    if not os.environ.get("REPO_TOKEN"):
        client.write_summary(NO_TOKEN)
        raise UserError(
            "no retraining pull request opened: give the automation a GitHub App (AUTOMATION_APP_CLIENT_ID, "
            "AUTOMATION_APP_PRIVATE_KEY) or a RETRAIN_TOKEN; the job summary says how"
        )
    metrics_diff = shell.tool("dvc", "metrics", "diff", "HEAD", "--md")
    monitoring, recorded = monitor_record()
    text = body(json.loads(summary_path.read_text()), metrics_diff, monitoring)
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
        *recorded,
    )  # fmt: skip
    client.write_summary(f"Opened the retraining pull request {url}.\n\n{text}")
    print(url)
