"""Each of GitHub's rules that the life of a model relies on, shown on a small repository of its own whose workflows
only say what they are (tests/README.md cites the documentation of each rule). The runs are real (act), and what
starts is decided by github_rules.py alone."""

import textwrap

import pytest

from .harness import git
from .people import Person, commit_change

pytestmark = pytest.mark.slow
CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
CALL = "python3 -c \"import json,os,sys,urllib.request as u; r=u.Request(os.environ['GITHUB_API_URL']+sys.argv[1], method=sys.argv[2], data=sys.argv[3].encode(), headers={'Authorization':'Bearer '+os.environ['TOKEN']}); print(sys.argv[1], u.urlopen(r).status)\""

WORKFLOWS = {
    "build.yml": """
        name: build
        on:
          push:
            branches: [main]
            paths: ["src/**"]
          pull_request:
            paths: ["src/**"]
        permissions: {}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: echo "building"
    """,
    "after-build.yml": """
        name: after-build
        on:
          workflow_run:
            workflows: [build]
            types: [completed]
        permissions: {}
        jobs:
          report:
            runs-on: ubuntu-latest
            steps:
              - run: echo "after-build, version of main"
    """,
    "on-tag.yml": """
        name: on-tag
        on:
          push:
            tags: ["v*"]
        permissions: {}
        jobs:
          tagged:
            runs-on: ubuntu-latest
            steps:
              - run: echo "tag workflow, version A"
    """,
    "on-branch.yml": """
        name: on-branch
        on:
          push:
            branches: ["**", "!main"]
        permissions: {}
        jobs:
          pushed:
            runs-on: ubuntu-latest
            steps:
              - run: echo "a branch was pushed"
    """,
    "on-pull-request.yml": """
        name: on-pull-request
        on: pull_request
        permissions:
          pull-requests: write
        jobs:
          look:
            runs-on: ubuntu-latest
            steps:
              - env:
                  SECRET: ${{ secrets.SOME_SECRET }}
                  TOKEN: ${{ github.token }}
                  NUMBER: ${{ github.event.pull_request.number }}
                run: |
                  echo "secret present: ${SECRET:+yes}"
                  CALL "/repos/$GITHUB_REPOSITORY/issues/$NUMBER/comments" POST '{"body": "hello"}' || echo "comment refused"
    """,
    "automation.yml": """
        name: automation
        on:
          workflow_dispatch:
        permissions: {}
        jobs:
          act-with-github-token:
            runs-on: ubuntu-latest
            permissions:
              contents: write
              pull-requests: write
              actions: write
            env:
              TOKEN: ${{ github.token }}
            steps:
              - uses: CHECKOUT
                with:
                  persist-credentials: true
              - run: |
                  git tag v9 && git push origin v9
                  git push origin HEAD:refs/heads/bot-branch
                  CALL "/repos/$GITHUB_REPOSITORY/pulls" POST '{"head": "bot-branch", "base": "main", "title": "bot"}' || echo "pull request refused"
                  CALL "/repos/$GITHUB_REPOSITORY/actions/workflows/dispatched.yml/dispatches" POST '{"ref": "main"}'
                  CALL "/repos/$GITHUB_REPOSITORY/dispatches" POST '{"event_type": "ping"}'
    """,
    "dispatched.yml": """
        name: dispatched
        on: workflow_dispatch
        permissions: {}
        jobs:
          run:
            runs-on: ubuntu-latest
            steps:
              - run: echo "dispatched"
    """,
    "on-repository-dispatch.yml": """
        name: on-repository-dispatch
        on:
          repository_dispatch:
            types: [ping]
        permissions: {}
        jobs:
          run:
            runs-on: ubuntu-latest
            steps:
              - run: echo "pinged"
    """,
    "deploy.yml": """
        name: deploy
        on: workflow_dispatch
        permissions: {}
        jobs:
          deploy:
            runs-on: ubuntu-latest
            environment: production
            steps:
              - env:
                  KEY: ${{ secrets.DEPLOY_KEY }}
                run: echo "deployed with key ${KEY:+present}"
    """,
    **{
        f"chain-{letter}.yml": f"""
        name: chain-{letter}
        on:
          workflow_run:
            workflows: [{previous}]
            types: [completed]
        permissions: {{}}
        jobs:
          link:
            runs-on: ubuntu-latest
            steps:
              - run: echo "chain {letter}"
        """
        for letter, previous in zip("bcde", ["dispatched", "chain-b", "chain-c", "chain-d"], strict=True)
    },
}


