"""The review loop's harder cases under GitHub's rules (journey 1 is the one that goes well): a second push updates
the one report comment even past the first page and beside a planted copy, a worse candidate fails the gate, a
fork's pull request gets its report with private images and no write token, and reviews that are no approval by
a writer of the head commit deploy nothing. No workflow is started by hand."""

import pytest

from ..conftest import run
from .conftest import BETTER, WORSE, set_model
from .people import commit_change, sync_main

pytestmark = pytest.mark.slow
MARKER = "<!-- model-report: written by model-report.yml, updated on every push -->"
SHARED: dict = {}  # pull requests the later tests review again


def started(runs):
    return [(run.workflow, run.conclusion) for run in runs]


def model_change(project, params):
    def change():
        set_model(project, params)
        run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)

    return change


def open_pull_request(project, person, branch, change, message):
    head = commit_change(project, branch, change, message)
    person.push(project, f"{branch}:refs/heads/{branch}")
    return person.open_pull_request(branch, message), head


def bot_comments(fake, number):
    return [c for c in fake.comments_on(number) if c["user"] == "github-actions[bot]"]


def test_a_second_push_updates_the_one_report_past_the_first_page_and_beside_a_planted_copy(
    project, fake, github, people
):
    bob, mallory = people["bob"], people["mallory"]
    first = commit_change(project, "better", model_change(project, BETTER), "Better")
    bob.push(project, "better:refs/heads/better")
    number = bob.open_pull_request("better", "Better")
    for index in range(101):  # anyone may comment: the report lands on the second page (100 a page)
        assert mallory.api("POST", f"issues/{number}/comments", {"body": f"comment {index}"})[0] == 201
    assert started(github.settle())[1:] == [("model-pr.yml", "success"), ("model-report.yml", "success")]
    (report,) = bot_comments(fake, number)
    # ... and may copy the report's marker into a comment of their own, newer than the report
    assert mallory.api("POST", f"issues/{number}/comments", {"body": f"{MARKER}\nplanted"})[0] == 201
    (planted,) = [c for c in fake.comments_on(number) if c["body"] == f"{MARKER}\nplanted"]
    head = commit_change(
        project, "better", model_change(project, {**BETTER, "n_estimators": 120}), "Tune", base="better"
    )
    bob.push(project, "better:refs/heads/better")
    assert started(github.settle())[1:] == [("model-pr.yml", "success"), ("model-report.yml", "success")]
    (updated,) = bot_comments(fake, number)
    assert updated["id"] == report["id"], "the same comment, found on the second page, is updated"
    assert "| model.params.n\\_estimators | 20 | 120 |" in updated["body"]
    assert fake.comments[planted["id"]]["body"] == f"{MARKER}\nplanted", (
        "a comment someone else wrote is never edited"
    )
    assert fake.statuses_of(head, "model-gate")[-1]["state"] == "success"
    SHARED.update(pull_request=number, first=first, head=head)


def test_a_worse_candidate_fails_the_gate_and_its_status(project, fake, github, people):
    carol = people["carol"]
    sync_main(project, carol)
    # carol commits params.yaml without running the pipeline: the report warns with a GitHub alert
    number, head = open_pull_request(project, carol, "worse", lambda: set_model(project, WORSE), "Worse")
    runs = github.settle()
    assert started(runs)[1:] == [("model-pr.yml", "failure"), ("model-report.yml", "success")]
    assert "gate FAILED: roc_auc" in runs[1].output
    assert "more than the tolerance 0.005" in runs[1].output
    (comment,) = bot_comments(fake, number)
    assert "## Model report: ❌ gate failed" in comment["body"]
    assert (
        "> [!WARNING]\n> This commit's `dvc.lock` and `reports/metrics.json` are not what" in comment["body"]
    ), "the alert arrives as written (CML's own comment would re-serialise it as \\[!WARNING])"
    (status,) = fake.statuses_of(head, "model-gate")
    assert (status["state"], status["description"]) == ("failure", "The candidate model failed the gate")
    assert status["target_url"].endswith(f"/actions/runs/{runs[1].run_id}")


def test_a_fork_pull_request_gets_its_report_with_private_images_and_no_write_token(
    project, fake, github, people
):
    ada, bob, mallory = people["ada"], people["bob"], people["mallory"]
    sync_main(project, bob)
    readme = project / "README.md"
    number, _ = open_pull_request(
        project,
        bob,
        "private-images",
        lambda: readme.write_text(readme.read_text() + "\nThe report's images stay private.\n"),
        "Keep report images private",
    )
    github.settle()
    assert ada.review(number, "APPROVE")[0] == 200
    (promote,) = github.settle()
    assert promote.jobs == {"approval": "success"}, "the README is no model input: nothing to stage"
    assert "changes no model input: nothing to stage" in promote.output
    assert bob.merge(number)[0] == 200
    github.settle()
    github.variables["REPORT_IMAGES"] = "mermaid"  # the owner's choice: Settings, Variables (README: Plots)
    sync_main(project, mallory)
    commit_change(project, "fork-work", model_change(project, BETTER), "From a fork")
    assets_before = len(fake.cml_assets)
    number = fake.open_fork_pull_request("mallory", "mallory/churn", "fork-work", project, "From a fork")
    SHARED["fork"] = number
    runs = github.settle()
    assert started(runs)[1:] == [("model-pr.yml", "success"), ("model-report.yml", "success")]
    model_pr = runs[1]
    writes = [r for r in fake.writes() if r.who and r.who.run_id == model_pr.run_id]
    assert writes == [], "the fork's run wrote nothing: its token is read-only"
    (comment,) = bot_comments(fake, number)
    assert "gate passed" in comment["body"]
    assert "```mermaid\nxychart-beta" in comment["body"]
    assert "asset.cml.dev" not in comment["body"]
    assert len(fake.cml_assets) == assets_before, "no image left the repository"


def test_reviews_that_are_no_writer_approval_of_the_head_deploy_nothing(project, fake, github, people):
    carol, dan, mallory, ada = (people[login] for login in ("carol", "dan", "mallory", "ada"))
    number, first, head = SHARED["pull_request"], SHARED["first"], SHARED["head"]
    cases = [
        (carol, "COMMENT", None),
        (carol, "REQUEST_CHANGES", None),
        (mallory, "APPROVE", None),  # anyone on GitHub (CONTRIBUTOR): skipped by the job's condition
        (dan, "APPROVE", None),  # a MEMBER of the organisation who may only triage: refused by the API check
        (carol, "APPROVE", first),  # an approval of an older commit
    ]
    for person, event, commit in cases:
        assert person.review(number, event, commit_id=commit)[0] == 200
        (promote,) = github.settle()
        assert promote.workflow == "promote.yml"
        assert "staging" not in promote.jobs, f"{person.login} {event} {commit or ''}: nothing deployed"
        if person is dan:
            assert promote.jobs == {"approval": "failure"}
            assert (
                "dan has read access to this repository: their approval deploys nothing to staging"
                in promote.output
            )
    assert ada.review(SHARED["fork"], "APPROVE")[0] == 200
    (promote,) = github.settle()
    assert promote.jobs == {}, "a fork's code never reaches an environment"
    staged = [
        c
        for c in fake.comments_on(number) + fake.comments_on(SHARED["fork"])
        if c["body"].startswith("### Staging")
    ]
    assert staged == []
    assert carol.review(number, "APPROVE")[0] == 200
    (promote,) = github.settle()
    assert promote.jobs == {"approval": "success", "staging": "success", "comment": "success"}
    assert f"stand-in checkout: {head}" in promote.output, "exactly the approved commit is deployed"
