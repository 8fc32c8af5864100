"""A challenger in shadow, the GitOps way, under GitHub's rules (issue 31): a person asks (the label `shadow` on a
pull request, or a dispatch naming a released version), shadow.yml records the choice as a deployment to the
environment `shadow` (a pull request's candidate is the model its own model-pr run trained, read as data: no job of
shadow.yml, a `pull_request_target` run that may write the default branch's Actions cache, checks out or runs the
pull request's code), and the service's host picks it up from that record (`make shadow-pull`, a read token): the
candidate scores logged traffic in shadow, labels arrive, and `monitor --challenger` compares both models on the
requests both answered, and `challenger-comment` puts that section in the pull request's report comment. Removing
the label (or dispatching `none`) stops it. A triage user's label, a fork's pull request and a label before model-pr
passed on the head record nothing; a deployment made by hand is never picked up. Then the pull request is approved,
merged and released as any other is: the shadow informed the review and changed nothing of the path. No workflow
is started by hand."""

import hashlib
import json
import re
import urllib.request

import pytest
import yaml

from ..conftest import run, tool_env
from .conftest import BETTER, merge_and_release, rendered, set_model
from .people import commit_change

pytestmark = pytest.mark.slow
MODULE = "churn_model"
# A batch of traffic: rows of the bundled data, without their target (requests.csv), and their outcomes by
# request id once scored (labels), as they arrive later.
TRAFFIC = """
import sys
from pathlib import Path
from ml_gitops.core import config
from churn_model.pipeline import data
rows, out = int(sys.argv[1]), Path(sys.argv[2])
target = config.load().data.target
batch = data.read_bundled().sample(n=rows, random_state=7)
batch.drop(columns=[target]).to_csv(out / "requests.csv", index=False)
batch[[target]].to_csv(out / "truth.csv", index=False)
"""
LABELS = """
import sys
from pathlib import Path
import pandas as pd
out, labels = Path(sys.argv[1]), Path(sys.argv[2])
answers, truth = pd.read_csv(out / "answers.csv"), pd.read_csv(out / "truth.csv")
labels.mkdir(parents=True, exist_ok=True)
pd.DataFrame({"request_id": answers["request_id"], "label": truth.iloc[:, 0].astype(str)}).to_csv(
    labels / "day-1.csv", index=False
)
"""


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def failures(runs):
    return [run.output[-5000:] for run in runs if run.conclusion == "failure"]


def shadow_records(fake):
    """Each deployment to `shadow`, oldest first, with its newest state."""
    return [(d["payload"], state) for d, state in fake.deployment_states("shadow")]


def service_env(fake, harness, person) -> dict:
    """Where the service runs: a token that can read the repository (here a reader's), nothing more."""
    env = {**tool_env(), "SSL_CERT_FILE": harness.env["SSL_CERT_FILE"]}
    env.update(GITHUB_TOKEN=person.token, GITHUB_API_URL=fake.api_url, GITHUB_REPOSITORY=fake.repository)
    return env


def runs_no_pull_request_code(project, fake, shadow, head):
    """The precondition of the cache attack, replayed: a `pull_request_target` run may write the Actions cache that
    the default branch's workflows (those with the App's key, the environments' secrets) restore, so none of its
    jobs may check out or run the pull request's commit. Every checkout of the run is main's commit (the checkout
    stand-in names what it checked out); the shared workflow has no job that checks out another ref or runs make."""
    assert shadow.event == "pull_request_target"
    main = fake.ref("refs/heads/main")
    checked_out = re.findall(r"stand-in checkout: ([0-9a-f]{40})", shadow.output)
    assert len(checked_out) == len(shadow.jobs), f"one checkout per job that ran: {shadow.jobs}"
    assert set(checked_out) <= {main}, (
        f"a job of the pull_request_target run checked out {set(checked_out) - {main}} (the head is {head})"
    )
    caller = yaml.safe_load((project / ".github" / "workflows" / "shadow.yml").read_text())
    called = fake.called_workflow(caller["jobs"]["shadow"]["uses"])
    for job_id, job in called["jobs"].items():
        for step in job.get("steps", []):
            if "actions/checkout" in step.get("uses", ""):
                assert "ref" not in (step.get("with") or {}), f"{job_id} checks out another ref than main's"
            assert not re.search(r"\bmake\b", step.get("run", "")), f"{job_id} runs make targets"


def shadow_pull(project, fake, harness, person):
    return run(["make", "-s", "shadow-pull"], cwd=project, env=service_env(fake, harness, person))


