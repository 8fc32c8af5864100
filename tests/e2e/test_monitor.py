"""Monitoring the model in production under GitHub's rules, and the loop back to retraining: schedule -> the
production version's prediction log joined with the labels that arrived -> its monitoring issue, edited in place
-> on decay, a retraining pull request with the monitoring table -> merge, release -> the new version's issue, the
old one's closed.

The prediction log is written by the project's own `score` (as the service writes it) into a directory outside the
repository (the "store"), labels beside it; the project tracks both with a real `dvc import-url`, and each
scheduled run's `dvc update` reads the newest. The DVC remote is a local directory. No workflow is started by hand.
"""

import pytest

from ..conftest import HOST_PYTHON, bake, run
from .conftest import (
    CHAMPION,
    OPENS_A_RETRAINING_PULL_REQUEST,
    STAGING_SHOWN,
    give_the_automation_an_app,
    merge_and_release,
    publish,
    set_model,
)
from .harness import git
from .shared_workflows import serve

pytestmark = pytest.mark.slow

DVC = ["uv", "run", "--locked", "dvc"]
PYTHON = ["uv", "run", "--locked", "python", "-c"]
# A day of traffic: `rows` rows of the bundled data scored by the champion with `score`, logged into the store,
# and their true outcomes as labels (flipped to the other class with "flip": the world changed).
SERVE = """
import sys
from pathlib import Path
import pandas as pd
from ml_gitops.core import config
from churn_model.pipeline import data
from ml_gitops.release import score
store, rows, seed, flip = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "flip"
target = config.load().data.target
batch = data.read_bundled().sample(n=rows, random_state=seed)
batch.drop(columns=[target]).to_csv(store / "requests.csv", index=False)
score.run(store / "requests.csv", store / "answers.csv", log_dir=str(store / "predictions"), model_version="v0.1.0")
answers = pd.read_csv(store / "answers.csv")
truth = batch[target].astype(str).to_numpy()
classes = sorted(set(truth))
label = [classes[1 - classes.index(t)] for t in truth] if flip else truth
pd.DataFrame({"request_id": answers["request_id"], "label": label}).to_csv(
    store / "labels" / f"day-{seed}.csv", index=False
)
"""
SOURCE = """
import sys
from churn_model.pipeline import data
frame = data.read_bundled()
frame.head(int(len(frame) * float(sys.argv[2]))).to_csv(sys.argv[1], index=False)
"""


@pytest.fixture(scope="module")
def store(harness):
    store = harness.root / "store"
    (store / "labels").mkdir(parents=True)
    (store / "predictions").mkdir()
    return store


def serve_a_day(project, store, rows, seed, flip=False):
    run([*PYTHON, SERVE, str(store), str(rows), str(seed), "flip" if flip else "true"], cwd=project)


