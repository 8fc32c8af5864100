"""remote-dvc: the DVC_REMOTE_CREDENTIALS secret reaches one command in the form its remote needs, then is gone."""

import json
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from ml_gitops import UserError
from ml_gitops.core import remote

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

# Stands in for dvc: reports what it was given (the variables, the file they name, .dvc/config.local).
PROBE = textwrap.dedent(
    """
    import json, os, pathlib, stat, sys
    names = ("AWS_SHARED_CREDENTIALS_FILE", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_CONNECTION_STRING")
    seen = {name: os.environ.get(name) for name in (*names, "DVC_REMOTE_CREDENTIALS")}
    for name in names[:2]:
        if seen[name]:
            path = pathlib.Path(seen[name])
            seen["file"] = [path.read_text(), stat.S_IMODE(path.stat().st_mode)]
    local = pathlib.Path(".dvc/config.local")
    seen["config.local"] = local.read_text() if local.exists() else None
    seen["args"] = sys.argv[1:]
    pathlib.Path("probe.json").write_text(json.dumps(seen))
    """
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dvc").mkdir()
    return tmp_path


def configure(project: Path, url: str | None) -> None:
    remote_section = f"['remote \"storage\"']\n    url = {url}\n" if url else ""
    core = "[core]\n    autostage = true\n" + ("    remote = storage\n" if url else "")
    (project / ".dvc" / "config").write_text(core + remote_section)


def probe(project: Path, credentials: str) -> dict:
    status = remote.run(["push", "-q"], credentials, program=[sys.executable, "-c", PROBE])
    assert status == 0
    return json.loads((project / "probe.json").read_text())


@pytest.mark.parametrize(
    ("url", "variable"),
    [
        ("s3://bucket/store", "AWS_SHARED_CREDENTIALS_FILE"),
        ("gs://bucket/store", "GOOGLE_APPLICATION_CREDENTIALS"),
    ],
)
def test_file_credentials_are_private_and_removed_after_the_command(project, url, variable):
    configure(project, url)
    seen = probe(project, "secret file content")
    assert seen["args"] == ["push", "-q"]
    assert seen["file"] == ["secret file content\n", stat.S_IRUSR | stat.S_IWUSR]
    assert seen["DVC_REMOTE_CREDENTIALS"] is None, "the command never sees the secret itself"
    assert not Path(seen[variable]).exists(), "the file is gone once the command ends"


def test_azure_gets_the_connection_string(project):
    configure(project, "azure://container/store")
    seen = probe(project, "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y\n")
    assert (
        seen["AZURE_STORAGE_CONNECTION_STRING"] == "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=y"
    )


def test_ssh_key_is_named_in_config_local_for_the_command_only(project, monkeypatch):
    configure(project, "ssh://dvc@storage.example.com/srv/dvc")
    (project / ".dvc" / "config.local").write_text("[core]\n    no_scm = true\n")
    seen = probe(project, "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n")
    assert "keyfile = " in seen["config.local"]
    assert (project / ".dvc" / "config.local").read_text() == "[core]\n    no_scm = true\n", (
        "put back as it was"
    )


def test_without_the_secret_the_command_runs_with_the_environment_alone(project):
    configure(project, "s3://bucket/store")
    seen = probe(project, "")
    assert seen["AWS_SHARED_CREDENTIALS_FILE"] is None
    assert "file" not in seen


def test_a_secret_for_a_local_directory_is_refused(project):
    configure(project, "../storage")
    with pytest.raises(UserError, match="is a local directory, which needs none"):
        remote.run(["push"], "secret", program=[sys.executable, "-c", PROBE])
