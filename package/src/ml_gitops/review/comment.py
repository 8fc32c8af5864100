"""The report comment: one per pull request, written by this workflow's bot and updated in place.

The comment says only what model-report.yml decided or checked. Its headline and verdict come from the verdict
(review/verdict.py); its metrics table from report.json's numbers, checked to be finite numbers by name; its plots
are the report's key chart of both models drawn again from its numbers (review/charts.py) and, unless the project
keeps images private (REPORT_IMAGES=mermaid), the artifact's checked plots/*.png of the candidate, published with
CML (`cml asset publish`) and linked by this code. The report the pull request's code wrote follows, collapsed and inert: a code block no line of
it can close (review/markdown.py), so none of its links, images, HTML, headings or mentions is rendered.

The comment to update is the newest one written by the GitHub Actions bot that starts with the marker, found on
every page of the pull request's comments: a comment anyone else wrote, marker or not, is never edited. (CML's own
`comment update` edits the newest comment carrying its watermark, whoever wrote it, and reads the first page only.)
An update keeps the section "on production traffic" the comment holds at its end (monitor/posting.py): a push after
the candidate's shadow started does not erase that evidence, and the section says which commit it judged.
Standard library only (and params.yaml's gate metric, read as the verdict reads it).
"""

import json
import math
import os
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .. import UserError
from ..github import client
from . import artifact, charts, markdown
from . import traffic_block as posting

if TYPE_CHECKING:
    from .verdict import Verdict

MARKER = "<!-- model-report: written by model-report.yml, updated on every push -->"
BOT = "github-actions[bot]"
ASSET_HOST = "https://asset.cml.dev/"
ASSET_URL = re.compile(r"^https://asset\.cml\.dev/[A-Za-z0-9._~/?=&%+-]{1,500}$")
MARKS = {"success": "✅ gate passed", "failure": "❌ gate failed"}
INCONCLUSIVE = "inconclusive"  # review/gate.py's outcome when the interval of the delta decides neither way
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
HEADLINE = re.compile(r"\A\s*#{1,6} Model report:[^\n]*\n+")  # the run's own verdict: dropped from its report
MAX_METRICS = 40  # rows of the metrics table (a task has at most a dozen metrics)
MAX_PLOTS = 12  # plots published (the report draws at most six)
UPLOADS_AT_ONCE = 4  # CML processes at a time: more only share the runner's cores (each takes about 85 MB)
# An upload takes 1 to 3 s, most of it CML's start-up: one with no answer in this long is stopped and made again,
# once, rather than left to hold the job until GitHub's six-hour limit
UPLOAD_SECONDS = 60
UPLOAD_TRIES = 2
ROOM = 2_000  # characters kept free of the report's text for the trusted parts' own growth
CUT_NOTE = "The report is cut here: the whole of it is in the run's `model-report` artifact."


def existing_report(number: int) -> dict | None:
    """The newest report comment this workflow wrote on pull request `number`, if any."""
    ours = [
        comment
        for comment in client.paginate(f"issues/{number}/comments")
        if comment.get("user", {}).get("login") == BOT
        and comment.get("user", {}).get("type") == "Bot"
        and (comment.get("body") or "").startswith(MARKER)
    ]
    return ours[-1] if ours else None


def post(number: int, body_markdown: str) -> str:
    """Create the report comment, or update the one this workflow wrote before (keeping its section on production
    traffic); return its address."""
    body = f"{MARKER}\n{body_markdown}"
    earlier = existing_report(number)
    if earlier:
        if section := posting.kept(earlier.get("body") or ""):
            body = posting.with_block(body, section)
        answer = client.api("PATCH", f"issues/comments/{earlier['id']}", {"body": body})
    else:
        answer = client.api("POST", f"issues/{number}/comments", {"body": body})
    return answer.get("html_url", "")


