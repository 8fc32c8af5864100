"""make github-setup applies the repository settings kept under .github/settings, against the fake of GitHub:
applying twice is harmless, lists are read to their last page, and an organisation's ruleset is never touched."""

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import HOST_PYTHON, bake, tool_env
from .e2e.fake_github import FakeGitHub

REPOSITORY = "ada-lovelace/churn-model"


def github_setup(project, **env):
    environment = {key: value for key, value in tool_env().items() if key != "GITHUB_TOKEN"} | env
    command = ["make", "github-setup"]
    return subprocess.run(command, cwd=project, env=environment, capture_output=True, text=True, timeout=60)


@pytest.fixture
def fake(tmp_path):
    with FakeGitHub(REPOSITORY, tmp_path) as fake:
        fake.add_user("ada-lovelace", "admin")
        yield fake
        assert not fake.errors, fake.errors


def test_settings_are_applied_idempotently_and_read_to_the_last_page(cookies_session, fake):
    project = bake(cookies_session, github_owner="ada-lovelace")
    organisation = fake.add_organization_ruleset(
        {"name": "main", "target": "branch", "enforcement": "evaluate", "rules": []}
    )
    for number in range(120):  # two pages of this repository's rulesets before ours (100 a page at most)
        fake.rulesets[number] = {
            "id": number,
            "name": f"other-{number}",
            "source_type": "Repository",
            "source": REPOSITORY,
            "enforcement": "disabled",
            "target": "branch",
            "rules": [],
        }
    env = {
        "GITHUB_API_URL": fake.api_url,
        "GITHUB_TOKEN": fake.user_token("ada-lovelace"),
        "SSL_CERT_FILE": str(fake.certs["bundle.pem"]),
    }
    runs = [github_setup(project, **env)]
    # a tag policy an earlier setup left (or someone added by hand): tags are not reviewed, so it must go
    stale = {"id": 7777, "name": "*@v*", "type": "tag"}
    fake.environments["production"]["branch_policies"].append(stale)
    runs.append(github_setup(project, **env, AUTOMATION_APP_ID="900001"))
    for result in runs:
        assert result.returncode == 0, result.stdout + result.stderr
    assert "environment production: 1 required reviewer(s), only from main" in runs[0].stdout
    assert "environment automation: 0 required reviewer(s), only from main" in runs[1].stdout
    assert "environment production: removed the tag policy *@v*" in runs[1].stdout
    assert "ruleset main: created" in runs[0].stdout
    assert "ruleset main: updated" in runs[1].stdout, "found on the second page, not created twice"
    assert (
        "ruleset versions: anyone with write access may create a version tag (AUTOMATION_APP_ID not set)"
        in runs[0].stdout
    )
    (tags,) = [r for r in fake.rulesets.values() if r["name"] == "versions"]
    assert tags["target"] == "tag"
    assert tags["conditions"]["ref_name"]["include"] == ["refs/tags/*@v*", "refs/tags/*#*"]
    assert [rule["type"] for rule in tags["rules"]] == ["update", "deletion", "creation"], (
        "with the App: creation too"
    )
    assert tags["bypass_actors"] == [
        {"actor_id": 900001, "actor_type": "Integration", "bypass_mode": "always"}
    ]
    assert "actions: GITHUB_TOKEN read by default, may not create or approve pull requests" in runs[0].stdout
    assert sorted(fake.environments) == ["automation", "production", "release", "staging"]
    policies = {
        name: [(p["type"], p["name"]) for p in env["branch_policies"]]
        for name, env in fake.environments.items()
    }
    assert policies == {
        "automation": [("branch", "main")],
        "production": [("branch", "main")],
        "release": [("branch", "main")],
        "staging": [],
    }, "each policy added once"
    production = fake.environments["production"]["settings"]
    assert production["reviewers"] == [{"type": "User", "id": fake.users["ada-lovelace"].user_id}]
    assert production["prevent_self_review"] is True
    ours = [r for r in fake.rulesets.values() if r["name"] == "main" and r["source_type"] == "Repository"]
    assert len(ours) == 1
    assert fake.rulesets[organisation]["enforcement"] == "evaluate", "the organisation's ruleset is untouched"
    assert not [
        r for r in fake.requests if r.method == "PUT" and r.path.endswith(f"/rulesets/{organisation}")
    ]
    rules = {rule["type"]: rule.get("parameters", {}) for rule in ours[0]["rules"]}
    assert rules["pull_request"]["required_approving_review_count"] == 1
    assert (
        "ruleset main: model-gate is required from GitHub Actions, whose token any workflow run with "
        "statuses: write holds (AUTOMATION_APP_ID not set: docs/security.md)"
    ) in runs[0].stdout
    assert "ruleset main: model-gate is required from the automation's App (900001)" in runs[1].stdout
    assert rules["required_status_checks"]["required_status_checks"] == [
        {"context": "model-gate", "integration_id": 900001}
    ], "with the App, a status from GitHub Actions (any workflow run's token) no longer counts"
    assert rules["pull_request"]["require_code_owner_review"] is True
    assert fake.workflow_permissions == {
        "default_workflow_permissions": "read",
        "can_approve_pull_request_reviews": False,
    }
    listed = [r.path for r in fake.requests if r.method == "GET" and "/rulesets" in r.path]
    assert all("includes_parents=false" in path for path in listed)
    assert any("page=2" in path for path in listed), "the Link header was followed"


def test_without_a_token_it_says_how_to_get_one(cookies_session):
    project = bake(cookies_session, python_version=HOST_PYTHON)  # the interpreter beside uv
    uv = Path(shutil.which("uv", path=tool_env()["PATH"])).parent  # uv runs the command; no gh on PATH either
    result = github_setup(project, PATH=f"{uv}:/usr/bin:/bin")
    assert result.returncode != 0
    assert "error: GITHUB_TOKEN must be set" in result.stderr
