"""The pull-request review loop, run for real under act: model-pr trains and gates, model-report comments.

One baked project and one origin serve the whole module, in order: an improving pull request, a second push to
it, a worse one, one from a fork, malformed artifacts, then reviews of those pull requests (promote.yml).
"""

import itertools
import json
import os

import pytest
import yaml

from .conftest import BETTER, REPOSITORY, WORSE, set_model
from .harness import git, pinned_actions

FORK = "mallory/churn"

FORGED_RUN_IDS = itertools.count(900)

pytestmark = pytest.mark.slow


def push_branch(project, branch, params, ref=None) -> str:
    """Commit a params change on `branch` and push it (to `ref`, e.g. a fork's refs/pull/N/head)."""
    git("checkout", "--quiet", "-B", branch, "main", cwd=project)
    set_model(project, params)
    git("commit", "--quiet", "-am", f"Try {params}", cwd=project)
    git("push", "--quiet", "--force", "origin", f"HEAD:{ref or f'refs/heads/{branch}'}", cwd=project)
    sha = git("rev-parse", "HEAD", cwd=project)
    git("checkout", "--quiet", "main", cwd=project)
    return sha


def pull_request_event(number, head_sha, base_sha, head_repository=REPOSITORY):
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head_sha, "ref": f"pr-{number}", "repo": {"full_name": head_repository}},
            "base": {"sha": base_sha, "ref": "main", "repo": {"full_name": REPOSITORY}},
        },
        "repository": {"full_name": REPOSITORY},
    }


def workflow_run_event(run_id, head_sha, conclusion):
    return {
        "action": "completed",
        "workflow_run": {
            "id": run_id,
            "name": "model-pr",
            "event": "pull_request",
            "conclusion": conclusion,
            "head_sha": head_sha,
            "html_url": f"https://github.com/{REPOSITORY}/actions/runs/{run_id}",
        },
        "repository": {"full_name": REPOSITORY},
    }


def review_cycle(harness, project, number, head_sha, head_repository=REPOSITORY):
    """model-pr on the pull request, then model-report on its completed run: what GitHub would do."""
    base_sha = git("rev-parse", "main", cwd=project)
    event = pull_request_event(number, head_sha, base_sha, head_repository)
    model_pr, run_id = harness.act("pull_request", event, "model-pr.yml", head_sha)
    conclusion = "success" if model_pr.returncode == 0 else "failure"
    report, _ = harness.act(
        "workflow_run", workflow_run_event(run_id, head_sha, conclusion), "model-report.yml", "main"
    )
    return model_pr, run_id, report


