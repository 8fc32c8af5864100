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
# Code blocks are left as written, so the sanitiser must agree with GitHub on where one is: only the report's own
# (```mermaid with an xychart, ```bash) after a blank line, closed by ``` alone. Any other line GitHub could read as
# a fence (indented, longer, tildes, another language) is escaped, so it opens or closes nothing.
FENCE_LIKE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
OPENINGS = {"```mermaid": "xychart-beta", "```bash": None}
LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(\s+\"[^\"]*\")?\s*\)")
BARE_URL = re.compile(r"(?<![(<\w])(https?://[^\s)>\]\"']+)")
HEADLINE = re.compile(r"\A## Model report:[^\n]*\n+")  # the pull request's own verdict: replaced
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
    """The report with raw HTML, mentions and links elsewhere made harmless (its own code blocks left as written)."""
    lines, fenced, previous = [], False, ""
    source = markdown.splitlines()
    for index, line in enumerate(source):
        following = source[index + 1] if index + 1 < len(source) else ""
        if fenced and line == "```":
            fenced = False
        elif fenced:
            line = _escape_fence(line)
        elif line in OPENINGS and not previous.strip() and OPENINGS[line] in (None, following):
            fenced = True
        else:
            line = _sanitise_line(_escape_fence(line), allowed_prefixes)
        lines.append(line)
        previous = line
    return "\n".join(lines + (["```"] if fenced else [])) + "\n"


def _escape_fence(line: str) -> str:
    """A line GitHub could read as a code fence, made plain text (a backslash before its first mark)."""
    match = FENCE_LIKE.match(line)
    return line if match is None else f"{line[: match.start(1)]}\\{line[match.start(1) :]}"


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


def post_report(number: int, directory: Path, images: str, headline: str = "") -> str:
    """Sanitise the artifact's report, publish its plots (unless kept private), put the trusted headline in place of
    the report's own, and post it; return its address."""
    markdown = sanitise((directory / "report.md").read_text(encoding="utf-8"), allowed_prefixes())
    if images == "publish":
        markdown = publish_plots(markdown, directory)
    return post(number, with_headline(markdown, headline) if headline else markdown)


def with_headline(markdown: str, headline: str) -> str:
    """The trusted headline in place of the report's own (which the pull request's code wrote)."""
    return f"{headline}\n\n{HEADLINE.sub('', markdown, count=1)}"
