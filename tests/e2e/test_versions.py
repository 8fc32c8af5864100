"""A release that fails half-way, under GitHub's rules (journey 1 is the release that goes well): a merged pull
request labelled model:patch registers model@v0.1.1, whose release fails at an upload (the fake answers 502 once)
and leaves only a draft, never production; running release.yml again for the version, by hand, publishes the release
whole and puts it in production; a third run changes nothing. (The refusal of a version whose committed metrics
do not reproduce is shown by the generated project's tests/release/test_release.py.)"""

import hashlib

import pytest

from ..conftest import run
from .conftest import BETTER, STAGING_SHOWN, set_model
from .people import commit_change

pytestmark = pytest.mark.slow


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def prod_tags(fake):
    return [tag for tag in fake.tags() if tag.startswith("model#prod#")]


def test_a_release_that_fails_half_way_leaves_a_draft_and_a_run_by_hand_publishes_it_whole(
    project, fake, github, people
):
    ada, bob = people["ada"], people["bob"]

    def change():
        set_model(project, {**BETTER, "n_estimators": 90})
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)

    commit_change(project, "patch", change, "A small fix of the model")
    bob.push(project, "patch:refs/heads/patch")
    number = bob.open_pull_request("patch", "A small fix of the model")
    assert bob.label(number, "model:patch")[0] == 200
    github.settle()
    github.not_run["promote.yml"] = STAGING_SHOWN
    assert ada.review(number, "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "not run here")]
    del github.not_run["promote.yml"]
    fake.fail_next_upload("model-card.md")
    assert bob.merge(number)[0] == 200
    runs = github.settle()
    assert started(runs) == [
        ("ci.yml", "not run here"),
        ("register.yml", "success"),
        ("release.yml", "failure"),
    ]
    release = runs[2]
    assert "error: uploading model-card.md to the release answered 502" in release.output
    assert release.jobs["publish"] == "failure"
    assert "production" not in release.jobs
    (draft,) = [r for r in fake.releases.values() if r["tag_name"] == "model@v0.1.1"]
    assert draft["draft"] is True, "nobody sees a release with some of its assets"
    assert sorted(fake.assets[draft["id"]]) == ["SHA256SUMS", "metrics.json"]
    assert not fake.attestations
    assert prod_tags(fake) == [], "production waits for a published release"

    assert bob.dispatch("release.yml", {"version": "v0.1.1"})[0] == 204
    (rerun,) = github.settle()
    assert rerun.conclusion == "success", rerun.output[-4000:]
    assert "deleted the unfinished draft release of model@v0.1.1" in rerun.output
    (published,) = [r for r in fake.releases.values() if r["tag_name"] == "model@v0.1.1"]
    assets = {name: asset["data"] for name, asset in fake.assets[published["id"]].items()}
    assert published["draft"] is False
    assert sorted(assets) == ["SHA256SUMS", "metrics.json", "model-card.md", "model.skops"]
    sums = dict(reversed(line.split("  ")) for line in assets["SHA256SUMS"].decode().splitlines())
    assert sums == {
        name: hashlib.sha256(data).hexdigest() for name, data in assets.items() if name != "SHA256SUMS"
    }
    assert len(fake.attestations) == 1
    assert prod_tags(fake) == ["model#prod#1"]

    uploads = [r for r in fake.requests if r.path.startswith("/api/uploads/")]
    assert bob.dispatch("release.yml", {"version": "v0.1.1"})[0] == 204
    (again,) = github.settle()
    assert again.conclusion == "success", again.output[-4000:]
    assert again.output.count("already published") == 4
    assert "model v0.1.1 is already in prod: nothing to do" in again.output
    assert "provenance" not in again.jobs, "nothing was published, so nothing is attested"
    assert [r for r in fake.requests if r.path.startswith("/api/uploads/")] == uploads
    assert prod_tags(fake) == ["model#prod#1"]