def test_model_pr_holds_no_write_permission_and_model_report_runs_no_pr_code(project):
    workflows = project / ".github" / "workflows"
    model_pr = yaml.safe_load((workflows / "model-pr.yml").read_text())
    assert model_pr["permissions"] == {}
    assert [job["permissions"] for job in model_pr["jobs"].values()] == [{"contents": "read"}]
    report = yaml.safe_load((workflows / "model-report.yml").read_text())
    (job,) = report["jobs"].values()
    checkout = job["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert "ref" not in checkout.get("with", {}), "model-report must check out the default branch, not the PR"
    assert {action for action, _ in pinned_actions(workflows / "model-report.yml")} >= {"iterative/setup-cml"}


def test_improving_pull_request_gets_one_comment_and_a_passing_gate(project, harness, api):
    head = push_branch(project, "better-model", BETTER)
    api.open_pull_request(1, head)
    model_pr, run_id, report = review_cycle(harness, project, 1, head)
    assert model_pr.returncode == 0, model_pr.output[-4000:]
    assert report.returncode == 0, report.output[-4000:]
    artifact = harness.artifact(run_id, "model-report")
    assert sorted(p.name for p in artifact.iterdir()) == ["plots", "report.json", "report.md"]
    (comment,) = api.state.comments_on(1)
    assert "## Model report: ✅ gate passed" in comment["body"]
    assert "| **roc_auc** (gate) |" in comment["body"]
    assert "paired on the same test rows" in comment["body"]
    assert "are not what the pipeline reproduces: run `make repro` and commit them" in comment["body"]
    assert "`model.params.n_estimators` | `20` | `150` |" in comment["body"]
    assert '"CML watermark model report")' in comment["body"]
    assert "https://asset.cml.dev/" in comment["body"]
    assert "](plots/" not in comment["body"]
    published = [call["publish"] for call in harness.cml_calls() if "publish" in call]
    assert {os.path.basename(p) for p in published} >= {"roc.png", "confusion_matrix.png"}
    assert [(s["sha"], s["state"], s["context"]) for s in api.state.statuses] == [
        (head, "success", "model-gate")
    ]


def test_second_push_updates_the_same_comment(project, harness, api):
    (before,) = api.state.comments_on(1)
    head = push_branch(project, "better-model", {**BETTER, "n_estimators": 120})
    api.open_pull_request(1, head)
    model_pr, _, report = review_cycle(harness, project, 1, head)
    assert model_pr.returncode == 0, model_pr.output[-4000:]
    assert report.returncode == 0, report.output[-4000:]
    (after,) = api.state.comments_on(1)
    assert after["id"] == before["id"]
    assert "`model.params.n_estimators` | `20` | `120` |" in after["body"]
    assert [r.method for r in api.state.writes() if "/comments" in r.path] == ["POST", "PATCH"]
    assert api.state.statuses[-1]["sha"] == head


def test_worse_pull_request_fails_the_gate_and_the_status(project, harness, api):
    head = push_branch(project, "worse-model", WORSE)
    api.open_pull_request(2, head)
    model_pr, _, report = review_cycle(harness, project, 2, head)
    assert model_pr.returncode != 0
    assert "gate FAILED: roc_auc" in model_pr.output
    assert "more than the tolerance 0.005" in model_pr.output
    assert report.returncode == 0, report.output[-4000:]
    (comment,) = api.state.comments_on(2)
    assert "## Model report: ❌ gate failed" in comment["body"]
    status = api.state.statuses[-1]
    assert (status["sha"], status["state"], status["context"]) == (head, "failure", "model-gate")
    assert status["description"] == "The candidate model failed the gate"
    assert status["target_url"].startswith(f"https://github.com/{REPOSITORY}/actions/runs/")


def test_fork_pull_request_gets_a_private_report_while_model_pr_writes_nothing(project, harness, api):
    # The maintainers keep plots private: one switch on main, and the comment draws mermaid charts instead.
    makefile = project / "Makefile"
    makefile.write_text(makefile.read_text().replace("REPORT_IMAGES ?= publish", "REPORT_IMAGES ?= mermaid"))
    git("commit", "--quiet", "-am", "Keep report images private", cwd=project)
    git("push", "--quiet", "origin", "main", cwd=project)
    head = push_branch(project, "fork-work", BETTER, ref="refs/pull/3/head")
    api.open_pull_request(3, head, head_repository=FORK)
    writes_before, publishes_before = len(api.state.writes()), len(harness.cml_calls())
    base_sha = git("rev-parse", "main", cwd=project)
    model_pr, run_id = harness.act(
        "pull_request", pull_request_event(3, head, base_sha, FORK), "model-pr.yml", head
    )
    assert model_pr.returncode == 0, model_pr.output[-4000:]
    assert len(api.state.writes()) == writes_before, "model-pr must not write to GitHub"
    report, _ = harness.act(
        "workflow_run", workflow_run_event(run_id, head, "success"), "model-report.yml", "main"
    )
    assert report.returncode == 0, report.output[-4000:]
    (comment,) = api.state.comments_on(3)
    assert "gate passed" in comment["body"]
    assert "```mermaid\nxychart-beta" in comment["body"]
    assert "asset.cml.dev" not in comment["body"]
    (call,) = harness.cml_calls()[publishes_before:]
    assert "--publish=false" in call["argv"]


def forge_artifact(harness, run_id, pull_request, head_sha, report="## Model report\n", extra=None):
    artifact = harness.artifact(run_id, "model-report")
    (artifact / "plots").mkdir(parents=True)
    (artifact / "report.md").write_text(report)
    summary = {"pull_request": pull_request, "head_sha": head_sha, "gate": "pass"}
    (artifact / "report.json").write_text(json.dumps(summary))
    for name, content in (extra or {}).items():
        (artifact / name).write_bytes(content)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not-a-number", "report.json has no valid pull-request number (got 'abc')"),
        ("other-pull-request", "pull request #8 is not open at commit"),
        ("oversized-report", "artifact file report.md has 70,000 bytes, over the limit of 60,000"),
        (
            "foreign-link",
            "report.md links to '../../../../etc/passwd': only the artifact's plots/*.png are allowed",
        ),
        ("extra-file", "artifact has an unexpected file run.sh"),
    ],
)
def test_malformed_artifact_is_refused_with_a_clear_message(project, harness, api, case, message):
    head = git("rev-parse", "main", cwd=project)
    api.open_pull_request(9, head)
    api.open_pull_request(8, "f" * 40)
    run_id = next(FORGED_RUN_IDS)
    number, report, extra = 9, "## Model report\n", None
    if case == "not-a-number":
        number = "abc"
    elif case == "other-pull-request":
        number = 8
    elif case == "oversized-report":
        report = "x" * 70_000
    elif case == "foreign-link":
        report = "![secret](../../../../etc/passwd)\n"
    elif case == "extra-file":
        extra = {"run.sh": b"echo pwned\n"}
    forge_artifact(harness, run_id, number, head, report, extra)
    comments_before, statuses_before = json.dumps(api.state.comments), len(api.state.statuses)
    result, _ = harness.act(
        "workflow_run", workflow_run_event(run_id, head, "success"), "model-report.yml", "main"
    )
    assert result.returncode != 0
    assert f"error: {message}" in result.output
    assert json.dumps(api.state.comments) == comments_before
    assert len(api.state.statuses) == statuses_before