@pytest.fixture(scope="module")
def project(cookies_session, fake, harness, people, store, template):
    """main: a champion trained on an imported file, model@v0.1.0 in production, its first day of traffic
    logged and labelled, the log and the labels tracked as DVC imports."""
    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="local", github_owner="ada")
    serve(project, fake, template)
    run(["make", "install"], cwd=project)
    run([*DVC, "remote", "modify", "storage", "url", str(harness.root / "dvc-storage")], cwd=project)
    source = harness.root / "source.csv"
    run([*PYTHON, SOURCE, str(source), "1"], cwd=project)
    run([*DVC, "import-url", str(source), "data/raw/batch.csv"], cwd=project)
    params = (project / "params.yaml").read_text().replace('path: ""', "path: data/raw/batch.csv", 1)
    (project / "params.yaml").write_text(params)
    set_model(project, CHAMPION)
    run([*DVC, "repro", "--quiet"], cwd=project)
    serve_a_day(project, store, 500, seed=1)
    (project / "logs").mkdir()
    run([*DVC, "import-url", str(store / "predictions"), "logs/predictions"], cwd=project)
    run([*DVC, "import-url", str(store / "labels"), "data/labels"], cwd=project)
    run([*DVC, "push", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion; its prediction log and labels imported", cwd=project)
    gto = ["uv", "run", "--locked", "gto"]
    run([*gto, "register", "model", "--version", "v0.1.0"], cwd=project)
    run([*gto, "assign", "model", "--version", "v0.1.0", "--stage", "prod"], cwd=project)
    publish(project, fake, harness, people, "model@v0.1.0", "model#prod#1")
    return project


@pytest.fixture(scope="module")
def automation(project, fake, github, harness, people):
    """The automation's GitHub App, as the README sets it up (it opens the retraining pull request)."""
    give_the_automation_an_app(project, fake, github, harness, people)


def monitoring_issues(fake):
    return [issue for issue in fake.issues.values() if issue["user"] == "github-actions[bot]"]


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def failures(runs):
    return [run.output[-5000:] for run in runs if run.conclusion == "failure"]


def test_a_healthy_model_gets_ok_in_its_monitoring_issue_and_nothing_else(project, fake, github, people):
    decoy = people["mallory"].api(
        "POST",
        "issues",
        {"title": "Monitoring model@v0.1.0: ok", "body": "<!-- monitoring of model@v0.1.0 -->\nclick here"},
    )[1]
    runs = github.tick_schedule()
    assert started(runs) == [("retrain.yml", "success")], failures(runs)
    (retrain,) = runs
    assert "monitoring model@v0.1.0: its dvc.lock and reports/metrics.json are checked out" in retrain.output
    assert "verdict=ok" in retrain.output
    assert fake.pulls == {}, "a healthy model opens no pull request"
    (issue,) = monitoring_issues(fake)
    assert issue["title"] == "Monitoring model@v0.1.0: ok"
    assert issue["state"] == "open"
    assert "| window | predictions | labelled |" in issue["body"]
    assert "| 500 | 100% |" in issue["body"]
    assert "| `logs/predictions.dvc` |" in issue["body"]
    assert "| `data/labels.dvc` |" in issue["body"]
    mallory_s = fake.issues[decoy["number"]]
    assert mallory_s["body"].endswith("click here"), "never edited"
    assert mallory_s["state"] == "open"


def test_decay_opens_the_retraining_pull_request_with_the_monitoring_table(
    project, fake, github, store, automation, harness
):
    (issue,) = monitoring_issues(fake)
    serve_a_day(project, store, 500, seed=2, flip=True)
    run([*PYTHON, SOURCE, str(harness.root / "source.csv"), "0.95"], cwd=project)  # new data to retrain on
    runs = github.tick_schedule()
    assert started(runs) == OPENS_A_RETRAINING_PULL_REQUEST, failures(runs)
    assert "the model in production: decay (monitor): retraining" in runs[0].output
    assert "Data drift: no drift" in runs[0].output, "the data did not drift: the decay alone retrains"
    assert monitoring_issues(fake) == [issue], "the same issue, edited in place"
    assert issue["title"] == "Monitoring model@v0.1.0: decay"
    assert "| 1,000 | 100% |" in issue["body"]
    (pull,) = fake.pulls.values()
    assert pull["user"] == "acme-automation[bot]"
    assert "### The model in production: decay" in pull["body"]
    assert "| window | predictions | labelled |" in pull["body"]
    changed = fake._git("diff", "--name-only", "refs/heads/main", pull["head_sha"]).split()
    assert {"logs/predictions.dvc", "data/labels.dvc", "data/raw/batch.csv.dvc"} <= set(changed), (
        "the commit records which log and labels the monitor read"
    )
    (status,) = fake.statuses_of(pull["head_sha"], "model-gate")
    assert status["state"] == "success"


def test_the_released_retrained_version_gets_its_issue_and_the_old_one_is_closed(
    project, fake, github, people
):
    (old,) = monitoring_issues(fake)
    (pull,) = fake.pulls.values()
    carol, ada = people["carol"], people["ada"]
    github.not_run["promote.yml"] = STAGING_SHOWN
    assert carol.review(pull["number"], "APPROVE")[0] == 200
    assert started(github.settle()) == [("promote.yml", "not run here")]
    assert ada.review(pull["number"], "APPROVE")[0] == 200  # the code owner of dvc.lock and the metrics
    assert started(github.settle()) == [("promote.yml", "not run here")]
    del github.not_run["promote.yml"]
    merged, _ = merge_and_release(carol, github, pull["number"])
    assert fake._git("rev-list", "-n", "1", "model#prod#2") == merged["sha"]

    runs = github.tick_schedule()
    assert started(runs) == [("retrain.yml", "success")], failures(runs)
    assert old["state"] == "closed"
    assert [c["body"] for c in fake.comments_on(old["number"])] == [
        "This version left production: model@v0.2.0 is served now."
    ]
    (new,) = [issue for issue in monitoring_issues(fake) if issue["state"] == "open"]
    assert new["title"] == "Monitoring model@v0.2.0: none"
    assert "holds no predictions of the champion" in new["body"]