# A platform team's shared workflows, in a repository of their own that the fake serves; two callers use them.
SHARED_REPOSITORY = "acme-platform/shared"
SHARED = {
    "shared.yml": """
        name: shared
        on:
          workflow_call:
            inputs:
              greeting:
                type: string
                required: true
        permissions: {}
        jobs:
          greet:
            runs-on: ubuntu-latest
            permissions:
              contents: read
            steps:
              - env:
                  GREETING: ${{ inputs.greeting }}
                  EVENT: ${{ github.event_name }}
                run: echo "shared says $GREETING for $GITHUB_REPOSITORY on $EVENT"
    """,
    "greedy.yml": """
        name: greedy
        on: workflow_call
        permissions: {}
        jobs:
          greet:
            runs-on: ubuntu-latest
            permissions:
              contents: write
            steps:
              - run: echo "greedy ran"
    """,
}


def callers(sha):
    return {
        f"call-{name}": f"""
        name: call-{name.removesuffix(".yml")}
        on: workflow_dispatch
        permissions: {{}}
        jobs:
          greet:
            permissions:
              contents: read
            uses: {SHARED_REPOSITORY}/.github/workflows/{name}@{sha}
            with:
              greeting: hello
        """
        for name in SHARED
    }


def serve_shared_workflows(root, fake) -> str:
    """The platform team's repository, served read-only by the fake; returns its commit."""
    shared = root / "shared"
    shared.mkdir()
    git("init", "--quiet", "-b", "main", cwd=shared)
    write_workflows(shared, SHARED)
    git("add", "-A", cwd=shared)
    git("commit", "--quiet", "-m", "Shared workflows", cwd=shared)
    fake.serve_repository(SHARED_REPOSITORY, shared / ".git")
    return git("rev-parse", "HEAD", cwd=shared)


def write_workflows(repo, workflows):
    directory = repo / ".github" / "workflows"
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in workflows.items():
        text = textwrap.dedent(text).replace("CHECKOUT", CHECKOUT).replace("CALL", CALL)
        (directory / name).write_text(text.lstrip())


@pytest.fixture(scope="module")
def repo(tmp_path_factory, fake, people):
    root = tmp_path_factory.mktemp("rules")
    repo = root / "repo"
    repo.mkdir()
    git("init", "--quiet", "-b", "main", cwd=repo)
    write_workflows(repo, {**WORKFLOWS, **callers(serve_shared_workflows(root, fake))})
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text("print('v1')\n")
    (repo / "README.md").write_text("# rules\n")
    (repo / ".github" / "CODEOWNERS").write_text("/src/ @ada\n")
    git("add", "-A", cwd=repo)
    git("commit", "--quiet", "-m", "Workflows", cwd=repo)
    people["ada"].push(repo, "main")
    fake.take_events()
    ruleset = {
        "name": "main",
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    "require_last_push_approval": False,
                    "required_review_thread_resolution": False,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": False,
                    "required_status_checks": [{"context": "build", "integration_id": 15368}],
                },
            },
        ],
    }
    assert people["ada"].api("POST", "rulesets", ruleset)[0] == 201
    return repo


def workflows_of(runs):
    return sorted(run.workflow for run in runs)


def pull(fake, repo, people, person, branch, change, message):
    sha = commit_change(repo, branch, change, message)
    people[person].push(repo, f"{branch}:refs/heads/{branch}")
    fake.take_events()  # a branch pushed by a person: on-branch.yml runs, shown in its own test
    return people[person].open_pull_request(branch, message), sha


def test_events_caused_by_github_token_start_nothing_but_dispatches(repo, fake, github, people):
    assert people["ada"].dispatch("automation.yml")[0] == 204
    runs = github.settle()
    automation = runs[0]
    assert automation.workflow == "automation.yml"
    assert automation.conclusion == "success", automation.output[-3000:]
    assert "pull request refused" in automation.output
    refused = [r for r in fake.requests if r.path.endswith("/pulls") and r.method == "POST"]
    assert refused[-1].status == 403
    assert (
        refused[-1].response["message"]
        == "GitHub Actions is not permitted to create or approve pull requests."
    )
    pushes = [p for p in fake.pushes if p["who"]["login"] == "github-actions[bot]"]
    assert {u[0] for p in pushes for u in p["updates"]} == {"refs/tags/v9", "refs/heads/bot-branch"}
    # the tag (on-tag.yml) and the branch (on-branch.yml) started nothing; the two dispatches did
    assert workflows_of(runs) == [
        "automation.yml",
        "chain-b.yml",
        "chain-c.yml",
        "chain-d.yml",
        "dispatched.yml",
        "on-repository-dispatch.yml",
    ]