def review_event(number, head_sha, base_sha, state, head_repository=REPOSITORY):
    return {
        "action": "submitted",
        "review": {"state": state, "user": {"login": "reviewer"}},
        "pull_request": pull_request_event(number, head_sha, base_sha, head_repository)["pull_request"],
        "repository": {"full_name": REPOSITORY},
    }


def review(harness, project, number, state, head_repository=REPOSITORY):
    head = pull_request_head(harness, number)
    base = git("rev-parse", "main", cwd=project)
    return harness.act(
        "pull_request_review", review_event(number, head, base, state, head_repository), "promote.yml", head
    )


def pull_request_head(harness, number):
    ref = "refs/heads/better-model" if number == 1 else f"refs/pull/{number}/head"
    return git("rev-parse", ref, cwd=harness.origin)


def test_approval_deploys_the_candidate_to_staging_and_comments(project, harness, api):
    comments_before = len(api.state.comments_on(1))
    result, run_id = review(harness, project, 1, "approved")
    assert result.returncode == 0, result.output[-4000:]
    staged = harness.artifact(run_id, "staging-model")
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == [
        "models/model.skops",
        "reports/metrics.json",
        "reports/smoke.md",
    ]
    comments = api.state.comments_on(1)
    assert len(comments) == comments_before + 1
    assert comments[-1]["body"].startswith("### Staging: smoke test of the candidate model")
    assert "Smoke test passed: loaded `models/model.skops`" in comments[-1]["body"]


@pytest.mark.parametrize("state", ["commented", "changes_requested"])
def test_review_without_approval_deploys_nothing(project, harness, api, state):
    writes_before = len(api.state.writes())
    result, run_id = review(harness, project, 1, state)
    assert result.returncode == 0, result.output[-4000:]
    assert not harness.artifact(run_id, "staging-model").exists()
    assert len(api.state.writes()) == writes_before


def test_approving_a_fork_pull_request_deploys_nothing(project, harness, api):
    writes_before = len(api.state.writes())
    result, run_id = review(harness, project, 3, "approved", head_repository=FORK)
    assert result.returncode == 0, result.output[-4000:]
    assert not harness.artifact(run_id, "staging-model").exists()
    assert len(api.state.writes()) == writes_before