def headline(verdict: "Verdict") -> str:
    """The comment's headline, from the trusted verdict alone (its reasons shown as plain text)."""
    reasons = ". ".join(part.rstrip(".") for part in (verdict.description, verdict.detail) if part) + "."
    mark = MARKS.get(verdict.state, MARKS["failure"])
    if getattr(verdict, "outcome", "") == INCONCLUSIVE:
        mark = f"❔ gate inconclusive, which {'passes' if verdict.state == 'success' else 'blocks the merge'}"
    return (
        f"## Model report: {mark}\n\n"
        f"> **model-gate: {'success' if verdict.state == 'success' else 'failure'}**, decided by model-report.yml "
        f"on the default branch. {markdown.text(reasons)}"
    )


def post_report(
    number: int, directory: Path, images: str, trusted_headline: str = "", head_sha: str | None = None
) -> str:
    """Post the comment for the checked artifact in `directory` under `trusted_headline` (headline(verdict));
    return its address. With `head_sha`, only while the pull request is still at that commit ("" if it moved)."""
    body = compose(directory, images, trusted_headline)  # the plots' uploads can take minutes
    if head_sha is not None and (moved := _moved_on(number, head_sha)):
        print(f"pull request #{number} moved on to {moved[:12]}: its own run posts the report of that commit")
        return ""
    return post(number, body)


def _moved_on(number: int, head_sha: str) -> str:
    """The pull request's head commit when it is no longer `head_sha` ("" when it still is): a run for an older
    commit that finishes last must not overwrite the newer commit's report."""
    head = str((client.api("GET", f"pulls/{number}").get("head") or {}).get("sha", ""))
    return "" if head == head_sha else head or "an unknown commit"


def compose(directory: Path, images: str, trusted_headline: str = "") -> str:
    """The comment's Markdown: the headline, the checked numbers, the plots, then the run's report as inert text."""
    summary = artifact.read_summary(directory / "report.json")
    report = (directory / "report.md").read_text(encoding="utf-8")
    plots = charts.redraw(report) + (published_plots(directory) if images == "publish" else [])
    sections = [
        trusted_headline
        or "## Model report\n\n> The verdict is this commit's model-gate status, set by model-report.yml.",
        metrics_section(summary),
        segments_section(summary),
        "### Plots\n\n" + "\n\n".join(plots) if plots else "",
    ]
    trusted = "\n\n".join(section for section in sections if section)
    # the room left for the report: the section on production traffic (monitor/posting.py) keeps its own
    room = max(markdown.MAX_COMMENT_CHARS - len(MARKER) - len(trusted) - ROOM - posting.MAX_BLOCK_CHARS, 0)
    return f"{trusted}\n\n{report_as_text(HEADLINE.sub('', report, count=1), room)}\n"


def report_as_text(report: str, room: int) -> str:
    """The run's report, collapsed, as an inert code block of at most `room` characters."""
    return (
        "<details><summary>The report as the pull request's run wrote it (not checked: shown as text)</summary>"
        f"\n\n{markdown.block(report, room, CUT_NOTE)}\n\n</details>"
    )


def metrics_section(summary: dict) -> str:
    """The candidate's numbers against the champion's, as the verdict compares them: main's committed metrics, or
    the champion scored again by the run when the test set changed."""
    from ..core import config, paths

    candidate = summary.get("metrics", {})
    if not candidate:
        return ""
    rescored = summary.get("comparison") == artifact.RESCORED
    if rescored:  # both models on the rows both were judged on, when the report gives them
        champion = summary.get("champion_metrics", {})
        candidate = _finite(summary.get("compared_metrics")) or candidate
    else:
        champion = _finite(
            json.loads(paths.METRICS.read_text(encoding="utf-8")) if paths.METRICS.exists() else {}
        )
    gate_metric = config.load().gate.metric
    rows = ["| metric | champion | candidate | delta |", "|---|--:|--:|--:|"]
    for name in sorted(n for n in {*candidate, *champion} if METRIC_NAME.match(n))[:MAX_METRICS]:
        old, new = champion.get(name), candidate.get(name)
        label = f"**`{name}`** (gate)" if name == gate_metric else f"`{name}`"
        delta = None if old is None or new is None else new - old
        rows.append(f"| {label} | {_number(old)} | {_number(new)} | {_number(delta, '+')} |")
    whose = (
        "the champion scored again by the run on the candidate's test set"
        if rescored
        else "main's `reports/metrics.json`"
    )
    return (
        f"### Metrics\n\nChampion: {whose}. Candidate: as the pull request's run reported them (checked to be "
        "numbers; whether its code computes them is the reviewers' to judge).\n\n" + "\n".join(rows)
    )