def test_a_writer_s_label_puts_the_candidate_in_shadow_and_the_monitor_judges_it_on_production_rows(
    project, fake, github, people, harness
):
    bob, ada, mallory = people["bob"], people["ada"], people["mallory"]

    # The author commits the new parameters and dvc.lock, as every model change (register.yml starts on it);
    # the pull request's model-pr run trains the commit again (read-only) and keeps the candidate it trained.
    def change():
        set_model(project, BETTER)
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)

    head = commit_change(project, "challenger", change, "A challenger")
    run(["uv", "run", "--locked", "dvc", "checkout", "--force", "--quiet"], cwd=project)  # main's model again
    bob.push(project, "challenger:refs/heads/challenger")
    number = bob.open_pull_request("challenger", "A challenger")
    runs = github.settle()
    assert started(runs)[1:] == [("model-pr.yml", "success"), ("model-report.yml", "success")], failures(runs)
    model_pr = runs[1]
    (report,) = [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]
    kept = harness.artifact(model_pr.run_id, "candidate-model")
    assert sorted(p.name for p in kept.iterdir()) == ["model.skops"], "model-pr keeps the model it trained"
    built = kept / "model.skops"

    assert ada.label(number, "shadow")[0] == 200
    runs = github.settle()
    (shadow,) = runs
    runs_no_pull_request_code(project, fake, shadow, head)
    assert started(runs) == [("shadow.yml", "success")], failures(runs)
    assert shadow.jobs == {"ask": "success", "record": "success"}
    ((payload, state),) = shadow_records(fake)
    assert payload == {
        "pull_request": number,
        "head_sha": head,
        "run_id": model_pr.run_id,
        "artifact": "candidate-model",
        "model_sha256": hashlib.sha256(built.read_bytes()).hexdigest(),
    }
    assert state == "success"
    (looked_up,) = [
        r.path for r in fake.requests if r.who and r.who.run_id == shadow.run_id and "actions/runs?" in r.path
    ]
    assert f"head_sha={head}&event=pull_request&status=success" in looked_up
    writes = [r for r in fake.writes() if r.who and r.who.run_id == shadow.run_id]
    assert {r.path.split("?")[0].rsplit("/", 1)[-1] for r in writes} == {"deployments", "statuses"}, (
        "the run wrote its record and nothing else"
    )

    # The service's host picks it up with a reader's token: exactly the built model, verified.
    pulled = shadow_pull(project, fake, harness, mallory)
    label = f"pr-{number}@{head[:7]}"
    assert pulled.stdout.split() == [
        "--shadow", "models/shadow/model.skops", "--shadow-checksums", "models/shadow/SHA256SUMS",
        "--shadow-version", label,
    ]  # fmt: skip
    assert (project / "models" / "shadow" / "model.skops").read_bytes() == built.read_bytes()
    assert fake.storage_requests
    assert all(r["authorization"] is None for r in fake.storage_requests), "GitHub's storage gets no token"

    # Traffic scored by the champion, the challenger in shadow; the labels arrive; the monitor compares them.
    traffic = harness.root / "traffic"
    traffic.mkdir()
    run(["uv", "run", "--locked", "python", "-c", TRAFFIC, "400", str(traffic)], cwd=project)
    score = ["uv", "run", "--locked", "python", "-m", MODULE, "score"]
    run(
        [*score, str(traffic / "requests.csv"), str(traffic / "answers.csv"), *pulled.stdout.split()],
        cwd=project,
    )
    run(["uv", "run", "--locked", "python", "-c", LABELS, str(traffic), "data/labels"], cwd=project)
    monitor = run(
        ["uv", "run", "--locked", "python", "-m", MODULE, "monitor", "--challenger", label], cwd=project
    )
    verdict = json.loads((project / "reports" / "monitor" / "monitor.json").read_text())["challenger"]
    assert verdict["model_versions"] == [label], monitor.stdout
    assert verdict["model_sha256"] == payload["model_sha256"], "the model the record named scored in shadow"
    section = (project / "reports" / "monitor" / "challenger.md").read_text()
    assert "it answered 400" in section
    # The section goes to the pull request's report comment, in place (posted with a GITHUB_TOKEN that may write
    # pull requests, as the monitoring job holds it; no workflow runs challenger-comment yet).
    env = {
        **service_env(fake, harness, mallory),
        "GITHUB_TOKEN": fake.run_token(990, {"pull_requests": "write"}),
    }
    post = ["uv", "run", "--locked", "python", "-m", MODULE, "challenger-comment"]
    run([*post, "--pull-request", str(number), "--commit", head], cwd=project, env=env)
    assert [c["id"] for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"] == [report["id"]]
    shown = rendered.render(fake.comments[report["id"]]["body"])
    assert "Challenger on production traffic" in shown.headings
    assert shown.links == []
    assert "answered 400" in "".join(shown.text)

    # Removing the label stops it: one step; what it scored stays in the log.
    logged = sorted(p.name for p in (project / "logs" / "predictions").rglob("*.parquet"))
    assert ada.api("DELETE", f"issues/{number}/labels/shadow")[0] == 200
    runs = github.settle()
    assert started(runs) == [("shadow.yml", "success")], failures(runs)
    assert runs[0].jobs == {"ask": "success", "stop": "success"}
    runs_no_pull_request_code(project, fake, runs[0], head)
    assert [state for _, state in shadow_records(fake)] == ["inactive"]
    stopped = shadow_pull(project, fake, harness, mallory)
    assert stopped.stdout == ""
    assert "no challenger recorded" in stopped.stderr
    assert sorted(p.name for p in (project / "logs" / "predictions").rglob("*.parquet")) == logged


def test_a_label_before_model_pr_passed_on_the_head_records_nothing_and_says_why(
    project, fake, github, people
):
    """A writer labels a pull request whose model-pr run has not passed yet (here it is still going: recorded as
    started, never finished): nothing of the pull request runs, nothing is recorded, and the run says what to do."""
    ada, bob = people["ada"], people["bob"]
    before = shadow_records(fake)
    head = commit_change(project, "late", lambda: set_model(project, {**BETTER, "n_estimators": 40}), "Late")
    bob.push(project, "late:refs/heads/late")
    github.not_run["model-pr.yml"] = "a model-pr run still going when the label comes (the API: in_progress)"
    try:
        number = bob.open_pull_request("late", "A challenger whose model-pr is still running")
        assert started(github.settle()) == [("ci.yml", "not run here"), ("model-pr.yml", "not run here")]
    finally:
        del github.not_run["model-pr.yml"]

    assert ada.label(number, "shadow")[0] == 200
    runs = github.settle()
    (shadow,) = runs
    runs_no_pull_request_code(project, fake, shadow, head)
    assert started(runs) == [("shadow.yml", "failure")]
    assert shadow.jobs == {"ask": "success", "record": "failure"}
    said = (
        f"error: pull request #{number}'s head {head[:12]} has no successful model-pr run yet: wait for model-pr "
        "to pass on it, then remove and add the label shadow again; nothing recorded"
    )
    assert said in shadow.output
    assert shadow_records(fake) == before
    assert not [r for r in fake.writes() if r.who and r.who.run_id == shadow.run_id], "it wrote nothing"


def test_a_released_version_is_asked_for_by_dispatch_and_none_stops_it(
    project, fake, github, people, harness
):
    ada, mallory = people["ada"], people["mallory"]
    released = harness.root / "released.skops"
    released.write_bytes((project / "models" / "model.skops").read_bytes())  # main's champion: model@v0.1.0
    release(fake, ada, "model@v0.1.0", released)

    assert ada.dispatch("shadow.yml", {"challenger": "v0.1.0"})[0] == 204
    runs = github.settle()
    assert started(runs) == [("shadow.yml", "success")], failures(runs)
    assert runs[0].jobs == {"ask": "success", "record": "success"}
    (deployment,) = [d for d in fake.deployments.values() if d["ref"] == "model@v0.1.0"]
    assert deployment["payload"]["version"] == "v0.1.0"
    pulled = shadow_pull(project, fake, harness, mallory)
    assert pulled.stdout.split()[-1] == "v0.1.0"
    assert (project / "models" / "shadow" / "model.skops").read_bytes() == released.read_bytes()

    assert ada.dispatch("shadow.yml", {"challenger": "none"})[0] == 204
    runs = github.settle()
    assert runs[0].jobs == {"ask": "success", "stop": "success"}, failures(runs)
    assert shadow_pull(project, fake, harness, mallory).stdout == ""


def release(fake, person, tag: str, model) -> None:
    """A published release of `tag` with its model and SHA256SUMS, as release.yml leaves it (uploaded by `person`
    through the API: release.yml itself is run by test_journeys.py)."""
    status, created = person.api("POST", "releases", {"tag_name": tag, "name": tag, "draft": False})
    assert status == 201, created
    sums = f"{hashlib.sha256(model.read_bytes()).hexdigest()}  model.skops\n".encode()
    for name, data in (("model.skops", model.read_bytes()), ("SHA256SUMS", sums)):
        url = f"{fake.url}/api/uploads/repos/{fake.repository}/releases/{created['id']}/assets?name={name}"
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Authorization": f"Bearer {person.token}", "Content-Type": "application/octet-stream"},
        )
        with person.opener.open(request, timeout=60) as answer:
            assert answer.status == 201


