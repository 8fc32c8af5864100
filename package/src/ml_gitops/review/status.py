"""The model-gate commit status, which the ruleset of main requires before merging. Standard library only."""

from .. import UserError
from ..github import client
from .artifact import SHA
from .markdown import visible
from .verdict import Verdict

STATUS_CONTEXT = "model-gate"


def set_status(verdict: Verdict, target_url: str | None) -> None:
    """Post the verdict as the model-gate status of the pull request's head commit."""
    if not SHA.match(verdict.head_sha) or verdict.state not in ("success", "failure"):
        raise UserError(
            f"set-status needs a 40-character commit and the state success or failure, got "
            f"{verdict.head_sha!r} and {verdict.state!r}"
        )
    # One line, control characters shown by code point: a file name of the pull request's can reach the
    # description, and a carriage return in it started a line the runner read as a workflow command (::error::).
    description = " ".join(visible(verdict.description).split())
    body = {"state": verdict.state, "context": STATUS_CONTEXT, "description": description[:140]}
    if target_url:
        body["target_url"] = target_url
    client.api("POST", f"statuses/{verdict.head_sha}", body)
    print(f"{STATUS_CONTEXT}: {verdict.state} ({description})")
