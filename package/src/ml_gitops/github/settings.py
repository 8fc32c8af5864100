"""Repository settings as code: the environments, the rulesets and the Actions permissions the workflows rely on.

`make github-setup` applies .github/settings/*.json through the REST API. Applying them again changes nothing new:
environments are PUT, an environment's allowed refs are added only when missing, and each ruleset is updated in
place when this repository has one with the same name (an organisation's rulesets are listed too, but never
touched). Standard library only.
"""

import json
import os
from pathlib import Path

from .. import UserError
from . import client

SETTINGS = Path(".github/settings")
APP_ID = "AUTOMATION_APP_ID"  # the automation's GitHub App: it alone creates version tags and sets model-gate
STATUS_CONTEXT = "model-gate"  # the commit status the ruleset of main requires (review/status.py sets it)
ACTIONS_APP_ID = 15368  # GitHub Actions: every workflow run's GITHUB_TOKEN is this app


def apply(directory: Path = SETTINGS) -> None:
    environments = json.loads((directory / "environments.json").read_text(encoding="utf-8"))
    for name, settings in environments.items():
        policies = settings.get("branches", []) + [f"tag:{tag}" for tag in settings.get("tags", [])]
        body = {key: value for key, value in settings.items() if key not in ("branches", "tags")}
        body["reviewers"] = [_reviewer(reviewer) for reviewer in settings.get("reviewers", [])]
        client.api("PUT", f"environments/{name}", body)
        _allow_refs(name, policies)
        only = f", only from {', '.join(policies)}" if policies else ""
        print(f"environment {name}: {len(body['reviewers'])} required reviewer(s){only}")
    app_id = _app_id()
    for path in sorted(directory.glob("ruleset-*.json")):
        ruleset = json.loads(path.read_text(encoding="utf-8"))
        if ruleset.get("target") == "tag":
            ruleset = _tags_created_by_the_app_only(ruleset, app_id)
        else:
            ruleset = _gate_set_by_the_app_only(ruleset, app_id)
        _apply_ruleset(ruleset)
    actions = json.loads((directory / "actions.json").read_text(encoding="utf-8"))
    client.api("PUT", "actions/permissions/workflow", actions)
    print(
        f"actions: GITHUB_TOKEN {actions['default_workflow_permissions']} by default, "
        f"{'may' if actions['can_approve_pull_request_reviews'] else 'may not'} create or approve pull requests"
    )


def _app_id() -> int | None:
    """The automation App's numeric ID from AUTOMATION_APP_ID, or None when it is not set."""
    app_id = os.environ.get(APP_ID, "").strip()
    if not app_id:
        return None
    if not app_id.isdigit():
        raise UserError(
            f"{APP_ID} must be the GitHub App's numeric ID (its settings page shows it), got {app_id!r}"
        )
    return int(app_id)


def _tags_created_by_the_app_only(ruleset: dict, app_id: int | None) -> dict:
    """With the automation's App, creating a version or stage tag becomes its alone (the App is the ruleset's one
    bypass actor). Without an App, the workflows' GITHUB_TOKEN must be free to create them, and so is anyone with
    write access: the tags stay immovable and undeletable, and a release still refuses any tag main does not hold."""
    if app_id is None:
        print(
            f"ruleset {ruleset['name']}: anyone with write access may create a version tag ({APP_ID} not set)"
        )
        return ruleset
    return {
        **ruleset,
        "rules": [*ruleset["rules"], {"type": "creation"}],
        "bypass_actors": [{"actor_id": app_id, "actor_type": "Integration", "bypass_mode": "always"}],
    }


def _gate_set_by_the_app_only(ruleset: dict, app_id: int | None) -> dict:
    """With the automation's App, the required model-gate status counts only when the App set it (model-report.yml
    sets it with the App's token). Without one it is GitHub Actions', which any workflow run granted statuses:
    write is, a writer's own branch's too (docs/security.md)."""
    rules = ruleset.get("rules", [])
    checks = [
        check
        for rule in rules
        if rule.get("type") == "required_status_checks"
        for check in rule["parameters"]["required_status_checks"]
        if check["context"] == STATUS_CONTEXT
    ]
    if not checks:
        return ruleset
    if app_id is None:
        print(
            f"ruleset {ruleset['name']}: {STATUS_CONTEXT} is required from GitHub Actions, whose token any "
            f"workflow run with statuses: write holds ({APP_ID} not set: docs/security.md)"
        )
        return ruleset
    ruleset = json.loads(json.dumps(ruleset))  # a copy: the rules are nested
    for rule in ruleset["rules"]:
        for check in rule.get("parameters", {}).get("required_status_checks", []):
            if check["context"] == STATUS_CONTEXT:
                check["integration_id"] = app_id
    print(f"ruleset {ruleset['name']}: {STATUS_CONTEXT} is required from the automation's App ({app_id})")
    return ruleset


def _apply_ruleset(ruleset: dict) -> None:
    """Create the ruleset, or update this repository's one of that name (never an organisation's)."""
    ours = [
        existing
        for existing in client.paginate("rulesets?includes_parents=false")
        if existing.get("name") == ruleset["name"]
        and existing.get("source_type", "Repository") == "Repository"
    ]
    if ours:
        client.api("PUT", f"rulesets/{ours[0]['id']}", ruleset)
        print(f"ruleset {ruleset['name']}: updated")
    else:
        client.api("POST", "rulesets", ruleset)
        print(f"ruleset {ruleset['name']}: created")


def _allow_refs(environment: str, policies: list[str]) -> None:
    """Exactly these branches (and tags, as tag:<pattern>) may deploy to an environment with custom policies: any
    other policy, left by an earlier setup or added by hand, is removed."""
    if not policies:
        return
    path = f"environments/{environment}/deployment-branch-policies"
    wanted = {("tag", p[4:]) if p.startswith("tag:") else ("branch", p) for p in policies}
    existing = {(p.get("type", "branch"), p["name"]): p["id"] for p in client.paginate(path)}
    for kind, name in sorted(wanted - set(existing)):
        client.api("POST", path, {"name": name, "type": kind})  # 303 when it exists after all: fine
    for kind, name in sorted(set(existing) - wanted):
        client.api("DELETE", f"{path}/{existing[kind, name]}")
        print(f"environment {environment}: removed the {kind} policy {name}")


def _reviewer(reviewer: dict) -> dict:
    """{"type": "User", "login": ...} or {"type": "Team", "org": ..., "slug": ...} -> the id the API wants."""
    if reviewer["type"] == "Team":
        team = client.api_root("GET", f"orgs/{reviewer['org']}/teams/{reviewer['slug']}")
        return {"type": "Team", "id": team["id"]}
    return {"type": "User", "id": client.api_root("GET", f"users/{reviewer['login']}")["id"]}
