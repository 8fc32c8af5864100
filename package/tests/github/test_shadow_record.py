"""The challenger in shadow, the GitOps way: who may ask (a writer, never for a fork), the record (a deployment to
the environment `shadow`), stopping it, and the pick-up where the service runs (the newest record, its model
verified against the record's SHA-256 before anything is written). A pull request's candidate is the model its own
model-pr run (`pull_request`, read-only) trained, found through the REST API and read as data: shadow.yml
(`pull_request_target`) never runs the pull request's code. Against the package's GitHub stand-in, through the
command line as shadow.yml and a deployment run it."""

import hashlib
import io
import json
import random
import urllib.parse
import zipfile

import pytest
from github_api import REPOSITORY, FakeGitHub

from ml_gitops import cli
from ml_gitops.github import shadow_record

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAD = "abc1234" + "d" * 33
OTHER_HEAD = "fed4321" + "e" * 33
RELEASED = b"the released model v1.3.0"
CANDIDATE = b"pull request 12's candidate model"
MODEL_PR = ".github/workflows/model-pr.yml"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RunsGitHub(FakeGitHub):
    """The package's stand-in (github_api.FakeGitHub) and the workflow runs list it lacks: `GET
    /repos/{owner}/{repo}/actions/runs` ("List workflow runs for a repository", @octokit/openapi
    `actions/list-workflow-runs-for-repo`), newest first, narrowed by `head_sha` ("Only returns workflow runs that
    are associated with the specified head_sha"), `event` and `status` ("Returns workflow runs with the check run
    status or conclusion that you specify"), each run a `workflow-run` (its `pull_requests`: "Pull requests that are
    open with a head_sha or head_branch that matches the workflow run"), paginated with a Link header that keeps
    the query."""

    def __init__(self):
        super().__init__()
        self.runs: list[dict] = []
        self.runs_queries: list[dict] = []
        # False: every run is answered whatever the query (the client's own checks stand alone)
        self.filters = True

    def workflow_run(
        self,
        run_id: int,
        head_sha: str = HEAD,
        pull_request: int | None = 12,
        path: str = MODEL_PR,
        event: str = "pull_request",
        conclusion: str | None = "success",
        head_repo: str = REPOSITORY,
    ) -> None:
        self.runs.append(
            {
                "id": run_id,
                "name": "model-pr",
                "path": path,
                "event": event,
                "status": "completed" if conclusion else "in_progress",
                "conclusion": conclusion,
                "head_sha": head_sha,
                "head_branch": "challenger",
                "repository": {"full_name": REPOSITORY},
                "head_repository": {"full_name": head_repo},
                "pull_requests": [{"number": pull_request}] if pull_request else [],
            }
        )

    def answer(self, method: str, path: str, query: dict, body):
        if method == "GET" and path == f"/repos/{REPOSITORY}/actions/runs":
            self.runs_queries.append(query)
            listed = [
                run
                for run in sorted(self.runs, key=lambda r: r["id"], reverse=True)
                if not self.filters
                or (
                    query.get("head_sha", run["head_sha"]) == run["head_sha"]
                    and query.get("event", run["event"]) == run["event"]
                    and query.get("status") in (None, run["status"], run["conclusion"])
                )
            ]
            per_page, page = min(int(query.get("per_page", 30)), 100), int(query.get("page", 1))
            chunk = listed[(page - 1) * per_page : page * per_page]
            following = urllib.parse.urlencode({**query, "page": page + 1})
            link = f'<{self.url}{path}?{following}>; rel="next"' if page * per_page < len(listed) else ""
            return 200, {"total_count": len(listed), "workflow_runs": chunk}, link
        return super().answer(method, path, query, body)


