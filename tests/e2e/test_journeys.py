"""The life of a model under GitHub's own rules: no workflow is started by hand. People push, open pull requests,
review, merge and press "Run workflow" through the fake; github_rules.py decides what GitHub would start.

Main holds a champion registered as model@v0.1.0 (never released) and the settings `make github-setup` applies.
Journey 1: a pull request that changes params.yaml is reported and gated, approved (staging), merged; the merge
registers model@v0.2.0, which is released and, once a production reviewer approves, put in production; then a run
of release.yml for v0.1.0 rolls production back to it. Journey 2: a pull request that changes only the README
becomes mergeable, and its merge registers nothing.
"""

import hashlib
import time

import pytest

from ..conftest import run
from .conftest import ASSET_HOST, BETTER, SAME_HEAD_NEXT, merge_and_release, rendered, set_model
from .fake_github import attested_digests
from .people import commit_change, sync_main

pytestmark = pytest.mark.slow
TIMES: dict[str, float] = {}


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def model_change(project, params):
    def change():
        set_model(project, params)
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)  # what the author commits

    return change


def test_journey_1_a_params_change_from_pull_request_to_production_and_back(project, fake, github, people):
    start = time.monotonic()
    bob, carol, ada = people["bob"], people["carol"], people["ada"]
    head = commit_change(project, "better-model", model_change(project, BETTER), "A better forest")
    bob.push(project, "better-model:refs/heads/better-model")
    assert started(github.settle()) == [], "a pushed branch starts nothing here (ci.yml runs on main and PRs)"
    number = bob.open_pull_request("better-model", "A better forest")
    runs = github.settle()
    assert started(runs) == [
        ("ci.yml", "not run here"),
        ("model-pr.yml", "success"),
        ("model-report.yml", "success"),
    ], [r.output[-3000:] for r in runs if r.conclusion == "failure"]

    # One comment, by the Actions bot, rendered as written; the status on the head commit, set by Actions.
    (comment,) = fake.comments_on(number)
    assert comment["user"] == "github-actions[bot]"
    body = comment["body"]
    assert "## Model report: ✅ gate passed" in body
    assert "| **roc_auc** (gate) |" in body
    assert "| model.params.n\\_estimators | 20 | 150 |" in body
    assert "<details><summary>Reproduce this run</summary>" in body
    shown = rendered.render(body)
    assert len(shown.images) >= 4
    assert all(image.startswith(ASSET_HOST) for image in shown.images), "every plot is published"
    charts = [
        code for code, language in zip(shown.code, shown.languages, strict=True) if language == "mermaid"
    ]
    assert sorted((chart.splitlines()[1], chart.count("    line [")) for chart in charts) == [
        ('    title "ROC curve"', 2),  # beside them, the key curve of both models
        ('    title "What the model relies on"', 2),  # and what each relies on
    ]
    assert len(fake.cml_assets) >= 4, "real CML uploaded the plots to its asset host"
    (status,) = fake.statuses_of(head, "model-gate")
    assert (status["state"], status["app_id"], status["created_by"]["kind"]) == (
        "success",
        15368,
        "github_token",
    )

    # The ruleset: ada owns params.yaml (CODEOWNERS); carol's approval alone is not enough, ada's is.
    github.not_run["promote.yml"] = SAME_HEAD_NEXT
    assert carol.review(number, "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "not run here")]
    del github.not_run["promote.yml"]
    assert "a code owner's review is required (ada)" in bob.merge(number)[1]["message"]
    assert ada.review(number, "APPROVE")[0] == 200
    runs = github.settle()
    assert started(runs) == [("promote.yml", "success")]
    staging = [c for c in fake.comments_on(number) if c["body"].startswith("### Staging")]
    assert len(staging) == 1
    assert "Smoke test passed: loaded `models/model.skops`" in staging[-1]["body"]

    merged, runs = merge_and_release(bob, github, number)
    register, release = runs[1], runs[2]
    assert "started release.yml for v0.2.0" in register.output
    tags = {
        p["updates"][0][0]: p["who"]["kind"]
        for p in fake.pushes
        if p["updates"][0][0].startswith("refs/tags/")
    }
    assert tags["refs/tags/model@v0.2.0"] == "github_token", (
        "the tag is pushed with GITHUB_TOKEN: it starts nothing"
    )
    assert release.event == "workflow_dispatch"
    assert release.who.kind == "github_token"
    assert fake._git("rev-list", "-n", "1", "model@v0.2.0") == merged["sha"]

    (published,) = [r for r in fake.releases.values() if r["tag_name"] == "model@v0.2.0"]
    assets = {name: asset["data"] for name, asset in fake.assets[published["id"]].items()}
    assert published.get("draft") is False
    assert sorted(assets) == ["SHA256SUMS", "metrics.json", "model-card.md", "model.skops"]
    card = assets["model-card.md"].decode()
    assert f"Pull request: #{number} " in card, "the card's lineage names the pull request"
    assert "; approved by ada, carol." in card, "and those whose last word was an approval"
    sums = dict(reversed(line.split("  ")) for line in assets["SHA256SUMS"].decode().splitlines())
    assert sums == {
        name: hashlib.sha256(data).hexdigest() for name, data in assets.items() if name != "SHA256SUMS"
    }
    (attestation,) = fake.attestations.values()
    assert attested_digests(attestation) == set(sums.values())
    assert fake._git("rev-list", "-n", "1", "model#prod#1") == merged["sha"], "model@v0.2.0 is in production"

    # Rollback: bob runs release.yml from main for the earlier version; ada, another person, approves production.
    assert bob.dispatch("release.yml", {"version": "v0.1.0"})[0] == 204
    (rollback,) = github.settle()
    assert rollback.conclusion == "success", rollback.output[-4000:]
    assert "model v0.1.0 assigned to prod (was v0.2.0)" in rollback.output
    assert fake._git("rev-list", "-n", "1", "model#prod#2") == fake._git(
        "rev-list", "-n", "1", "model@v0.1.0"
    )
    TIMES["journey 1"] = time.monotonic() - start
    print(f"\njourney 1: {TIMES['journey 1']:.0f} s")


def test_journey_2_a_readme_change_becomes_mergeable_and_registers_nothing(project, fake, github, people):
    start = time.monotonic()
    bob, carol = people["bob"], people["carol"]
    sync_main(project, bob)
    readme = project / "README.md"
    head = commit_change(
        project, "docs", lambda: readme.write_text(readme.read_text() + "\nMore words.\n"), "Docs"
    )
    bob.push(project, "docs:refs/heads/docs")
    github.settle()
    number = bob.open_pull_request("docs", "Docs")
    runs = github.settle()
    assert started(runs) == [
        ("ci.yml", "not run here"),
        ("model-pr.yml", "success"),
        ("model-report.yml", "success"),
    ]
    assert "no model input changed" in runs[1].output
    assert "make repro" not in runs[1].output, "nothing is trained"
    (status,) = fake.statuses_of(head, "model-gate")
    assert (status["state"], status["description"]) == (
        "success",
        "No model input changed: nothing to train or gate",
    )
    assert fake.comments_on(number) == [], "no report to post"
    assert carol.review(number, "APPROVE")[0] == 200
    (promote,) = github.settle()
    assert promote.jobs == {"approval": "success"}, "no model input changed: nothing to stage"
    status, merged = bob.merge(number)
    assert status == 200, merged
    assert started(github.settle()) == [("ci.yml", "not run here")], (
        "register.yml's path filter: dvc.lock unchanged"
    )
    TIMES["journey 2"] = time.monotonic() - start
    print(f"\njourney 2: {TIMES['journey 2']:.0f} s")
