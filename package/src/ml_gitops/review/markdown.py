"""Markdown the trusted workflows post, with what a pull request wrote made inert. Standard library only.

A comment posted with a write token says only what the trusted side decided or checked. Anything the pull request's
code wrote (its report, its smoke test's words, a file name) reaches the comment in one of two inert forms:
- `block(text)`: a fenced code block whose backtick fence is longer than any backtick run in the text, so no line
  of it can close the block; GitHub renders nothing inside (no heading, link, autolink, image, HTML or mention);
- `text(value)`: one line of plain text, its Markdown punctuation escaped and the characters that start an
  autolink, a mention or a reference followed by a zero-width space.
Both show invisible and bidirectional control characters by their code point (they could make the shown text read
otherwise than it is) and break @mentions (GitHub notifies nobody from a code block, and nobody from these either).
"""

import re
import unicodedata

MAX_COMMENT_CHARS = 65_536  # GitHub refuses a longer comment body
ZERO_WIDTH_SPACE = "\u200b"
BACKTICKS = re.compile(r"`+")
PUNCTUATION = re.compile(r"([\\`*_\[\]<>!&~|#])")
LINE_START = re.compile(r"^(\d{0,9})([-+=.)])")  # a list item, a setext underline or a thematic break
LINK_LOOKALIKE = re.compile(
    r"[\]<]|\bsrc(?=\s*=)", re.IGNORECASE
)  # what artifact._check_links reads as a link
STARTS_A_LINK = re.compile(r"(@|#|:(?=//)|www(?=\.)|(?<![a-z0-9])gh(?=-\d))", re.IGNORECASE)  # GH-1: issue 1
MENTION = re.compile(r"@(?=\S)")


def visible(value: str) -> str:
    """`value` with line endings as \\n and every control, format (zero-width, bidirectional) or unassigned
    character but tab and newline shown by its code point, e.g. <U+202E>."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        character
        if character in "\n\t"
        or unicodedata.category(character) not in ("Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp")
        else f"<U+{ord(character):04X}>"
        for character in value
    )


def block(value: str, limit: int, cut_note: str) -> str:
    """`value` as an inert fenced code block of at most about `limit` characters; `cut_note` (trusted text) says
    where the rest is when it is cut."""
    shown = MENTION.sub(f"@{ZERO_WIDTH_SPACE}", visible(value))
    cut = len(shown) > limit
    if cut:
        shown = shown[:limit]
    fence = "`" * max(3, 1 + max((len(run) for run in BACKTICKS.findall(shown)), default=0))
    body = f"{fence}text\n{shown.rstrip(chr(10))}\n{fence}"
    return f"{body}\n\n{cut_note}" if cut else body


def text(value: str) -> str:
    """`value` as one line of inert text: its punctuation escaped, no autolink, mention or reference."""
    line = " ".join(visible(str(value)).split())
    line = LINE_START.sub(r"\1\\\2", PUNCTUATION.sub(r"\\\1", line))
    return STARTS_A_LINK.sub(lambda match: match[0] + ZERO_WIDTH_SPACE, line)


def inert(value: object) -> str:
    """`value` as inert text for report.md (text), with a zero-width space after each `]` and `<` and each `src`
    before `=`: artifact._check_links refuses a whole report in which it reads a link or an HTML image, escaped or
    not."""
    return LINK_LOOKALIKE.sub(lambda found: found[0] + ZERO_WIDTH_SPACE, text(value))
