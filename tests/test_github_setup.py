"""make github-setup applies the repository settings kept under .github/settings, and applying twice is harmless."""

import subprocess

from .conftest import bake, tool_env
from .e2e.fake_github import FakeGitHub

REPOSITORY = "ada-lovelace/churn-model"


def github_setup(project, **env):
    environment = {key: value for key, value in tool_env().items() if key != "GITHUB_TOKEN"} | env
    command = ["make", "github-setup"]
    return subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True, timeout=60)


def test_environments_and_ruleset_are_applied_idempotently(cookies_session):
    project = bake(cookies_session, github_owner="ada-lovelace")
    with FakeGitHub(REPOSITORY) as api:
        runs = [github_setup(project, GITHUB_API_URL=api.url, GITHUB_TOKEN="setup-token") for _ in range(2)]
        state = api.state
    for result in runs:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "environment production: 1 required reviewer(s)" in runs[0].stdout
    assert "ruleset main: created" in runs[0].stdout
    assert "ruleset main: updated" in runs[1].stdout
    assert sorted(state.environments) == ["automation", "production", "staging"]
    assert "environment automation: 0 required reviewer(s), only from main" in runs[1].stdout
    assert [policy["name"] for policy in state.environments["automation"]["branch_policies"]] == ["main"], (
        "the secrets of register.yml and retrain.yml are readable from main only, and the policy is added once"
    )
    assert state.environments["production"]["reviewers"] == [
        {"type": "User", "id": 5000 + len("ada-lovelace")}
    ]
    assert state.environments["staging"]["reviewers"] == []
    (ruleset,) = state.rulesets.values()
    rules = {rule["type"]: rule.get("parameters", {}) for rule in ruleset["rules"]}
    assert rules["pull_request"]["required_approving_review_count"] == 1
    assert rules["pull_request"]["require_code_owner_review"] is True
    assert rules["required_status_checks"]["required_status_checks"] == [{"context": "model-gate"}]
    assert [r.method for r in state.requests if "/rulesets" in r.path] == ["GET", "POST", "GET", "PUT"]
    assert {r.path.split("/")[1] for r in state.requests} == {"repos", "users"}
    assert all(
        r.path.startswith(f"/repos/{REPOSITORY}/") for r in state.requests if r.path.startswith("/repos")
    )


def test_without_a_token_it_says_how_to_get_one(cookies_session):
    project = bake(cookies_session)
    result = github_setup(project, PATH="/usr/bin:/bin")  # no gh on PATH either
    assert result.returncode != 0
    assert "error: GITHUB_TOKEN must be set" in result.stderr
