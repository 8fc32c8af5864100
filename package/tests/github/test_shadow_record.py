"""The challenger in shadow, the GitOps way: who may ask (a writer, never for a fork), the record (a deployment to
the environment `shadow`), stopping it, and the pick-up where the service runs (the newest record, its model
verified against the record's SHA-256 before anything is written). Against the package's GitHub stand-in, through
the command line as shadow.yml and a deployment run it."""

import hashlib
import io
import json
import zipfile

import pytest
from github_api import REPOSITORY, FakeGitHub

from ml_gitops import cli

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

HEAD = "abc1234" + "d" * 33
RELEASED = b"the released model v1.3.0"
CANDIDATE = b"pull request 12's candidate model"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def github(monkeypatch):
    with FakeGitHub() as fake:
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


def candidate_artifact(tmp_path, github, run_id: int = 77, model: bytes = CANDIDATE):
    """The artifact shadow-model: as the record job downloads it, and as the run's zip."""
    folder = tmp_path / "artifact"
    folder.mkdir(exist_ok=True)
    (folder / "model.skops").write_bytes(model)
    (folder / "SHA256SUMS").write_text(f"{sha(model)}  model.skops\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("model.skops", model)
        zipped.writestr("SHA256SUMS", f"{sha(model)}  model.skops\n")
    github.artifact(run_id, "shadow-model", archive.getvalue())
    return folder


def record_candidate(capsys, tmp_path, github, run_id: int = 77):
    folder = candidate_artifact(tmp_path, github, run_id)
    argv = ["--pull-request", "12", "--head-sha", HEAD, "--run-id", str(run_id), "--artifact", str(folder)]
    assert run(capsys, "shadow-record", *argv)[0] == 0


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


def test_a_pull_request_s_candidate_is_recorded_and_picked_up_from_its_run_s_artifact(
    github, capsys, tmp_path
):
    record_candidate(capsys, tmp_path, github)
    (deployment,) = github.deployments
    assert deployment["ref"] == HEAD
    assert deployment["payload"] == {
        "pull_request": 12,
        "head_sha": HEAD,
        "run_id": 77,
        "artifact": "shadow-model",
        "model_sha256": sha(CANDIDATE),
    }
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 0, err
    assert (dest / "model.skops").read_bytes() == CANDIDATE
    record = json.loads((dest / "record.json").read_text())
    assert (record["version"], record["pull_request"]) == ("pr-12@abc1234", 12)
    assert out.split()[-1] == "pr-12@abc1234"


def test_the_newest_record_wins_and_stopping_it_leaves_none_and_removes_nothing(github, capsys, tmp_path):
    assert run(capsys, "shadow-record", "--version", "v1.3.0")[0] == 0
    record_candidate(capsys, tmp_path, github)
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
    record_candidate(capsys, tmp_path, github)
    github.artifacts[77] = []
    candidate_artifact(tmp_path, github, 77, model=b"another model, uploaded over the artifact")
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "refusing it, nothing written" in err
    assert not dest.exists()


def test_an_expired_artifact_says_how_to_rebuild_it(github, capsys, tmp_path):
    record_candidate(capsys, tmp_path, github)
    archive = github.artifacts[77][0][1]
    github.artifacts[77] = [("shadow-model", archive, True)]
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
    record_candidate(capsys, tmp_path, github)  # a writer's own call to the API, not shadow.yml
    dest = tmp_path / "shadow"
    code, out, err = run(capsys, "shadow-pull", "--dest", str(dest))
    assert (code, out) == (0, ""), "GitHub made the recorded one inactive; the hand-made one is no record"
    assert "no challenger recorded" in err
    assert not dest.exists()


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
        (["--sender", "wes", "--action", "labeled"], ["do=build", "pull_request=12", f"head_sha={HEAD}"]),
        (["--sender", "ada", "--action", "unlabeled"], ["do=stop", "pull_request=12"]),
    ],
)
def test_a_writer_s_label_asks_to_build_and_its_removal_to_stop(github, capsys, argv, outputs):
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
