"""Retraining under GitHub's rules, and journey 3: schedule -> drift -> a retraining pull request opened by the
automation's GitHub App -> that pull request's report and status -> merge -> the next version in production.

The project's data is a real `dvc import-url` of a file outside the repository (the "source") and its DVC remote a
local directory, so `dvc pull`, `dvc update` and `dvc push` run for real. In order: a schedule with unchanged data
opens nothing; once the source drifts, a schedule without the App's credentials fails saying what to add; with
them, the next one opens the pull request (the App's token: it starts workflows, GITHUB_TOKEN's would not); a
schedule while it is open opens no second one; reviewed and merged, it becomes model@v0.2.0, released and in
production. With the App, github-setup makes version and stage tags the App's alone, and a fork's pull request
from a `retrain/` branch does not pause retraining. Last, a poisoned object in the DVC remote is refused by the
retraining run before anything loads it. No workflow is started by hand.
"""

import io
import json
import time
import zipfile

import pytest
import yaml

from ..conftest import HOST_PYTHON, bake, run
from .conftest import (
    CHAMPION,
    OPENS_A_RETRAINING_PULL_REQUEST,
    SAME_HEAD_NEXT,
    give_the_automation_an_app,
    merge_and_release,
    publish,
    set_model,
)
from .harness import git
from .people import commit_change
from .shared_workflows import serve

pytestmark = pytest.mark.slow

WRITE_SOURCE = """
import sys
from ml_gitops.core import config
from ml_gitops.monitor import drift
from {module}.pipeline import data
frame = data.read_bundled() if sys.argv[2] == "bundled" else drift.drifted_batch(config.load(), 400, seed=7)
if sys.argv[2] != "bundled":  # the world changed: the inputs shifted and the outcome turned, so retraining helps
    frame["target"] = 1 - frame["target"]
frame.to_csv(sys.argv[1], index=False)
"""


@pytest.fixture(scope="module")
def source(harness):
    path = harness.root / "source" / "batch.csv"
    path.parent.mkdir()
    return path


def write_source(project, source, kind):
    run(
        [
            "uv",
            "run",
            "--locked",
            "python",
            "-c",
            WRITE_SOURCE.format(module="churn_model"),
            str(source),
            kind,
        ],
        cwd=project,
    )


