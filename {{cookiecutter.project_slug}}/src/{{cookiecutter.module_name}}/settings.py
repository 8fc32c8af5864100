"""Repository settings as code: the staging and production environments and the ruleset of main.

`make github-setup` applies .github/settings/*.json through the REST API. Applying them again changes nothing
new: environments are PUT, and the ruleset is updated in place when one with the same name exists.
Standard library only.
"""

import json
from pathlib import Path

from . import github

SETTINGS = Path(".github/settings")


def apply(directory: Path = SETTINGS) -> None:
    environments = json.loads((directory / "environments.json").read_text(encoding="utf-8"))
    for name, settings in environments.items():
        body = {**settings, "reviewers": [_reviewer(reviewer) for reviewer in settings.get("reviewers", [])]}
        github.api("PUT", f"environments/{name}", body)
        print(f"environment {name}: {len(body['reviewers'])} required reviewer(s)")
    ruleset = json.loads((directory / "ruleset-main.json").read_text(encoding="utf-8"))
    existing = [r for r in github.api("GET", "rulesets") if r.get("name") == ruleset["name"]]
    if existing:
        github.api("PUT", f"rulesets/{existing[0]['id']}", ruleset)
        print(f"ruleset {ruleset['name']}: updated")
    else:
        github.api("POST", "rulesets", ruleset)
        print(f"ruleset {ruleset['name']}: created")


def _reviewer(reviewer: dict) -> dict:
    """{"type": "User", "login": ...} or {"type": "Team", "org": ..., "slug": ...} -> the id the API wants."""
    if reviewer["type"] == "Team":
        team = github.api_root("GET", f"orgs/{reviewer['org']}/teams/{reviewer['slug']}")
        return {"type": "Team", "id": team["id"]}
    return {"type": "User", "id": github.api_root("GET", f"users/{reviewer['login']}")["id"]}
