"""The model-gate commit status, which the ruleset of main requires before merging. Standard library only."""

from urllib.parse import quote

from .. import UserError
from ..github import client
from ..github.settings import ACTIONS_APP_ID, STATUS_CONTEXT
from .artifact import SHA
from .markdown import visible
from .verdict import NO_STATUS, Verdict

ACTIONS_BOT = "github-actions[bot]"  # the status's creator when GITHUB_TOKEN set it


def set_status(verdict: Verdict, target_url: str | None) -> None:
    """Post the verdict as the model-gate status of the pull request's head commit (none for an unjudged one)."""
    if verdict.state == NO_STATUS:
        print(f"{STATUS_CONTEXT}: no status ({verdict.description})")
        return
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
    posted = client.api("POST", f"statuses/{verdict.head_sha}", body)
    print(f"{STATUS_CONTEXT}: {verdict.state} ({description})")
    _check_the_rules_accept_it(posted)


def _check_the_rules_accept_it(posted: dict) -> None:
    """Refuse in one line when the rules of the default branch require model-gate from another app than the one
    that just set it: the check would wait as "expected" forever, and nothing would say why. (Only the repository's
    metadata is read: the App's token may set statuses and nothing else.)"""
    base = client.api_root("GET", f"repos/{client.repository()}")["default_branch"]
    apps = _required_from(base)
    by_actions = (posted.get("creator") or {}).get("login") == ACTIONS_BOT
    if by_actions and apps - {None, ACTIONS_APP_ID}:
        raise UserError(
            f"the rules of {base} require {STATUS_CONTEXT} from the GitHub App {_ids(apps - {None, ACTIONS_APP_ID})}, "
            f"but GitHub Actions set it: give the automation its App (variable AUTOMATION_APP_CLIENT_ID, secret "
            f"AUTOMATION_APP_PRIVATE_KEY in the environment automation), or run make github-setup without "
            f"AUTOMATION_APP_ID"
        )
    if not by_actions and ACTIONS_APP_ID in apps:
        raise UserError(
            f"the rules of {base} require {STATUS_CONTEXT} from GitHub Actions, but the automation's App set it: "
            f"run AUTOMATION_APP_ID=<the App's numeric ID> make github-setup"
        )


def _required_from(branch: str) -> set[int | None]:
    """The apps (integration IDs; None: any) that the active rules of `branch` require model-gate from."""
    return {
        check.get("integration_id")
        for rule in client.paginate(f"rules/branches/{quote(branch, safe='')}")
        if rule.get("type") == "required_status_checks"
        for check in (rule.get("parameters") or {}).get("required_status_checks", [])
        if check.get("context") == STATUS_CONTEXT
    }


def _ids(apps: set) -> str:
    return ", ".join(str(app) for app in sorted(apps))