@pytest.fixture(scope="module")
def project(cookies_session, fake, harness, people, source, template):
    """main: a champion trained on an imported file, registered as model@v0.1.0, its outputs in the remote."""
    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="local", github_owner="ada")
    serve(project, fake, template)
    dvc = ["uv", "run", "--locked", "dvc"]
    run(["make", "install"], cwd=project)
    run([*dvc, "remote", "modify", "storage", "url", str(harness.root / "dvc-storage")], cwd=project)
    write_source(project, source, "bundled")
    run([*dvc, "import-url", str(source), "data/raw/batch.csv"], cwd=project)
    params = (project / "params.yaml").read_text().replace('path: ""', "path: data/raw/batch.csv", 1)
    (project / "params.yaml").write_text(params)
    set_model(project, CHAMPION)
    run([*dvc, "repro", "--quiet"], cwd=project)
    run([*dvc, "push", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion on the imported data", cwd=project)
    run(["uv", "run", "--locked", "gto", "register", "model", "--version", "v0.1.0"], cwd=project)
    publish(project, fake, harness, people, "model@v0.1.0")
    return project


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def retrain_branches(fake):
    return [
        ref for ref in fake._git("for-each-ref", "--format=%(refname)", "refs/heads/retrain/").split() if ref
    ]


def test_a_schedule_without_drift_opens_nothing(project, fake, github):
    (retrain,) = github.tick_schedule()
    assert retrain.conclusion == "success", retrain.output[-4000:]
    assert "Data drift: no drift" in retrain.output
    assert "python -m ml_gitops retrain-pr" not in retrain.output, "retraining is skipped"
    assert fake.pulls == {}
    assert retrain_branches(fake) == []


def test_without_the_automation_s_credentials_drift_fails_the_run_saying_what_to_add(
    project, fake, github, source
):
    write_source(project, source, "drifted")
    (retrain,) = github.tick_schedule()
    assert retrain.conclusion == "failure"
    assert "Data drift: drift found" in retrain.output
    assert (
        "error: no retraining pull request opened: give the automation a GitHub App (AUTOMATION_APP_CLIENT_ID, "
        "AUTOMATION_APP_PRIVATE_KEY) or a RETRAIN_TOKEN; the job summary says how"
    ) in retrain.output
    assert fake.pulls == {}
    assert retrain_branches(fake) == []


def test_journey_3_drift_opens_a_pull_request_that_is_reviewed_merged_and_released(
    project, fake, github, harness, people
):
    start = time.monotonic()
    setup = give_the_automation_an_app(project, fake, github, harness, people)
    assert "anyone with write access may create a version tag" not in setup
    bob_cannot_create_a_version_tag(project, people["bob"])
    a_fork_opens_a_pull_request_from_a_retrain_branch(project, fake)
    pushes = len(fake.pushes)

    runs = github.tick_schedule()
    assert started(runs) == OPENS_A_RETRAINING_PULL_REQUEST, [
        r.output[-4000:] for r in runs if r.conclusion == "failure"
    ]
    (pull,) = [p for p in fake.pulls.values() if p["head_repo"] == fake.repository]
    assert pull["created_by"]["kind"] == "app"
    assert pull["user"] == "acme-automation[bot]"
    assert pull["head_ref"].startswith("retrain/")
    assert pull["title"] == "Retrain the model on the newest data"
    assert "| column | test | statistic | p-value | PSI | drift |" in pull["body"]
    pushed = [p for p in fake.pushes if p["updates"][0][0] == f"refs/heads/{pull['head_ref']}"]
    assert pushed[0]["who"]["kind"] == "app", "pushed with the App's token, which starts workflows"
    (status,) = fake.statuses_of(pull["head_sha"], "model-gate")
    assert status["state"] == "success"
    (app,) = fake.apps
    assert (status["app_id"], status["creator"]) == (app, "acme-automation[bot]"), (
        "set with the App's token: the ruleset requires model-gate from the App"
    )
    (report,) = [c for c in fake.comments_on(pull["number"]) if c["user"] == "github-actions[bot]"]
    assert "## Model report:" in report["body"]
    assert (
        "the test set changed: the champion's model was scored again on the candidate's" in report["body"]
    ), "new data, new test set: the champion is judged on the candidate's rows"

    (again,) = github.tick_schedule()
    assert "open=true" in again.output
    assert "Data drift" not in again.output, "one retraining pull request at a time"

    carol, ada = people["carol"], people["ada"]
    github.not_run["promote.yml"] = SAME_HEAD_NEXT
    assert carol.review(pull["number"], "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "not run here")]
    del github.not_run["promote.yml"]
    assert "a code owner's review is required (ada)" in carol.merge(pull["number"])[1]["message"], (
        "the champion's figures (dvc.lock, metrics) have a code owner"
    )
    assert ada.review(pull["number"], "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "success")]
    merged, _ = merge_and_release(carol, github, pull["number"])
    assert fake._git("rev-list", "-n", "1", "model@v0.2.0") == merged["sha"]
    assert [r["tag_name"] for r in fake.releases.values() if not r.get("draft")] == ["model@v0.2.0"]
    assert fake._git("rev-list", "-n", "1", "model#prod#1") == merged["sha"]
    tag_pushes = {
        ref: push["who"]["kind"]
        for push in fake.pushes[pushes:]
        for ref, _, _ in push["updates"]
        if "refs/tags/" in ref
    }
    assert tag_pushes == {"refs/tags/model@v0.2.0": "app", "refs/tags/model#prod#1": "app"}
    print(f"\njourney 3: {time.monotonic() - start:.0f} s")


def bob_cannot_create_a_version_tag(project, bob):
    git("tag", "model@v5.0.0", "main", cwd=project)
    try:
        pushed = bob.push(project, "refs/tags/model@v5.0.0", check=False)
    finally:
        git("tag", "--delete", "model@v5.0.0", cwd=project)
    assert pushed.returncode != 0
    assert "GH013: Repository rule violations found for refs/tags/model@v5.0.0." in pushed.stderr
    assert "Cannot create ref due to creations being restricted." in pushed.stderr


def a_fork_opens_a_pull_request_from_a_retrain_branch(project, fake):
    """mallory's pull request from her fork's branch retrain/x, open when drift is found: it must not count as
    the retraining pull request. (Its own runs are not the point: its events are dropped.)"""
    readme = project / "README.md"
    commit_change(
        project, "retrain/x", lambda: readme.write_text(readme.read_text() + "\nRetrain!\n"), "Retrain"
    )
    number = fake.open_fork_pull_request("mallory", "mallory/churn", "retrain/x", project, "Retrain")
    fake.take_events()
    assert fake.pulls[number]["head_ref"] == "retrain/x"


def test_a_poisoned_remote_object_is_refused_before_it_is_loaded(project, fake, github, harness):
    """Whoever can write to the DVC remote replaces the champion's model with one that runs code when loaded:
    the retraining run, which holds the automation's secrets, pulls it, DVC refuses the object whose hash is not
    dvc.lock's, and nothing loads it."""
    lock = yaml.safe_load(fake._git("show", "refs/heads/main:dvc.lock"))
    (model,) = [out for out in lock["stages"]["train"]["outs"] if out["path"] == "models/model.skops"]
    stored = harness.root / "dvc-storage" / "files" / "md5" / model["md5"][:2] / model["md5"][2:]
    marker = harness.root / "PWNED"
    pulls = len(fake.pulls)
    stored.chmod(0o644)
    stored.write_bytes(with_exec_payload(stored.read_bytes(), f"open({str(marker)!r}, 'w').write('ran')"))
    (retrain,) = github.tick_schedule()
    assert retrain.conclusion == "failure"
    assert "models/model.skops" in retrain.output
    assert "failed to pull data from the cloud" in retrain.output, retrain.output[-4000:]
    assert "Data drift" not in retrain.output, "nothing was compared: the champion never loaded"
    assert not marker.exists(), "the payload ran"
    assert len(fake.pulls) == pulls, "no retraining pull request"


def with_exec_payload(model: bytes, code: str) -> bytes:
    """The skops file with one more attribute, built at load time by calling builtins.exec(code)."""
    with zipfile.ZipFile(io.BytesIO(model)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(members["schema.json"])
    argument = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "is_json": True}
    schema["content"]["content"]["planted"] = {
        "__class__": "exec",
        "__module__": "builtins",
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [{**argument, "content": json.dumps(code)}],
        },
    }
    schema["content"]["key_types"]["content"].append(schema["content"]["key_types"]["content"][0])
    members["schema.json"] = json.dumps(schema).encode()
    written = io.BytesIO()
    with zipfile.ZipFile(written, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return written.getvalue()