@pytest.fixture
def github(monkeypatch):
    with RunsGitHub() as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        fake.permissions = {"ada": "admin", "wes": "write", "tia": "read", "rui": "read"}
        fake.release(
            "model@v1.3.0",
            {"model.skops": RELEASED, "SHA256SUMS": f"{sha(RELEASED)}  model.skops\n".encode()},
        )
        yield fake


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def zipped(files: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as opened:
        for name, data in files.items():
            opened.writestr(name, data)
    return archive.getvalue()


def candidate_run(github, run_id: int = 77, model: bytes = CANDIDATE, **run) -> None:
    """A successful model-pr run of HEAD for pull request 12 and its artifact candidate-model (models/model.skops
    alone, as actions/upload-artifact lays it out)."""
    github.workflow_run(run_id, **run)
    github.artifact(run_id, "candidate-model", zipped({"model.skops": model}))


def record_candidate(capsys, github, run_id: int = 77):
    candidate_run(github, run_id)
    code, out, err = run(capsys, "shadow-record", "--pull-request", "12", "--head-sha", HEAD)
    assert code == 0, err


def test_a_released_version_is_recorded_and_picked_up_exactly(github, capsys, tmp_path):
    code, out, _ = run(capsys, "shadow-record", "--version", "v1.3.0")
    assert code == 0, out
    (deployment,) = github.deployments
    assert deployment["ref"] == "model@v1.3.0"
    assert deployment["environment"] == "shadow"
    assert deployment["payload"] == {"version": "v1.3.0", "model_sha256": sha(RELEASED)}
    assert github.state_of(deployment["id"]) == "success"

    dest = tmp_path / "models" / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 0, err
    assert (dest / "model.skops").read_bytes() == RELEASED
    assert (dest / "SHA256SUMS").read_text() == f"{sha(RELEASED)}  model.skops\n"
    record = json.loads((dest / "record.json").read_text())
    assert (record["version"], record["pull_request"]) == ("v1.3.0", None)
    assert out.split() == [
        "--shadow", str(dest / "model.skops"), "--shadow-checksums", str(dest / "SHA256SUMS"),
        "--shadow-version", "v1.3.0",
    ]  # fmt: skip
    assert github.storage_requests
    assert all(r["authorization"] is None for r in github.storage_requests), "GitHub's storage gets no token"


def test_a_pull_request_s_candidate_is_recorded_and_picked_up_from_its_model_pr_run_s_artifact(
    github, capsys, tmp_path
):
    record_candidate(capsys, github)
    assert github.runs_queries == [
        {"head_sha": HEAD, "event": "pull_request", "status": "success", "per_page": "100"}
    ], "the runs of exactly the labelled commit, from pull_request events, that succeeded"
    (deployment,) = github.deployments
    assert deployment["ref"] == HEAD
    assert deployment["payload"] == {
        "pull_request": 12,
        "head_sha": HEAD,
        "run_id": 77,
        "artifact": "candidate-model",
        "model_sha256": sha(CANDIDATE),
    }
    assert github.storage_requests
    assert all(r["authorization"] is None for r in github.storage_requests), "GitHub's storage gets no token"
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 0, err
    assert (dest / "model.skops").read_bytes() == CANDIDATE
    record = json.loads((dest / "record.json").read_text())
    assert (record["version"], record["pull_request"]) == ("pr-12@abc1234", 12)
    assert out.split()[-1] == "pr-12@abc1234"


def test_the_newest_record_wins_and_stopping_it_leaves_none_and_removes_nothing(github, capsys, tmp_path):
    assert run(capsys, "shadow-record", "--version", "v1.3.0")[0] == 0
    record_candidate(capsys, github)
    first, second = github.deployments
    assert github.state_of(first["id"]) == "inactive", "auto_inactive: one challenger at a time"
    dest = tmp_path / "shadow"
    assert run(capsys, "shadow-pull", "--dest", str(dest))[0] == 0
    assert (dest / "model.skops").read_bytes() == CANDIDATE

    code, out, _ = run(capsys, "shadow-stop", "--pull-request", "13")
    assert code == 0
    assert "goes on" in out
    assert github.state_of(second["id"]) == "success", "another pull request's label stops nothing"

    assert run(capsys, "shadow-stop", "--pull-request", "12")[0] == 0
    assert github.state_of(second["id"]) == "inactive"
    before = {path.name: path.read_bytes() for path in dest.iterdir()}
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert (code, out) == (0, "")
    assert "no challenger recorded" in err
    assert {path.name: path.read_bytes() for path in dest.iterdir()} == before


def test_a_model_that_is_not_the_recorded_one_is_refused_and_nothing_is_written(github, capsys, tmp_path):
    record_candidate(capsys, github)
    # the storage behind the artifact's download now serves other bytes than the record job read
    github.blobs["run77/candidate-model"] = zipped({"model.skops": b"another model, put over the artifact"})
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "refusing it, nothing written" in err
    assert not dest.exists()


def test_an_expired_artifact_says_how_to_rebuild_it(github, capsys, tmp_path):
    record_candidate(capsys, github)
    archive = github.artifacts[77][0][1]
    github.artifacts[77] = [("candidate-model", archive, True)]
    code, _, err = run(capsys, "shadow-pull", "--dest", str(tmp_path / "shadow"))
    assert code == 1
    assert "has expired" in err
    assert "label" in err


def test_a_deployment_left_unfinished_is_passed_over(github, capsys, tmp_path):
    assert run(capsys, "shadow-record", "--version", "v1.3.0")[0] == 0
    github.deployments.append({**github.deployments[0], "id": 999})  # created, never marked (a failed run)
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 0, err
    assert out.split()[-1] == "v1.3.0"
    assert (dest / "model.skops").read_bytes() == RELEASED


def test_a_deployment_made_by_hand_is_never_picked_up(github, capsys, tmp_path):
    assert run(capsys, "shadow-record", "--version", "v1.3.0")[0] == 0
    github.creator = {"login": "wes", "type": "User"}
    record_candidate(capsys, github)  # a writer's own call to the API, not shadow.yml
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert (code, out) == (0, ""), "GitHub made the recorded one inactive; the hand-made one is no record"
    assert "no challenger recorded" in err
    assert not dest.exists()


@pytest.mark.parametrize("filters", [True, False], ids=["github-filters", "client-checks-alone"])
@pytest.mark.parametrize("path", [MODEL_PR, f"{MODEL_PR}@refs/pull/12/merge"])
def test_the_candidate_is_the_newest_successful_model_pr_run_of_exactly_the_head_for_this_pull_request(
    github, capsys, filters, path
):
    """Runs of another workflow, another pull request, a fork, another event, another commit, or that did not
    succeed are passed over, by GitHub's filters and again by the client; every page is read."""
    github.filters = filters
    candidate_run(github, 70, model=b"an older candidate of the same commit", path=path)
    candidate_run(github, 77, path=path)
    decoys = [
        {"path": ".github/workflows/ci.yml"},  # another workflow of the same commit
        {"path": f"acme/churn/{MODEL_PR}@main"},  # not a run's own workflow file
        {"path": f"{MODEL_PR}.bak"},
        {"pull_request": 13},  # the same commit in another pull request
        {"pull_request": None},
        {"head_repo": "mallory/churn"},  # a fork's
        {"event": "pull_request_target"},  # the default branch's code, not model-pr's run of the pull request
        {"head_sha": OTHER_HEAD},
        {"conclusion": "failure"},  # its gate failed after the upload
        {"conclusion": None},  # still running
    ]
    for number, fields in enumerate(decoys, start=80):
        candidate_run(github, number, model=b"not the candidate", **fields)
    for number in range(200, 330):  # more than a page of other workflows' runs of the commit, all newer
        github.workflow_run(number, path=".github/workflows/ci.yml")
    code, out, err = run(capsys, "shadow-record", "--pull-request", "12", "--head-sha", HEAD)
    assert code == 0, err
    (deployment,) = github.deployments
    assert (deployment["payload"]["run_id"], deployment["payload"]["model_sha256"]) == (77, sha(CANDIDATE))
    assert [query.get("page", "1") for query in github.runs_queries] == ["1", "2"]


@pytest.mark.parametrize("conclusion", [None, "failure"], ids=["model-pr-running", "model-pr-failed"])
def test_a_label_before_model_pr_passed_on_the_head_records_nothing_and_says_what_to_do(
    github, capsys, conclusion
):
    candidate_run(github, 70, head_sha=OTHER_HEAD)  # the pull request's earlier head passed
    candidate_run(github, 77, conclusion=conclusion)  # the labelled head's: uploaded, not (yet) successful
    code, out, err = run(capsys, "shadow-record", "--pull-request", "12", "--head-sha", HEAD)
    assert (code, out) == (1, "")
    assert err == (
        f"error: pull request #12's head {HEAD[:12]} has no successful model-pr run yet: wait for model-pr to "
        "pass on it, then remove and add the label shadow again; nothing recorded\n"
    )
    assert github.deployments == []
    assert github.storage_requests == [], "no artifact of any run was read"


@pytest.mark.parametrize(
    ("artifact", "refusal"),
    [
        (None, "model-pr run 77 kept no candidate-model: pull request #12 changes no model input"),
        ({"model.skops": CANDIDATE, "SHA256SUMS": b"0" * 64}, "holds ['model.skops', 'SHA256SUMS'], not"),
        ({"models/model.skops": CANDIDATE}, "holds ['models/model.skops'], not model.skops alone"),
        ({"model.skops": CANDIDATE, "../evil.py": b"print()"}, "not model.skops alone"),
        ({}, "holds [], not model.skops alone"),
        (b"not a zip", "is not a zip holding model.skops"),
        ("expired", "has expired: run model-pr again on the pull request, then remove and add the label"),
    ],
)
def test_a_model_pr_run_without_exactly_one_model_file_is_refused(github, capsys, artifact, refusal):
    github.workflow_run(77)
    if isinstance(artifact, dict):
        github.artifact(77, "candidate-model", zipped(artifact))
    elif isinstance(artifact, bytes):
        github.artifact(77, "candidate-model", artifact)
    elif artifact == "expired":
        github.artifact(77, "candidate-model", zipped({"model.skops": CANDIDATE}), expired=True)
    code, _, err = run(capsys, "shadow-record", "--pull-request", "12", "--head-sha", HEAD)
    assert code == 1
    assert refusal in err
    assert len(err.strip().splitlines()) == 1
    assert github.deployments == []


@pytest.mark.parametrize(
    ("model", "refusal"),
    [
        # deflates to a small archive: the model itself is too large
        (b"\0" * 50_000, "model.skops in model-pr run 77's artifact candidate-model is too large"),
        (random.Random(7).randbytes(5000), "is larger than 1,000 bytes: refusing it"),  # the archive itself
    ],
)
def test_a_model_larger_than_the_limit_is_refused(github, capsys, monkeypatch, model, refusal):
    monkeypatch.setattr(shadow_record, "MAX_MODEL_BYTES", 1000)
    candidate_run(github, 77, model=model)
    code, _, err = run(capsys, "shadow-record", "--pull-request", "12", "--head-sha", HEAD)
    assert code == 1
    assert refusal in err
    assert github.deployments == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--pull-request", "12"],
        ["--head-sha", HEAD],
        ["--version", "v1.3.0", "--pull-request", "12", "--head-sha", HEAD],
    ],
)
def test_shadow_record_takes_a_version_or_a_pull_request_and_its_head(github, capsys, argv):
    code, _, err = run(capsys, "shadow-record", *argv)
    assert code == 1
    assert "give either --version, or --pull-request and --head-sha" in err
    assert github.deployments == []