def test_a_triage_user_s_label_a_fork_s_pull_request_and_a_deployment_by_hand_record_nothing(
    project, fake, github, people, harness
):
    ada, bob, dan, mallory = people["ada"], people["bob"], people["dan"], people["mallory"]
    before = shadow_records(fake)
    (pull,) = [p for p in fake.pulls.values() if p["head_ref"] == "challenger"]

    assert ada.label(pull["number"], "model:patch")[0] == 200
    runs = github.settle()
    assert started(runs) == [("shadow.yml", "success")]
    assert runs[0].jobs == {}, "another label: shadow.yml starts (GitHub filters no label names) and skips"

    assert dan.label(pull["number"], "shadow")[0] == 200, "a triage user may label"
    runs = github.settle()
    assert started(runs) == [("shadow.yml", "failure")]
    assert runs[0].jobs == {"ask": "failure"}
    assert "dan has read access to this repository" in runs[0].output

    commit_change(project, "fork-work", lambda: set_model(project, {**BETTER, "n_estimators": 30}), "Fork")
    number = fake.open_fork_pull_request("mallory", "mallory/churn", "fork-work", project, "From a fork")
    for name in ("model-pr.yml", "model-report.yml"):  # the fork's report: tests/e2e/test_pr_review.py
        github.not_run[name] = "a fork's report is shown by tests/e2e/test_pr_review.py"
    github.settle()
    for name in ("model-pr.yml", "model-report.yml"):
        del github.not_run[name]  # the rest (ci.yml, recorded not run) stays as the module's fixture set it
    assert ada.label(number, "shadow")[0] == 200, "even a writer's label"
    runs = github.settle()
    assert started(runs) == [("shadow.yml", "success")]
    assert runs[0].jobs == {}, "every job skipped: the fork's code is never built"
    assert shadow_records(fake) == before

    # bob may write, so he may call the API himself: that is no record (shadow.yml did not check who asked).
    status, _ = bob.api(
        "POST",
        "deployments",
        {
            "ref": pull["head_sha"],
            "environment": "shadow",
            "auto_merge": False,
            "required_contexts": [],
            "payload": {"version": "v0.1.0", "model_sha256": "0" * 64},
        },
    )
    assert status == 201
    (made,) = [d for d in fake.deployments.values() if d["creator"].login == "bob"]
    assert bob.api("POST", f"deployments/{made['id']}/statuses", {"state": "success"})[0] == 201
    pulled = shadow_pull(project, fake, harness, mallory)
    assert pulled.stdout == ""
    assert "no challenger recorded" in pulled.stderr


