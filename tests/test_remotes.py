"""DVC remotes for real: a local directory, and S3 through dvc-s3 against a moto server on loopback.

Each baked project tracks a file with DVC, pushes it, loses it and its cache, and pulls it back byte for byte.
The S3 project talks to moto exactly as it would to AWS (the endpoint set with `dvc remote modify --local`), through
`python -m <module> remote-dvc`, the command its workflows run, with the credentials only in the
DVC_REMOTE_CREDENTIALS secret (an AWS credentials file) and gone from disk once each command ends; then the remote
becomes unreachable, and a push or pull must fail with DVC's clear error and leave the workspace as it was.
"""

import shutil
import socket
import tempfile
from pathlib import Path

import pytest
import yaml

from .conftest import HOST_PYTHON, bake, run, tool_env

pytestmark = pytest.mark.slow
BUCKET = "churn-model-dvc"
KEY, SECRET_KEY = "testing", "testing"
CREDENTIALS_FILE = f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET_KEY}\n"
REMOTE_DVC = ["uv", "run", "--locked", "python", "-m", "churn_model", "remote-dvc"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def round_trip(project, env, remote_dvc=("uv", "run", "--locked", "dvc")):
    """dvc add, push, lose the file and the cache, pull: the file comes back from the remote alone."""
    dvc, remote_dvc = ["uv", "run", "--locked", "dvc"], list(remote_dvc)
    data = project / "data" / "raw" / "batch.csv"
    data.write_text("".join(f"{i},{i * i}\n" for i in range(5000)))
    original = data.read_bytes()
    run([*dvc, "add", "data/raw/batch.csv"], cwd=project, env=env)
    pushed = run([*remote_dvc, "push", "data/raw/batch.csv.dvc"], cwd=project, env=env)
    assert "1 file pushed" in pushed.stdout
    data.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    pulled = run([*remote_dvc, "pull", "data/raw/batch.csv.dvc"], cwd=project, env=env)
    assert "1 file" in pulled.stdout
    assert data.read_bytes() == original
    status = run([*remote_dvc, "status", "--cloud", "data/raw/batch.csv.dvc"], cwd=project, env=env)
    assert "in sync" in status.stdout


def without_aws_credentials(env):
    """No AWS_* variable and no ~/.aws: boto finds credentials only where remote-dvc puts them."""
    clean = {key: value for key, value in env.items() if not key.startswith("AWS_")}
    home = Path(tempfile.mkdtemp(prefix="no-aws-home-"))
    return {**clean, "HOME": str(home), "AWS_DEFAULT_REGION": "us-east-1"}


def test_local_directory_remote_round_trip(cookies_session):
    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="local")
    run(["make", "install"], cwd=project)
    round_trip(project, tool_env())
    storage = (project / ".." / "churn-model-dvc-storage").resolve()
    assert any(path.is_file() for path in (storage / "files" / "md5").rglob("*"))


def test_s3_remote_round_trip_through_moto(cookies_session, moto_endpoint):
    import boto3

    project = bake(cookies_session, python_version=HOST_PYTHON, dvc_remote="s3")
    env = without_aws_credentials(tool_env())
    s3 = boto3.client(
        "s3", endpoint_url=moto_endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET_KEY
    )
    s3.create_bucket(Bucket=BUCKET)
    run(["make", "install"], cwd=project)
    run(
        [
            "uv",
            "run",
            "--locked",
            "dvc",
            "remote",
            "modify",
            "--local",
            "storage",
            "endpointurl",
            moto_endpoint,
        ],
        cwd=project,
    )
    (project / "data" / "raw" / "probe.csv").write_text("a\n1\n")
    run(["uv", "run", "--locked", "dvc", "add", "data/raw/probe.csv"], cwd=project, env=env)
    refused = run([*REMOTE_DVC, "push", "data/raw/probe.csv.dvc"], cwd=project, env=env, check=False)
    assert refused.returncode != 0, "without the secret there are no credentials"
    assert "Unable to locate credentials" in refused.stderr, refused.stderr
    before = set(Path(tempfile.gettempdir()).glob("dvc-remote-*"))
    env = {**env, "DVC_REMOTE_CREDENTIALS": CREDENTIALS_FILE}
    round_trip(project, env, remote_dvc=REMOTE_DVC)
    assert set(Path(tempfile.gettempdir()).glob("dvc-remote-*")) == before, "no credentials left on disk"
    assert not (project / ".dvc" / "config.local").read_text().count("credential")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys
    assert all(key.startswith("store/files/md5/") for key in keys)
    poisoned_objects_are_refused(project, env, s3)
    unreachable_remote_changes_nothing(project, env)


def poisoned_objects_are_refused(project, env, s3):
    """Whoever can write to the bucket replaces an object: the pull re-hashes it (`verify = true`), refuses it and
    checks nothing out, where DVC's default would put the attacker's bytes in the workspace."""
    batch = project / "data" / "raw" / "batch.csv"
    md5 = yaml.safe_load((project / "data" / "raw" / "batch.csv.dvc").read_text())["outs"][0]["md5"]
    key = f"store/files/md5/{md5[:2]}/{md5[2:]}"
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"poisoned\n")
    try:
        batch.unlink()
        shutil.rmtree(project / ".dvc" / "cache")
        pulled = run([*REMOTE_DVC, "pull", "data/raw/batch.csv.dvc"], cwd=project, env=env, check=False)
        assert pulled.returncode != 0, "the poisoned object was checked out"
        assert "Traceback" not in pulled.stdout + pulled.stderr
        assert "ERROR: failed to pull data from the cloud" in pulled.stderr
        assert not batch.exists()
    finally:
        s3.put_object(Bucket=BUCKET, Key=key, Body=original)
    run([*REMOTE_DVC, "pull", "data/raw/batch.csv.dvc"], cwd=project, env=env)
    assert batch.exists()


def unreachable_remote_changes_nothing(project, env):
    """Point the remote at a closed port: push and pull fail naming its endpoint, and nothing is half-done. One
    attempt each (botocore's AWS_MAX_ATTEMPTS): its retries, about 15 s of back-off here, change nothing of that."""
    dvc = ["uv", "run", "--locked", "dvc"]
    env = {**env, "AWS_MAX_ATTEMPTS": "1"}
    endpoint = f"http://127.0.0.1:{free_port()}"
    run(
        [*dvc, "remote", "modify", "--local", "storage", "endpointurl", endpoint],
        project,
    )
    fresh = project / "data" / "raw" / "fresh.csv"
    fresh.write_text("a,b\n1,2\n")
    run([*dvc, "add", "data/raw/fresh.csv"], cwd=project, env=env)
    pushed = run([*REMOTE_DVC, "push", "data/raw/fresh.csv.dvc"], cwd=project, env=env, check=False)
    assert pushed.returncode != 0
    assert f'Could not connect to the endpoint URL: "{endpoint}/' in pushed.stderr, pushed.stderr
    assert "Traceback" not in pushed.stdout + pushed.stderr

    batch = project / "data" / "raw" / "batch.csv"
    batch.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    pulled = run([*REMOTE_DVC, "pull", "data/raw/batch.csv.dvc"], cwd=project, env=env, check=False)
    assert pulled.returncode != 0
    assert f'Could not connect to the endpoint URL: "{endpoint}/' in pulled.stderr, pulled.stderr
    assert not batch.exists(), "a failed pull leaves no partial file"
    assert not list((project / "data" / "raw").glob("batch.csv*[!d][!v][!c]")), "nor any temporary one"