def segments_section(summary: dict) -> str:
    """The segments of the columns the default branch names, as the verdict judged them (review/segments.py: every
    value through markdown.text); the other columns the run measured are named, shown in its report below."""
    from ..core import config
    from . import segments
    from .verdict import segments_again

    settings = config.load()
    try:
        judgement, missing = segments_again(settings, summary)
        _, found = segments.from_summary(summary)
    except UserError as refusal:
        return f"### Segments\n\n{markdown.text(str(refusal))}"
    if missing:
        return f"### Segments\n\n{markdown.text(missing)}"
    trusted = {column.name for column in settings.segments.columns}
    others = sorted({segment.column for segment in found} - trusted)
    note = (
        f"\n\nThe run also measured {', '.join(markdown.text(name) for name in others[:10])}, which the default "
        "branch does not name: see its report below."
        if others
        else ""
    )
    table = segments.markdown(judgement) if judgement is not None else ""
    if not table:
        return f"### Segments{note}" if note else ""
    return (
        f"{table}\n\nNumbers as the pull request's run measured them; judged with the default branch's "
        f"params.yaml (segments, gate.segments: {'block' if settings.segments.blocks else 'report'}).{note}"
    )


def _finite(values: object) -> dict:
    """The finite numbers of a mapping of names to values (anything else left out)."""
    if not isinstance(values, dict):
        return {}
    return {
        name: value
        for name, value in values.items()
        if isinstance(name, str)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    }


def _number(value, sign: str = "") -> str:
    return "–" if value is None else f"{value:{sign}.4f}"


def published_plots(directory: Path) -> list[str]:
    """Each of the artifact's plots (checked names), uploaded with CML and shown by this code, in name order. The
    uploads run side by side: each is a CML process whose start-up, not its upload, takes most of its time."""
    plots = sorted(
        path for path in (directory / "plots").glob("*.png") if artifact.PLOT_NAME.match(path.name)
    )[:MAX_PLOTS]
    if not plots:
        return []
    if shutil.which("cml") is None:
        raise UserError("cml not found: the workflow installs it before posting")
    with ThreadPoolExecutor(min(len(plots), UPLOADS_AT_ONCE)) as uploads:
        urls = list(uploads.map(_publish, plots))  # the first failed upload, in name order, raises here
    return [f"![{plot.stem.replace('_', ' ')}]({url})" for plot, url in zip(plots, urls, strict=True)]


def _publish(plot: Path) -> str:
    """The plot's address on CML's asset host. An upload that fails or gets no answer in UPLOAD_SECONDS is made
    once more (the host stores a file under its content's address, so a second upload is the same asset); an
    answer that is no address of the asset host is refused at once."""
    for _ in range(UPLOAD_TRIES):
        returncode, stdout, stderr = _upload(plot)
        if returncode is None:
            problem = f"no answer in {UPLOAD_SECONDS} s"
            continue
        url = stdout.strip()
        if returncode == 0 and ASSET_URL.match(url):
            return url
        problem = (stderr.strip().splitlines() or [f"it printed {url[:80]!r}"])[-1]
        if returncode == 0:
            break
    raise UserError(f"cml asset publish {plot.name} failed: {problem}")


def _upload(plot: Path) -> tuple[int | None, str, str]:
    """`cml asset publish` of the plot: its exit status (None: stopped, with every process it started, after
    UPLOAD_SECONDS), output and errors."""
    with subprocess.Popen(
        ["cml", "asset", "publish", str(plot)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, so that stopping it stops what it started
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=UPLOAD_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return None, "", ""
        return child.returncode, stdout, stderr