def test_after_the_shadow_the_pull_request_is_approved_merged_and_released_as_today(
    project, fake, github, people
):
    """The shadow informs the review and changes nothing of the path: ada (the code owner) approves, which deploys
    to staging; bob merges; the merge registers the next version (the `model:patch` label: v0.1.1) and releases
    the candidate that scored in shadow. The labels, the record and the deployments to `shadow` stay as they
    were: a merge neither starts shadow.yml nor puts anything in shadow."""
    ada, bob = people["ada"], people["bob"]
    (pull,) = [p for p in fake.pulls.values() if p["head_ref"] == "challenger"]
    records = shadow_records(fake)

    assert ada.review(pull["number"], "APPROVE")[0] == 200
    runs = github.settle()
    assert started(runs) == [("promote.yml", "success")], failures(runs)
    merged, runs = merge_and_release(bob, github, pull["number"])
    assert fake._git("rev-list", "-n", "1", "model@v0.1.1") == merged["sha"]
    (published,) = [r for r in fake.releases.values() if r["tag_name"] == "model@v0.1.1"]
    model = fake.assets[published["id"]]["model.skops"]["data"]
    (first,) = [payload for payload, _ in records if payload.get("pull_request") == pull["number"]]
    assert hashlib.sha256(model).hexdigest() == first["model_sha256"], (
        "the released model is the candidate that scored in shadow (the same commit, trained again: same bytes)"
    )
    assert shadow_records(fake) == records
