"""Repository settings as code: the environments (staging, production, automation) and the ruleset of main.

`make github-setup` applies .github/settings/*.json through the REST API. Applying them again changes nothing
new: environments are PUT, an environment's allowed branches are added only when missing, and the ruleset is
updated in place when one with the same name exists. Standard library only.
"""

import json
from pathlib import Path

from . import client

SETTINGS = Path(".github/settings")


def apply(directory: Path = SETTINGS) -> None:
    environments = json.loads((directory / "environments.json").read_text(encoding="utf-8"))
    for name, settings in environments.items():
        branches = settings.get("branches", [])
        body = {key: value for key, value in settings.items() if key != "branches"}
        body["reviewers"] = [_reviewer(reviewer) for reviewer in settings.get("reviewers", [])]
        client.api("PUT", f"environments/{name}", body)
        _allow_branches(name, branches)
        only = f", only from {', '.join(branches)}" if branches else ""
        print(f"environment {name}: {len(body['reviewers'])} required reviewer(s){only}")
    ruleset = json.loads((directory / "ruleset-main.json").read_text(encoding="utf-8"))
    existing = [r for r in client.api("GET", "rulesets") if r.get("name") == ruleset["name"]]
    if existing:
        client.api("PUT", f"rulesets/{existing[0]['id']}", ruleset)
        print(f"ruleset {ruleset['name']}: updated")
    else:
        client.api("POST", "rulesets", ruleset)
        print(f"ruleset {ruleset['name']}: created")


def _allow_branches(environment: str, branches: list[str]) -> None:
    """The branches allowed to deploy to (and read the secrets of) an environment with custom branch policies."""
    if not branches:
        return
    path = f"environments/{environment}/deployment-branch-policies"
    existing = {policy["name"] for policy in client.api("GET", path)["branch_policies"]}
    for branch in branches:
        if branch not in existing:
            client.api("POST", path, {"name": branch, "type": "branch"})


def _reviewer(reviewer: dict) -> dict:
    """{"type": "User", "login": ...} or {"type": "Team", "org": ..., "slug": ...} -> the id the API wants."""
    if reviewer["type"] == "Team":
        team = client.api_root("GET", f"orgs/{reviewer['org']}/teams/{reviewer['slug']}")
        return {"type": "Team", "id": team["id"]}
    return {"type": "User", "id": client.api_root("GET", f"users/{reviewer['login']}")["id"]}
