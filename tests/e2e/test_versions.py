"""Versions under act: registration on merge (GTO, real tags), release from a tag, rollback by hand.

In order, on one project: merges register versions with the labelled bump; the newest version is released
(a run that fails half-way leaves only a draft; the next one publishes it whole, attested, and puts it in
production) and a re-run changes nothing; production is rolled back; and a tag whose
committed metrics were tampered with is refused.
"""

import hashlib

import pytest

from ..conftest import run
from .conftest import BETTER, REPOSITORY, set_model
from .fake_github import attested_digests
from .harness import git

pytestmark = pytest.mark.slow


def remote_tags(harness):
    return sorted(git("tag", "--list", cwd=harness.origin).split())


def merge_to_main(project, message, change):
    """What a merged pull request leaves on main: the change, with dvc.lock and metrics reproduced."""
    change()
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", message, cwd=project)
    git("push", "--quiet", "origin", "main", cwd=project)
    return git("rev-parse", "HEAD", cwd=project)


def push_event(sha):
    return {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": REPOSITORY}}


def register(harness, sha):
    result, _ = harness.act("push", push_event(sha), "register.yml", sha)
    assert result.returncode == 0, result.output[-4000:]
    return result


def test_labelled_merge_registers_one_version_and_a_rerun_adds_none(project, harness, api):
    sha = merge_to_main(project, "Merge pull request #5", lambda: set_model(project, BETTER))
    api.merge_pull_request(5, sha, labels=["model:major", "documentation"])
    register(harness, sha)
    assert remote_tags(harness) == ["model@v1.0.0"]
    assert git("rev-list", "-n", "1", "model@v1.0.0", cwd=harness.origin) == sha
    rerun = register(harness, sha)
    assert "nothing to register: the model is the same as model@v1.0.0" in rerun.output
    assert remote_tags(harness) == ["model@v1.0.0"]


def test_merge_without_a_model_change_registers_nothing(project, harness, api):
    readme = project / "README.md"
    sha = merge_to_main(
        project, "Merge pull request #6", lambda: readme.write_text(readme.read_text() + "\nMore.\n")
    )
    api.merge_pull_request(6, sha, labels=[])
    result = register(harness, sha)
    assert "nothing to register" in result.output
    assert remote_tags(harness) == ["model@v1.0.0"]


@pytest.mark.parametrize(
    ("number", "labels", "expected"), [(7, ["model:patch"], "model@v1.0.1"), (8, [], "model@v1.1.0")]
)
def test_bump_follows_the_pull_request_label(project, harness, api, number, labels, expected):
    params = {**BETTER, "n_estimators": 100 + number}
    sha = merge_to_main(project, f"Merge pull request #{number}", lambda: set_model(project, params))
    api.merge_pull_request(number, sha, labels=labels)
    register(harness, sha)
    assert remote_tags(harness)[-1] == expected


def release_run(harness, tag):
    sha = git("rev-list", "-n", "1", tag, cwd=harness.origin)
    repository = {"full_name": REPOSITORY, "visibility": "public"}  # attestations need a public repository
    event = {"ref": f"refs/tags/{tag}", "after": sha, "repository": repository}
    result, _ = harness.act("push", event, "release.yml", sha)
    return result


def prod_tags(harness):
    return [tag for tag in remote_tags(harness) if tag.startswith("model#prod#")]


def commit_of(harness, tag):
    return git("rev-list", "-n", "1", tag, cwd=harness.origin)


def test_release_that_fails_half_way_leaves_only_a_draft(harness, api):
    api.fail_next_upload("model-card.md")
    result = release_run(harness, "model@v1.1.0")
    assert result.returncode != 0
    assert "error: uploading model-card.md to the release answered 502 Bad Gateway: re-run the workflow" in (
        result.output
    )
    (draft,) = [r for r in api.state.releases.values() if r["tag_name"] == "model@v1.1.0"]
    assert draft["draft"] is True, "nobody sees a release with some of its assets"
    assert sorted(api.state.assets[draft["id"]]) == ["SHA256SUMS", "metrics.json"]
    assert not api.state.attestations
    assert prod_tags(harness) == [], "production waits for a published release"


def test_tag_releases_checked_assets_and_assigns_production(project, harness, api):
    result = release_run(harness, "model@v1.1.0")
    assert result.returncode == 0, result.output[-4000:]
    assert "deleted the unfinished draft release of model@v1.1.0" in result.output
    assert "model@v1.1.0: metrics reproduced" in result.output
    (release,) = [r for r in api.state.releases.values() if r["tag_name"] == "model@v1.1.0"]
    assert release["draft"] is False
    assets = api.state.assets[release["id"]]
    assert sorted(assets) == ["SHA256SUMS", "metrics.json", "model-card.md", "model.skops"]
    sums = dict(reversed(line.split("  ")) for line in assets["SHA256SUMS"].decode().splitlines())
    assert sums == {
        name: hashlib.sha256(data).hexdigest() for name, data in assets.items() if name != "SHA256SUMS"
    }
    (attestation,) = api.state.attestations.values()
    assert attested_digests(attestation) == set(sums.values()), (
        "one provenance attestation covers every asset"
    )
    card = assets["model-card.md"].decode()
    assert card.startswith("# Model card: model@v1.1.0")
    assert "| roc_auc |" in card
    assert "95% bootstrap interval" in card
    assert prod_tags(harness) == ["model#prod#1"]
    assert commit_of(harness, "model#prod#1") == commit_of(harness, "model@v1.1.0")


def test_release_rerun_changes_nothing(harness, api):
    uploads_before = [r for r in api.state.requests if r.path.startswith("/uploads/")]
    result = release_run(harness, "model@v1.1.0")
    assert result.returncode == 0, result.output[-4000:]
    assert result.output.count("already published") == 4
    assert "model v1.1.0 is already in prod: nothing to do" in result.output
    assert "uploaded=false" in result.output
    assert "[release/build provenance" not in result.output, "nothing was published, so nothing is attested"
    assert len(api.state.attestations) == 1
    assert [r for r in api.state.requests if r.path.startswith("/uploads/")] == uploads_before
    assert len([r for r in api.state.releases.values() if r["tag_name"] == "model@v1.1.0"]) == 1
    assert prod_tags(harness) == ["model#prod#1"]


def test_rollback_puts_an_earlier_version_back_in_production(project, harness):
    event = {
        "inputs": {"version": "v1.0.0"},
        "ref": "refs/heads/main",
        "repository": {"full_name": REPOSITORY},
    }
    result, _ = harness.act("workflow_dispatch", event, "release.yml", "main")
    assert result.returncode == 0, result.output[-4000:]
    assert "model v1.0.0 assigned to prod (was v1.1.0)" in result.output
    assert prod_tags(harness) == ["model#prod#1", "model#prod#2"]
    assert commit_of(harness, "model#prod#2") == commit_of(harness, "model@v1.0.0")


def test_tampered_metrics_stop_the_release(project, harness, api):
    metrics = project / "reports" / "metrics.json"
    metrics.write_text(metrics.read_text().replace('"roc_auc": 0.', '"roc_auc": 1.0'))
    git("commit", "--quiet", "-am", "Better numbers, honest", cwd=project)
    git("tag", "model@v9.0.0", cwd=project)
    git("push", "--quiet", "origin", "main", "model@v9.0.0", cwd=project)
    result = release_run(harness, "model@v9.0.0")
    assert result.returncode != 0
    assert "error: model@v9.0.0 does not reproduce its metrics (roc_auc 1.0" in result.output
    assert "the release is refused" in result.output
    assert not [r for r in api.state.releases.values() if r["tag_name"] == "model@v9.0.0"]
    assert prod_tags(harness) == ["model#prod#1", "model#prod#2"]