@pytest.mark.parametrize(
    ("sender", "head_repo", "refusal"),
    [
        ("tia", REPOSITORY, "tia has read access"),
        ("rui", REPOSITORY, "rui has read access"),
        ("wes", "mallory/churn", "a fork's code never scores production traffic"),
        ("ada", "mallory/churn", "a fork's code never scores production traffic"),
        ("not a login", REPOSITORY, "is not a GitHub login"),
    ],
)
def test_a_label_by_anyone_without_write_access_or_on_a_fork_is_refused(
    github, capsys, sender, head_repo, refusal
):
    argv = ["--sender", sender, "--action", "labeled", "--pull-request", "12", "--head-repo", head_repo]
    code, out, err = run(capsys, "shadow-ask", *argv, "--head-sha", HEAD)
    assert code == 1
    assert out == ""
    assert refusal in err
    assert len(err.strip().splitlines()) == 1
    assert github.deployments == []


@pytest.mark.parametrize(
    ("argv", "outputs"),
    [
        (
            ["--sender", "wes", "--action", "labeled"],
            ["do=record-candidate", "pull_request=12", f"head_sha={HEAD}"],
        ),
        (["--sender", "ada", "--action", "unlabeled"], ["do=stop", "pull_request=12"]),
    ],
)
def test_a_writer_s_label_asks_to_record_its_candidate_and_its_removal_to_stop(github, capsys, argv, outputs):
    code, out, _ = run(
        capsys, "shadow-ask", *argv, "--pull-request", "12", "--head-repo", REPOSITORY, "--head-sha", HEAD
    )
    assert code == 0
    assert [line for line in out.splitlines() if "=" in line] == outputs


@pytest.mark.parametrize(
    ("challenger", "code", "said"),
    [
        ("v1.3.0", 0, "do=record-version"),
        ("none", 0, "do=stop"),
        ("1.3.0", 1, "not a version such as v1.2.0"),
    ],
)
def test_a_dispatch_names_a_version_or_none(github, capsys, challenger, code, said):
    ran, out, err = run(capsys, "shadow-ask", "--challenger", challenger)
    assert ran == code
    assert said in out + err


def test_a_version_without_a_release_or_its_checksums_is_not_recorded(github, capsys):
    code, _, err = run(capsys, "shadow-record", "--version", "v9.9.9")
    assert code == 1
    assert "there is no release model@v9.9.9" in err
    github.release("model@v1.4.0", {"model.skops": RELEASED})
    code, _, err = run(capsys, "shadow-record", "--version", "v1.4.0")
    assert code == 1
    assert "has no SHA256SUMS" in err
    assert github.deployments == []


def test_the_shadow_commands_import_the_standard_library_only():
    """shadow.yml runs them in jobs that hold a token that writes deployments."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ml_gitops.github import commands, shadow_pull, shadow_record\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(eval(loaded)) <= {"ml_gitops", "__main__", "_distutils_hack"}
