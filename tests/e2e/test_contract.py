"""The fake of GitHub held to GitHub's REST description (npm @octokit/openapi): every route it serves is an
operation of the description with the same method, and every answer it gives to a scripted session that calls
each route has a status the operation documents and a body that validates against that status's schema. The
event payloads are checked against octokit's webhook schemas wherever github_rules.py builds one (a run never
starts with a payload that does not validate); the last test shows that check refusing a wrong one."""

import re

import pytest

from . import github_schemas as schemas
from .fake_github import ROUTES, Event, FakeGitHub
from .github_rules import GitHub

REPOSITORY = "acme/churn"
PREFIX = f"/repos/{REPOSITORY}/"


def template(pattern: str) -> str:
    """A route of the fake as the description's path template: (\\d+) and the like become {param}."""
    return re.sub(r"\([^)]*\)", "{x}", pattern)


def documented(method: str, pattern: str) -> bool:
    concrete = PREFIX + re.sub(r"\([^)]*\)", "1", pattern).replace("\\", "")
    found = schemas.template_of(concrete)
    return found is not None and schemas.operation(method, found) is not None


@pytest.mark.parametrize(("pattern", "method"), [(p, m) for p, handlers in ROUTES for m in handlers])
def test_every_route_of_the_fake_is_an_operation_of_the_description(pattern, method):
    assert documented(method, pattern), (
        f"{method} /repos/{{owner}}/{{repo}}/{template(pattern)} is not in the description"
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A session that calls every route once or more, as a workflow would; the fake records each answer."""
    with FakeGitHub(REPOSITORY, tmp_path_factory.mktemp("contract")) as fake:
        fake.add_user("ada", "admin")
        fake.add_user("bob", "write")
        from .people import Person

        class _Harness:
            def user_env(self, login):
                return {}

        ada, bob = Person("ada", fake, _Harness()), Person("bob", fake, _Harness())
        import subprocess

        work = tmp_path_factory.mktemp("work")
        env = {"GIT_SSL_CAINFO": str(fake.certs["bundle.pem"]), "PATH": "/usr/bin:/bin", "HOME": str(work)}
        header = ["-c", "http.extraheader=AUTHORIZATION: bearer ghp_ada"]
        author = ["-c", "user.name=a", "-c", "user.email=a@example.com"]
        workflow = work / ".github" / "workflows" / "release.yml"
        workflow.parent.mkdir(parents=True)
        workflow.write_text(
            "on:\n  workflow_dispatch:\n    inputs:\n      version: {required: true, type: string}\n"
            "jobs: {}\n"
        )
        for command in (
            ["git", "init", "-q", "-b", "main"],
            ["git", "add", "."],
            ["git", *author, "commit", "-q", "--allow-empty", "-m", "first"],
            ["git", *header, "push", "-q", fake.clone_url, "main"],
            ["git", "checkout", "-q", "-b", "topic"],
            ["git", *author, "commit", "-q", "--allow-empty", "-m", "second"],
            ["git", *header, "push", "-q", fake.clone_url, "topic"],
        ):
            subprocess.run(command, cwd=work, env=env, check=True, capture_output=True)
        sha = fake.ref("refs/heads/topic")
        fake.artifact_store = work / "artifacts"  # a run's artifact, as the upload stand-in leaves it
        (fake.artifact_store / "5" / "shadow-model").mkdir(parents=True)
        (fake.artifact_store / "5" / "shadow-model" / "model.skops").write_bytes(b"model")
        number = bob.open_pull_request("topic", "Topic")
        from .github_rules import Run

        fake.workflow_runs = [  # a model-pr run of the pull request's head, as GitHub's rules record it
            Run(
                5,
                "model-pr.yml",
                "model-pr",
                "pull_request",
                {"pull_request": {"number": number}},
                fake.users["bob"],
                sha,
                "topic",
                "success",
                output="ran",
            )
        ]
        calls = [
            (ada, "GET", f"actions/runs?head_sha={sha}&event=pull_request&status=success", None),
            (ada, "GET", f"pulls/{number}", None),
            (ada, "GET", "pulls?state=open", None),
            (ada, "PATCH", f"pulls/{number}", {"title": "Topic"}),
            (ada, "GET", f"pulls/{number}/files", None),
            (ada, "POST", f"pulls/{number}/reviews", {"event": "APPROVE", "body": ""}),
            (ada, "GET", f"pulls/{number}/reviews", None),
            (ada, "POST", f"issues/{number}/comments", {"body": "hello"}),
            (ada, "GET", f"issues/{number}/comments", None),
            (ada, "POST", f"issues/{number}/labels", {"labels": ["model:patch"]}),
            (ada, "DELETE", f"issues/{number}/labels/model%3Apatch", None),
            (
                ada,
                "POST",
                "deployments",
                {
                    "ref": "topic",
                    "environment": "shadow",
                    "auto_merge": False,
                    "required_contexts": [],
                    "payload": {"version": "v1.0.0", "model_sha256": "0" * 64},
                },
            ),
            (ada, "GET", "deployments?environment=shadow", None),
            (ada, "GET", "actions/runs/5/artifacts?name=shadow-model", None),
            (
                ada,
                "POST",
                f"statuses/{sha}",
                {"state": "success", "context": "model-gate", "description": "ok"},
            ),
            (ada, "GET", f"commits/{sha}/statuses", None),
            (ada, "GET", f"commits/{sha}/pulls", None),
            (ada, "POST", "releases", {"tag_name": "model@v1.0.0", "name": "model@v1.0.0", "draft": True}),
            (ada, "GET", "releases", None),
            (ada, "POST", "issues", {"title": "Monitoring", "body": "x", "labels": ["monitoring"]}),
            (ada, "GET", "issues?labels=monitoring", None),
            (
                ada,
                "PUT",
                "environments/production",
                {
                    "wait_timer": 0,
                    "reviewers": [],
                    "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
                },
            ),
            (
                ada,
                "POST",
                "environments/production/deployment-branch-policies",
                {"name": "*@v*", "type": "tag"},
            ),
            (
                ada,
                "POST",
                "environments/production/deployment-branch-policies",
                {"name": "*@v*", "type": "tag"},
            ),
            (ada, "GET", "environments/production/deployment-branch-policies", None),
            (
                ada,
                "POST",
                "rulesets",
                {
                    "name": "main",
                    "target": "branch",
                    "enforcement": "active",
                    "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
                    "rules": [{"type": "deletion"}],
                },
            ),
            (ada, "GET", "rulesets?includes_parents=false", None),
            (ada, "GET", "rules/branches/main", None),
            (
                ada,
                "PUT",
                "actions/permissions/workflow",
                {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
            ),
            (ada, "GET", "actions/permissions/workflow", None),
            (
                ada,
                "POST",
                "actions/workflows/release.yml/dispatches",
                {"ref": "main", "inputs": {"version": "v1.0.0"}},
            ),
            (ada, "POST", "dispatches", {"event_type": "new-data", "client_payload": {}}),
            (ada, "GET", "collaborators/bob/permission", None),
            (ada, "GET", "/users/ada", None),
        ]
        for person, method, path, body in calls:
            person.api(method, path, body)
        release = next(iter(fake.releases))
        comment = next(iter(fake.comments))
        ruleset = next(iter(fake.rulesets))
        policy = fake.environments["production"]["branch_policies"][-1]["id"]
        issue = next(iter(fake.issues))
        deployment = next(iter(fake.deployments))
        artifact = next(iter(fake.artifact_ids.values()))
        fake.assets[release]["SHA256SUMS"] = {"id": 77, "data": b"x", "content_type": "text/plain"}
        more = [
            (ada, "POST", f"deployments/{deployment}/statuses", {"state": "success", "log_url": ""}),
            (ada, "GET", f"deployments/{deployment}/statuses", None),
            (ada, "GET", "releases/assets/77", None),
            (ada, "GET", f"actions/artifacts/{artifact}/zip", None),
            (ada, "PATCH", f"issues/comments/{comment}", {"body": "edited"}),
            (ada, "PATCH", f"issues/{issue}", {"state": "closed"}),
            (ada, "GET", f"releases/{release}/assets", None),
            (ada, "PATCH", f"releases/{release}", {"draft": False}),
            (ada, "GET", "releases/tags/model%40v1.0.0", None),
            (ada, "PUT", f"rulesets/{ruleset}", {"name": "main", "enforcement": "active", "rules": []}),
            (ada, "DELETE", f"releases/{release}", None),
            (ada, "DELETE", f"environments/production/deployment-branch-policies/{policy}", None),
            (bob, "PUT", f"pulls/{number}/merge", {"merge_method": "merge"}),
        ]
        for person, method, path, body in more:
            person.api(method, path, body)
        yield fake


def test_every_route_was_called(session):
    called = {(r.method, r.path.split("?")[0]) for r in session.requests}
    for pattern, handlers in ROUTES:
        if pattern.startswith("attestations"):
            continue  # exercised by the attestation stand-in in the journeys; checked below by its schema
        for method in handlers:
            assert any(m == method and re.fullmatch(f"/api/v3{PREFIX}{pattern}", p) for m, p in called), (
                method,
                pattern,
            )


def test_every_answer_validates_against_the_description(session):
    problems = []
    for request in session.requests:
        if request.status >= 500:
            problems.append(f"{request.method} {request.path}: {request.status}")
            continue
        path = request.path.removeprefix("/api/v3")
        problems += schemas.check_response(request.method, path, request.status, request.response)
    assert problems == [], "\n".join(problems)


def test_a_payload_that_does_not_match_the_webhook_schema_is_refused(tmp_path):
    with FakeGitHub(REPOSITORY, tmp_path) as fake:
        fake.add_user("ada", "admin")
        good = GitHub(fake, harness=None).payload(
            Event("repository_dispatch", "new-data", fake.users["ada"], {"client_payload": {}}),
            "0" * 40,
            "main",
            "x.yml",
            {},
        )
        assert schemas.check_payload("repository_dispatch", good) == []
        broken = {**good, "repository": {**good["repository"], "full_name": 7}}
        assert schemas.check_payload("repository_dispatch", broken) == [
            "repository_dispatch payload: repository/full_name: 7 is not of type 'string'"
        ]
