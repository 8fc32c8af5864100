"""The block "on production traffic" at the end of a comment or issue body: how to find it and replace it.

monitor/posting.py posts the section; review/comment.py keeps it when the report is updated. Standard library only.
"""

BEGIN = "<!-- on production traffic: begin (challenger-comment replaces this block) -->"
END = "<!-- on production traffic: end -->"
MAX_BLOCK_CHARS = 12_000  # the report comment keeps this much room for the block (review/comment.py)


def kept(body: str) -> str:
    """The block at the end of `body` (a body this workflow wrote), or "" when it has none."""
    stripped = body.rstrip()
    start = stripped.rfind(BEGIN)
    if not stripped.endswith(END) or start < 0:
        return ""
    return stripped[start:]


def with_block(body: str, block: str) -> str:
    """`body` with its block replaced by `block` (appended when it had none; removed when `block` is "")."""
    found = kept(body)
    rest = body.rstrip()[: -len(found)] if found else body
    return f"{rest.rstrip()}\n\n{block}\n" if block else f"{rest.rstrip()}\n"
