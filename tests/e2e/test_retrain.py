"""Retraining under act: the scheduled drift check, the retraining pull request, and one at a time.

The project's data is a real `dvc import-url` of a file outside the repository (the "source"), and its DVC remote
a local directory, so `dvc pull`, `dvc update` and `dvc push` run for real. In order, on one project: a schedule
with unchanged data writes a summary and opens nothing; the source then receives a drifted batch, and the next
schedule retrains and opens one pull request through CML (the stand-in) with the drift table and the metric diff;
a third schedule, with that pull request still open, opens no second one. Once it is closed, a forced dispatch
on unchanged data retrains but has nothing to propose, and a `new-data` repository dispatch opens the next one.
"""

import pytest

from ..conftest import HOST_PYTHON, bake, run
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
def project(cookies_session, harness, source):
    """main: a champion trained on an imported file, its outputs pushed to a local DVC remote."""
    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="local")
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
    harness.publish(project)
    return project


def schedule(harness, project):
    sha = git("rev-parse", "HEAD", cwd=project)
    result, _ = harness.act("schedule", {"schedule": "17 5 * * 1"}, "retrain.yml", sha)
    assert result.returncode == 0, result.output[-5000:]
    return result


def retrain_branches(harness):
    return git("branch", "--list", "retrain/*", cwd=harness.origin).split()


def test_schedule_without_drift_opens_nothing(project, harness, api):
    result = schedule(harness, project)
    assert "Data drift: no drift" in result.output
    assert "make retrain-pr" not in result.output, "retraining is skipped"
    assert api.state.pulls == {}
    assert retrain_branches(harness) == []


def test_drifted_data_opens_one_pull_request_with_the_drift_table(project, harness, api, source):
    write_source(project, source, "drifted")
    result = schedule(harness, project)
    assert "Data drift: drift found" in result.output
    assert [pull["head"]["ref"] for pull in api.state.pulls.values()] == ["retrain/102"]
    pull = api.state.pulls[1]
    assert pull["base"]["ref"] == "main"
    assert pull["title"] == "Retrain the model on the newest data"
    assert "| column | test | statistic | p-value | PSI | drift |" in pull["body"]
    assert "### Metrics against `main`" in pull["body"]
    assert "roc_auc" in pull["body"]
    assert "opened with the workflow's `GITHUB_TOKEN`" in pull["body"], (
        "no RETRAIN_TOKEN: say how to get the report"
    )
    changed = git("diff", "--name-only", "main", "retrain/102", cwd=harness.origin).split()
    assert {"data/raw/batch.csv.dvc", "dvc.lock", "reports/metrics.json"} <= set(changed)
    (call,) = [call for call in harness.cml_calls() if "pull" in call]
    assert call["argv"][:2] == ["pr", "create"]


def test_second_schedule_while_the_pull_request_is_open_opens_none(project, harness, api):
    result = schedule(harness, project)
    assert "open=true" in result.output
    assert "Data drift" not in result.output, "no drift check while a retraining pull request is open"
    assert len(api.state.pulls) == 1
    assert retrain_branches(harness) == ["retrain/102"]


def dispatch(harness, project, event, payload):
    sha = git("rev-parse", "HEAD", cwd=project)
    result, _ = harness.act(event, payload, "retrain.yml", sha)
    assert result.returncode == 0, result.output[-5000:]
    return result


def test_forced_dispatch_with_unchanged_data_retrains_but_opens_nothing(project, harness, api, source):
    api.close_pull_request(1)
    write_source(project, source, "bundled")
    forced = {"inputs": {"force": "true"}}  # the payload carries inputs as strings, as GitHub's does
    result = dispatch(harness, project, "workflow_dispatch", forced)
    assert "Data drift: no drift" in result.output
    assert "nothing changed: no pull request" in result.output
    assert [pull["state"] for pull in api.state.pulls.values()] == ["closed"]


def test_new_data_dispatch_opens_a_pull_request(project, harness, api, source):
    write_source(project, source, "drifted")
    dispatch(harness, project, "repository_dispatch", {"action": "new-data", "client_payload": {}})
    opened = [pull for pull in api.state.pulls.values() if pull["state"] == "open"]
    assert [pull["head"]["ref"] for pull in opened] == ["retrain/105"]
