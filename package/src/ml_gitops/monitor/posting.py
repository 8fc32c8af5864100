"""The section "on production traffic" (monitor --challenger's reports/monitor/challenger.md) posted where a
reviewer reads it, replaced in place as labels arrive: for a pull request's candidate, in that pull request's report
comment (review/comment.py, which keeps it when the report is updated); for a released version in shadow, in the
monitoring issue of the version in production (monitor/watch.py keeps it too).

The section lives at the end of the body between its own HTML-comment delimiters; posting it replaces only that
block. It is recognised only at the very end of a body this workflow's bot wrote, after the report's inert text,
so nothing a pull request's report says can pose as it. The section is the monitor's own Markdown (everything from
the log went through review/markdown.py there); it is refused unless it is one: its heading first, no HTML comment.

Standard library only: the command holds a write token.
"""

import re
import time
from pathlib import Path

from .. import UserError
from ..github import client
from ..review.markdown import MAX_COMMENT_CHARS
from ..review.traffic_block import BEGIN, END, MAX_BLOCK_CHARS, kept, with_block  # noqa: F401 (kept: part of its API)

HEADING = "## Challenger on production traffic"
CUT_NOTE = "*The section is cut here: the whole of it is the monitor run's `reports/monitor/challenger.md`.*"
COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
BOT = "github-actions[bot]"
MARKED = "<!-- monitoring of "
MARKER = MARKED + "{tag} -->"


def block(section: str, judged: str, room: int = MAX_BLOCK_CHARS) -> str:
    """The delimited block: `judged` (trusted text: which candidate, when), then the section, cut at a line so the
    whole block fits in `room` characters."""
    section = checked(section)
    frame = f"{BEGIN}\n\n{judged}\n\n\n\n{END}"
    if room - len(frame) < len(CUT_NOTE) + len(HEADING) + 2:
        raise UserError(
            f"no room is left in the body for the section on production traffic ({room:,} characters): "
            "GitHub refuses a body over 65,536 characters"
        )
    if len(section) > room - len(frame):
        lines, size = [], len(CUT_NOTE) + 2
        for line in section.splitlines():
            if size + len(line) + 1 > room - len(frame):
                break
            lines.append(line)
            size += len(line) + 1
        section = "\n".join(lines) + f"\n\n{CUT_NOTE}"
    return f"{BEGIN}\n\n{judged}\n\n{section}\n\n{END}"


def checked(section: str) -> str:
    """The monitor's section, or one clear refusal of a file that is not one."""
    section = section.strip()
    if not section.startswith(HEADING):
        raise UserError(
            f"the section does not start with '{HEADING}': give the challenger.md that monitor --challenger wrote"
        )
    if "<!--" in section or "-->" in section:
        raise UserError(
            "the section holds an HTML comment, which monitor --challenger never writes: refusing to post it"
        )
    return section


def read_section(path: Path) -> str:
    try:
        return checked(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{path} not found: run `monitor --challenger <version or sha256>` first (it writes the section)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path} cannot be read as UTF-8 text: {error}") from None


def post_to_pull_request(number: int, commit: str, section: str) -> str:
    """Replace the block in pull request `number`'s report comment; return the comment's address. The block says
    which commit's candidate was judged, and whether the pull request has moved on since."""
    from ..review import comment

    commit = _commit(commit)
    earlier = comment.existing_report(number)
    if earlier is None:
        raise UserError(
            f"pull request #{number} has no report comment yet: model-report.yml writes it on the pull request's "
            "first run; post the section after it"
        )
    head = str((client.api("GET", f"pulls/{number}").get("head") or {}).get("sha") or "")
    judged = f"The candidate of commit `{commit[:12]}` judged on production traffic, {_now()}."
    if head and head != commit and not head.startswith(commit):
        judged += (
            f"\n\n> [!NOTE]\n> The pull request has moved on: its head is now `{head[:12]}`. These numbers are of "
            "the earlier candidate; ask for the shadow again to judge the new one."
        )
    body = _body(earlier.get("body") or "", section, judged)
    answer = client.api("PATCH", f"issues/comments/{earlier['id']}", {"body": body})
    return str(answer.get("html_url", ""))


def post_to_monitoring_issue(version: str, section: str) -> str:
    """Replace the block in the monitoring issue of `version`, the version in production; return its number."""
    from ..release.tags import ARTIFACT, VERSION

    if not VERSION.match(version):
        raise UserError(f"{version!r} is not a version such as v1.2.0: refusing it")
    tag = f"{ARTIFACT}@{version}"
    marker = MARKER.format(tag=tag)
    ours = sorted(
        (
            issue
            for issue in client.paginate("issues?state=open")
            if opened_by_this_workflow(issue) and marker in (issue.get("body") or "")
        ),
        key=lambda issue: issue["number"],
    )
    if not ours:
        raise UserError(
            f"no open monitoring issue of {tag}: the scheduled monitor (retrain.yml) opens it for the version in "
            "production; give that version, or post after its first run"
        )
    judged = f"Updated {_now()}, with the labels that had arrived."
    client.api(
        "PATCH", f"issues/{ours[0]['number']}", {"body": _body(ours[0].get("body") or "", section, judged)}
    )
    return f"#{ours[0]['number']}"


def opened_by_this_workflow(issue: dict) -> bool:
    """An issue (not a pull request: GitHub lists those too) opened by GITHUB_TOKEN with a monitoring marker."""
    user = issue.get("user") or {}
    return (
        "pull_request" not in issue
        and user.get("login") == BOT
        and user.get("type") == "Bot"
        and MARKED in (issue.get("body") or "")
    )


def _body(earlier: str, section: str, judged: str) -> str:
    rest = with_block(earlier, "")
    room = min(MAX_BLOCK_CHARS, MAX_COMMENT_CHARS - len(rest) - 2)
    return with_block(rest, block(section, judged, room))


def _commit(commit: str) -> str:
    commit = (commit or "").strip().lower()
    if not COMMIT.match(commit):
        raise UserError(
            f"--commit {commit[:50]!r} is not a commit SHA: give the head commit whose candidate scored in shadow "
            "(the shadow record's head_sha)"
        )
    return commit


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
