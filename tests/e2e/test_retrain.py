"""Retraining under GitHub's rules, and journey 3: schedule -> drift -> a retraining pull request opened by the
automation's GitHub App -> that pull request's report and status -> merge -> the next version in production.

The project's data is a real `dvc import-url` of a file outside the repository (the "source") and its DVC remote a
local directory, so `dvc pull`, `dvc update` and `dvc push` run for real. In order: a schedule with unchanged data
opens nothing; once the source drifts, a schedule without the App's credentials fails saying what to add; with
them, the next one opens the pull request (the App's token: it starts workflows, GITHUB_TOKEN's would not); a
schedule while it is open opens no second one; reviewed and merged, it becomes model@v0.2.0, released and in
production. No workflow is started by hand.
"""

import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..conftest import HOST_PYTHON, bake, run
from .conftest import publish
from .harness import git

pytestmark = pytest.mark.slow

WRITE_SOURCE = """
import sys
from {module}.core import config
from {module}.monitor import drift
from {module}.pipeline import data
frame = data.read_bundled() if sys.argv[2] == "bundled" else drift.drifted_batch(config.load(), 400, seed=7)
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
def project(cookies_session, fake, harness, people, source):
    """main: a champion trained on an imported file, registered as model@v0.1.0, its outputs in the remote."""
    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="local", github_owner="ada")
    dvc = ["uv", "run", "--locked", "dvc"]
    run(["make", "install"], cwd=project)
    run([*dvc, "remote", "modify", "storage", "url", str(harness.root / "dvc-storage")], cwd=project)
    write_source(project, source, "bundled")
    run([*dvc, "import-url", str(source), "data/raw/batch.csv"], cwd=project)
    params = (project / "params.yaml").read_text().replace('path: ""', "path: data/raw/batch.csv", 1)
    (project / "params.yaml").write_text(params)
    run([*dvc, "repro", "--quiet"], cwd=project)
    run([*dvc, "push", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion on the imported data", cwd=project)
    run(["uv", "run", "--locked", "gto", "register", "model", "--version", "v0.1.0"], cwd=project)
    publish(project, fake, harness, people, "model@v0.1.0")
    return project


@pytest.fixture(scope="module")
def app_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


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
    assert "make retrain-pr" not in retrain.output, "retraining is skipped"
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
    project, fake, github, people, app_key
):
    start = time.monotonic()
    public = app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client_id = fake.add_app("acme-automation", public, {"contents": "write", "pull_requests": "write"})
    github.variables["AUTOMATION_APP_CLIENT_ID"] = client_id
    private = app_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    github.environment_secrets["automation"] = {"AUTOMATION_APP_PRIVATE_KEY": private.decode()}

    runs = github.tick_schedule()
    assert started(runs) == [
        ("retrain.yml", "success"),
        ("ci.yml", "not run here"),
        ("model-pr.yml", "success"),
        ("model-report.yml", "success"),
    ], [r.output[-4000:] for r in runs if r.conclusion == "failure"]
    (pull,) = fake.pulls.values()
    assert pull["created_by"]["kind"] == "app"
    assert pull["user"] == "acme-automation[bot]"
    assert pull["head_ref"].startswith("retrain/")
    assert pull["title"] == "Retrain the model on the newest data"
    assert "| column | test | statistic | p-value | PSI | drift |" in pull["body"]
    pushed = [p for p in fake.pushes if p["updates"][0][0] == f"refs/heads/{pull['head_ref']}"]
    assert pushed[0]["who"]["kind"] == "app", "pushed with the App's token, which starts workflows"
    (status,) = fake.statuses_of(pull["head_sha"], "model-gate")
    assert status["state"] == "success"
    (report,) = [c for c in fake.comments_on(pull["number"]) if c["user"] == "github-actions[bot]"]
    assert "## Model report:" in report["body"]

    (again,) = github.tick_schedule()
    assert "open=true" in again.output
    assert "Data drift" not in again.output, "one retraining pull request at a time"

    carol = people["carol"]
    assert carol.review(pull["number"], "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "success")]
    status, merged = carol.merge(pull["number"])
    assert status == 200, merged
    runs = github.settle()
    assert started(runs) == [
        ("ci.yml", "not run here"),
        ("register.yml", "success"),
        ("release.yml", "success"),
    ], [r.output[-4000:] for r in runs if r.conclusion == "failure"]
    assert fake._git("rev-list", "-n", "1", "model@v0.2.0") == merged["sha"]
    assert [r["tag_name"] for r in fake.releases.values() if not r.get("draft")] == ["model@v0.2.0"]
    assert fake._git("rev-list", "-n", "1", "model#prod#1") == merged["sha"]
    print(f"\njourney 3: {time.monotonic() - start:.0f} s")
