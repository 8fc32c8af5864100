"""The model-gate commit status, which the ruleset of main requires before merging. Standard library only."""

from .. import UserError
from ..github import client
from .artifact import SHA

STATUS_CONTEXT = "model-gate"


def set_status(sha: str, gate: str, target_url: str | None) -> None:
    """The `model-gate` commit status, which a branch ruleset can require before merging."""
    if not SHA.match(sha) or gate not in ("pass", "fail"):
        raise UserError(
            f"set-status needs a 40-character --sha and --gate pass|fail, got {sha!r} and {gate!r}"
        )
    body = {
        "state": "success" if gate == "pass" else "failure",
        "context": STATUS_CONTEXT,
        "description": "The candidate model passed the gate"
        if gate == "pass"
        else "The candidate model failed the gate",
    }
    if target_url:
        body["target_url"] = target_url
    client.api("POST", f"statuses/{sha}", body)