def test_a_called_workflow_runs_in_the_caller_s_context_and_may_not_raise_its_permissions(
    repo, fake, github, people
):
    answer = people["ada"].dispatch("call-shared.yml")
    assert answer[0] == 204, answer
    (run,) = github.settle()
    assert run.conclusion == "success", run.output[-3000:]
    assert f"shared says hello for {fake.repository} on workflow_dispatch" in run.output, (
        "cloned from the fake"
    )
    assert people["ada"].dispatch("call-greedy.yml")[0] == 204
    (run,) = github.settle()
    assert run.conclusion == "failure"
    assert run.output.startswith(f"Error calling workflow '{SHARED_REPOSITORY}/.github/workflows/greedy.yml@")
    assert run.output.endswith(
        "The nested job 'greet' is requesting 'contents: write', but is only allowed 'contents: read'."
    )
    assert "greedy ran" not in run.output


def test_workflow_run_chains_at_most_three_levels(github):
    chain = [run.workflow for run in github.runs if run.workflow.startswith(("dispatched", "chain-"))]
    assert chain == ["dispatched.yml", "chain-b.yml", "chain-c.yml", "chain-d.yml"], (
        "chain-e is a fourth level"
    )


def test_a_branch_pushed_by_a_person_starts_its_workflows(repo, fake, github, people):
    commit_change(repo, "topic", lambda: (repo / "notes.txt").write_text("x\n"), "Notes")
    people["bob"].push(repo, "topic:refs/heads/topic")
    assert workflows_of(github.settle()) == ["on-branch.yml"]


def test_a_path_filter_that_matches_nothing_skips_the_workflow_and_its_required_check(
    repo, fake, github, people
):
    number, head = pull(
        fake, repo, people, "bob", "readme", lambda: (repo / "README.md").write_text("# more\n"), "Docs"
    )
    runs = github.settle()
    assert workflows_of(runs) == ["on-pull-request.yml"], "build.yml's paths match nothing: skipped"
    assert people["ada"].review(number, "APPROVE")[0] == 200
    status, answer = people["ada"].merge(number)
    assert status == 405
    assert "required status build is expected: it never reported" in answer["message"]


def test_merging_needs_the_required_check_and_an_approval_from_someone_with_write_access(
    repo, fake, github, people
):
    number, head = pull(
        fake,
        repo,
        people,
        "bob",
        "code",
        lambda: (repo / "src" / "app.py").write_text("print('v2')\n"),
        "Code",
    )
    runs = github.settle()
    assert workflows_of(runs) == ["after-build.yml", "build.yml", "on-pull-request.yml"]
    assert people["bob"].review(number, "APPROVE")[0] == 422, "nobody approves their own pull request"
    assert people["mallory"].review(number, "APPROVE")[0] == 200, "anyone who can read may approve..."
    status, answer = people["bob"].merge(number)
    assert status == 405
    assert "1 approving review(s) from users with write access required, 0 given" in answer["message"], (
        "...but it does not count"
    )
    assert people["carol"].review(number, "APPROVE")[0] == 200
    # a new push makes that approval stale (dismiss_stale_reviews_on_push)
    commit_change(
        repo, "code", lambda: (repo / "src" / "app.py").write_text("print('v3')\n"), "More code", base="code"
    )
    people["bob"].push(repo, "code:refs/heads/code")
    github.settle()
    assert people["bob"].merge(number)[0] == 405
    assert people["carol"].review(number, "APPROVE")[0] == 200
    status, answer = people["bob"].merge(number)
    assert status == 200, answer
    assert [run.workflow for run in github.settle()] == ["build.yml", "after-build.yml"], (
        "the merge is bob's push to main"
    )


def test_direct_pushes_to_main_are_refused_by_the_ruleset(repo, people):
    git(
        "fetch",
        "--quiet",
        people["ada"].fake.clone_url,
        "main",
        cwd=repo,
        env=people["ada"].harness.user_env("ada"),
    )
    git("checkout", "--quiet", "-B", "main", "FETCH_HEAD", cwd=repo)
    (repo / "src" / "app.py").write_text("print('sneaky')\n")
    git("commit", "--quiet", "-am", "Straight to main", cwd=repo)
    result = people["carol"].push(repo, "main", check=False)
    assert result.returncode != 0
    assert "GH013: Repository rule violations found for refs/heads/main" in result.stderr
    assert "Changes must be made through a pull request." in result.stderr
    git("reset", "--quiet", "--hard", "HEAD~1", cwd=repo)


