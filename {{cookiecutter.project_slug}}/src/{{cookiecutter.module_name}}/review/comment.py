"""The report comment: one per pull request, written by this workflow's bot and updated in place.

The report was written by pull-request code, so before it is posted it is made harmless: raw HTML is shown as text
(but for <details> and <summary>), @mentions are broken so nobody is notified, and a link or image may only point
at this repository, at CML's asset host or at a plot of the artifact. Plots are published with CML
(`cml asset publish`), unless the project keeps them private (REPORT_IMAGES=mermaid).

The comment to update is the newest one written by the GitHub Actions bot that starts with the marker, found on
every page of the pull request's comments: a comment anyone else wrote, marker or not, is never edited. (CML's own
`comment update` edits the newest comment carrying its watermark, whoever wrote it, and reads the first page only.)
Standard library only.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

from .. import UserError
from ..github import client

MARKER = "<!-- model-report: written by model-report.yml, updated on every push -->"
BOT = "github-actions[bot]"
ASSET_HOST = "https://asset.cml.dev/"
ALLOWED_TAGS = re.compile(r"</?(details|summary)>", re.IGNORECASE)
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(\s+\"[^\"]*\")?\s*\)")
BARE_URL = re.compile(r"(?<![(<\w])(https?://[^\s)>\]\"']+)")
MENTION = re.compile(r"(?<![\w`/])@(?=[A-Za-z0-9])")


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


def post(number: int, markdown: str) -> str:
    """Create the report comment, or update the one this workflow wrote before; return its address."""
    body = f"{MARKER}\n{markdown}"
    earlier = existing_report(number)
    if earlier:
        answer = client.api("PATCH", f"issues/comments/{earlier['id']}", {"body": body})
    else:
        answer = client.api("POST", f"issues/{number}/comments", {"body": body})
    return answer.get("html_url", "")


def sanitise(markdown: str, allowed_prefixes: tuple[str, ...]) -> str:
    """The report with raw HTML, mentions and links elsewhere made harmless (fenced code is left as it is)."""
    lines, fenced = [], False
    for line in markdown.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            lines.append(line)
            continue
        lines.append(line if fenced else _sanitise_line(line, allowed_prefixes))
    return "\n".join(lines) + "\n"


def _sanitise_line(line: str, allowed: tuple[str, ...]) -> str:
    kept = {}

    def keep(text: str) -> str:
        key = f"\0{len(kept)}\0"
        kept[key] = text
        return key

    line = ALLOWED_TAGS.sub(lambda match: keep(match[0].lower()), line)

    def link(match: re.Match) -> str:
        bang, text, target, title = match[1], match[2], match[3], match[4] or ""
        if target.startswith(allowed):
            return keep(f"{bang}[{text}]({target}{title})")
        return f"{text} (link removed: it pointed outside this repository)"

    line = LINK.sub(link, line)
    line = BARE_URL.sub(lambda match: match[1] if match[1].startswith(allowed) else f"`{match[1]}`", line)
    line = line.replace("<", "&lt;")
    line = MENTION.sub("@&#8203;", line)
    for key, text in kept.items():
        line = line.replace(key, text)
    return line


def allowed_prefixes() -> tuple[str, ...]:
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return (f"{server}/{client.repository()}/", ASSET_HOST, "plots/")


def publish_plots(markdown: str, directory: Path) -> str:
    """Upload each plot the report shows with CML and link the uploaded copy."""
    if "](plots/" not in markdown:
        return markdown
    if shutil.which("cml") is None:
        raise UserError("cml not found: the workflow installs it with iterative/setup-cml before posting")

    def upload(match: re.Match) -> str:
        result = subprocess.run(
            ["cml", "asset", "publish", str(directory / match[2])], capture_output=True, text=True
        )
        url = result.stdout.strip()
        if result.returncode != 0 or not url.startswith(ASSET_HOST):
            problem = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"cml asset publish {match[2]} failed: {problem}")
        return f"![{match[1]}]({url})"

    return re.sub(r"!\[([^\]]*)\]\((plots/[a-z_]+\.png)\)", upload, markdown)


def post_report(number: int, directory: Path, images: str) -> str:
    """Sanitise the artifact's report, publish its plots (unless kept private), post it; return its address."""
    markdown = sanitise((directory / "report.md").read_text(encoding="utf-8"), allowed_prefixes())
    if images == "publish":
        markdown = publish_plots(markdown, directory)
    return post(number, markdown)
