"""The scheduled watch of retrain.yml on the model in production: which version that is, its files, and its one
monitoring issue, edited in place with the newest verdict and closed once the version leaves production.

Only issues this workflow opened (author github-actions[bot], with the version's marker) are edited or closed:
anyone may open an issue with the same title or marker. The section on production traffic at the issue's end
(monitor/posting.py) is kept by each edit, or replaced by the run's own when it compared a challenger.
"""

import json
from pathlib import Path

from ..core import paths, shell
from ..core.config import MonitoringConfig
from ..github import client
from ..release import production
from ..release.tags import ARTIFACT
from .posting import BOT, MARKED, MARKER, block, kept, with_block
from .posting import opened_by_this_workflow as _opened_by_this_workflow

__all__ = ["BOT", "MARKED", "MARKER", "check_out_production", "imports", "issue_body", "update_issue"]
# What the version in production brings into main's checkout: its outputs (pulled next with DVC) and test metrics.
VERSION_FILES = ("dvc.lock", str(paths.METRICS))
NO_REMOTE = (
    "{tag} is in production, but this project has no DVC remote to fetch its model from: add one "
    "(README, Store data and models) and the scheduled run monitors it"
)


def check_out_production(has_remote: bool) -> None:
    """Bring the production version's dvc.lock and metrics into the checkout; say which version (step output)."""
    version = production.version_in("prod")
    tag = f"{ARTIFACT}@{version}"
    if version is None:
        client.write_summary("No model version is in production yet: nothing to monitor.")
    elif not has_remote:
        client.warn(NO_REMOTE.format(tag=tag))
        version = None
    else:
        shell.git("checkout", f"refs/tags/{tag}", "--", *VERSION_FILES)
        print(f"monitoring {tag}: its dvc.lock and {paths.METRICS} are checked out")
    client.write_outputs({"version": version or ""})


def imports(settings: MonitoringConfig) -> list[Path]:
    """The DVC imports (dvc import-url) of the prediction log and the labels, where the project has them."""
    return [Path(f"{where.rstrip('/')}.dvc") for where in (settings.log_dir, settings.labels) if where]


def record_imports(summary_path: Path, tracked: list[Path]) -> None:
    """Add the import files (which version of the log and labels the monitor read) to monitor.json."""
    summary = json.loads(summary_path.read_text())
    summary["imports"] = {str(path): path.read_text() for path in tracked if path.exists()}
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")


def update_issue(version: str, summary: dict | None, run_url: str) -> None:
    """Edit the version's monitoring issue (open it the first time); close the issues of versions gone."""
    tag = f"{ARTIFACT}@{version}"
    ours = [issue for issue in client.paginate("issues?state=open") if _opened_by_this_workflow(issue)]
    marker = MARKER.format(tag=tag)
    current = sorted((i for i in ours if marker in (i.get("body") or "")), key=lambda issue: issue["number"])
    verdict = summary["verdict"] if summary else "failed"
    fields = {"title": f"Monitoring {tag}: {verdict}", "body": issue_body(tag, summary, run_url)}
    section = _challenger_block(summary, run_url) or (kept(current[0].get("body") or "") if current else "")
    if section:
        fields["body"] = with_block(fields["body"], section)
    if current:
        client.api("PATCH", f"issues/{current[0]['number']}", fields)
        print(f"monitoring issue #{current[0]['number']} of {tag}: {verdict}")
    else:
        opened = client.api("POST", "issues", fields)
        print(f"opened the monitoring issue #{opened['number']} of {tag}: {verdict}")
    for issue in current[1:]:  # two runs that raced each opened one
        _close(issue, f"A duplicate of #{current[0]['number']}, the monitoring issue of {tag}.", "duplicate")
    for issue in ours:
        if issue not in current:
            _close(issue, f"This version left production: {tag} is served now.", "completed")


def _challenger_block(summary: dict | None, run_url: str) -> str:
    """The section on production traffic of this run's challenger, if it compared one."""
    if not summary or "challenger" not in summary:
        return ""
    from .challenger import markdown

    return block(markdown(summary["challenger"]), f"Updated by the scheduled run ({run_url}).")


def _close(issue: dict, comment: str, reason: str) -> None:
    client.comment(issue["number"], comment)
    client.api("PATCH", f"issues/{issue['number']}", {"state": "closed", "state_reason": reason})
    print(f"closed the monitoring issue #{issue['number']}: {comment}")


def issue_body(tag: str, summary: dict | None, run_url: str) -> str:
    from .performance import markdown

    parts = [
        MARKER.format(tag=tag),
        f"How {tag} does in production, from the newest scheduled run of `retrain.yml` ({run_url}). This "
        "issue is edited by every run and closed when the version leaves production.",
    ]
    if summary is None:
        parts.append("> [!WARNING]\n> The monitor failed: the run's log says why.")
    elif summary["verdict"] == "none":
        parts.append(f"Nothing to monitor yet: {summary['reason']}")
    else:  # a challenger's section goes to the block at the end, which posting replaces in place
        parts.append(markdown({k: v for k, v in summary.items() if k != "challenger"}, plot=None))
    parts.append(imports_table(summary))
    return "\n\n".join(part for part in parts if part) + "\n"


def imports_table(summary: dict | None) -> str:
    """Which version of the log and of the labels the run read: their DVC import files' hashes."""
    rows = [
        f"| `{path}` | `{_md5(text)}` |"
        for path, text in sorted(((summary or {}).get("imports") or {}).items())
    ]
    return "| read | version (md5) |\n|---|---|\n" + "\n".join(rows) if rows else ""


def _md5(dvc_file: str) -> str:
    import yaml

    outs = (yaml.safe_load(dvc_file) or {}).get("outs") or [{}]
    return str(outs[0].get("md5", "?"))