def test_workflow_run_uses_the_default_branch_file_and_a_tag_push_the_tag_file(repo, fake, github, people):
    def edit_both():
        (repo / "src" / "app.py").write_text("print('v4')\n")
        after = repo / ".github" / "workflows" / "after-build.yml"
        after.write_text(after.read_text().replace("version of main", "version of the pull request"))
        tag = repo / ".github" / "workflows" / "on-tag.yml"
        tag.write_text(tag.read_text().replace("version A", "version B"))

    number, head = pull(fake, repo, people, "bob", "edit-workflows", edit_both, "Edit workflows")
    runs = {run.workflow: run for run in github.settle()}
    assert "after-build, version of main" in runs["after-build.yml"].output
    assert "version of the pull request" not in runs["after-build.yml"].output
    git("tag", "v2", head, cwd=repo)
    people["ada"].push(repo, "v2")
    (tagged,) = github.settle()
    assert tagged.workflow == "on-tag.yml"
    assert "tag workflow, version B" in tagged.output


def test_a_fork_pull_request_gets_a_read_only_token_and_no_secrets(repo, fake, github, people):
    github.secrets["SOME_SECRET"] = "s3cret"
    commit_change(repo, "fork-work", lambda: (repo / "README.md").write_text("# fork\n"), "From a fork")
    number = fake.open_fork_pull_request("mallory", "mallory/churn", "fork-work", repo, "From a fork")
    (run,) = [run for run in github.settle() if run.workflow == "on-pull-request.yml"]
    assert "secret present:" in run.output
    assert "secret present: yes" not in run.output
    assert "comment refused" in run.output
    assert not fake.comments_on(number)


def test_environments_decide_who_deploys_and_from_which_ref(repo, fake, github, people):
    github.environment_secrets["production"] = {"DEPLOY_KEY": "deploy-key-value"}
    settings = {
        "wait_timer": 0,
        "prevent_self_review": True,
        "reviewers": [{"type": "User", "id": 10000}],
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    assert people["ada"].api("PUT", "environments/production", settings)[0] == 200
    assert (
        people["ada"].api(
            "POST", "environments/production/deployment-branch-policies", {"name": "main", "type": "branch"}
        )[0]
        == 200
    )
    assert (
        people["ada"].api(
            "POST", "environments/production/deployment-branch-policies", {"name": "main", "type": "branch"}
        )[0]
        == 303
    )
    github.deployment_approvers["production"] = "ada"
    people["ada"].dispatch("deploy.yml")
    (waiting,) = github.settle()
    assert waiting.conclusion == "waiting", "ada may not approve her own run"
    assert waiting.waiting == ["production"]
    people["bob"].dispatch("deploy.yml")
    (deployed,) = github.settle()
    assert deployed.conclusion == "success", deployed.output[-2000:]
    assert "deployed with key present" in deployed.output
    people["bob"].dispatch("deploy.yml", ref="topic")
    (refused,) = github.settle()
    assert refused.conclusion == "failure"
    assert (
        'Branch "topic" is not allowed to deploy to production due to environment protection rules.'
        in refused.output
    )


def test_github_token_needs_issues_write_for_issues_and_the_issue_list_holds_pull_requests(
    fake, people, harness
):
    as_run = Person("ada", fake, harness)
    as_run.token = fake.run_token(9001, {"contents": "read"})
    status, refused = as_run.api("POST", "issues", {"title": "Monitoring", "body": "x"})
    assert (status, refused["message"]) == (403, "Resource not accessible by integration")
    as_run.token = fake.run_token(9002, {"contents": "read", "issues": "write"})
    status, opened = as_run.api("POST", "issues", {"title": "Monitoring", "body": "x"})
    assert status == 201
    assert opened["user"]["login"] == "github-actions[bot]"
    assert opened["user"]["type"] == "Bot"
    status, listed = as_run.api("GET", "issues?state=all&per_page=100")
    assert status == 200
    pulls = {item["number"] for item in listed if "pull_request" in item}
    assert pulls == set(fake.pulls), "every pull request is listed, marked by its pull_request key"
    assert opened["number"] in {item["number"] for item in listed if "pull_request" not in item}


def test_the_fake_records_which_token_caused_what(fake):
    kinds = {(p["who"]["kind"], u[0].split("/")[1]) for p in fake.pushes for u in p["updates"]}
    assert ("github_token", "tags") in kinds
    assert ("user", "heads") in kinds
    assert all(r.who is not None for r in fake.requests if r.method != "GET" or r.status != 401)
