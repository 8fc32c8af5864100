"""The DVC remote's credentials in CI: the DVC_REMOTE_CREDENTIALS secret, given to one DVC command and no other.

The secret holds what the remote's kind needs (the kind is read from the remote's URL in .dvc/config):

| remote | DVC_REMOTE_CREDENTIALS holds | handed to DVC as |
| --- | --- | --- |
| s3 | an AWS credentials file (`[default]`, `aws_access_key_id`, `aws_secret_access_key`) | AWS_SHARED_CREDENTIALS_FILE |
| gs | a service account's JSON key | GOOGLE_APPLICATION_CREDENTIALS |
| azure | the storage account's connection string | AZURE_STORAGE_CONNECTION_STRING |
| ssh | a private key | the remote's `keyfile`, in .dvc/config.local |

A file is written with mode 0600 in a private temporary directory and removed when the command ends, so the
steps after it (which may load a model) find no credentials on disk. Without the secret the command runs with
the environment's own credentials (yours, locally).
"""

import configparser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .. import UserError

SECRET = "DVC_REMOTE_CREDENTIALS"
DVC_CONFIG = Path(".dvc/config")
AS_FILE = {"s3": "AWS_SHARED_CREDENTIALS_FILE", "gs": "GOOGLE_APPLICATION_CREDENTIALS"}
AS_VALUE = {"azure": "AZURE_STORAGE_CONNECTION_STRING"}


def remote_url(config: Path = DVC_CONFIG) -> str | None:
    """The URL of the default remote, or None when the project has none."""
    parser = configparser.ConfigParser()
    parser.read(config, encoding="utf-8")
    name = parser.get("core", "remote", fallback=None)
    return parser.get(f"'remote \"{name}\"'", "url", fallback=None) if name else None


RAW = Path("data/raw")


def missing_inputs() -> list[Path]:
    """The DVC-tracked raw data files (data/raw/*.dvc) whose data this checkout lacks, as on a fresh CI runner."""
    return sorted(tracked for tracked in RAW.glob("*.dvc") if not tracked.with_suffix("").exists())


def fetch_inputs() -> int:
    """Bring the raw data this checkout lacks from the DVC remote (or an import's source) before training."""
    missing = missing_inputs()
    if not missing:
        return 0
    print(f"fetching {', '.join(str(path.with_suffix('')) for path in missing)} with dvc pull")
    return run(["pull", "--quiet", *(str(path) for path in missing)])


def run(dvc_args: list[str], credentials: str | None = None, program: list[str] | None = None) -> int:
    """Run `dvc <dvc_args>` (e.g. push) with the secret's credentials for the remote; return its exit status."""
    command = [*(program or [str(Path(sys.executable).parent / "dvc")]), *dvc_args]
    credentials = os.environ.get(SECRET, "") if credentials is None else credentials
    url = remote_url()
    if not credentials.strip() or url is None:
        return subprocess.run(command).returncode
    kind = url.split("://", 1)[0] if "://" in url else "local"
    if kind == "local":
        raise UserError(f"{SECRET} is set, but the remote {url} is a local directory, which needs none")
    directory = Path(tempfile.mkdtemp(prefix="dvc-remote-"))  # mode 0700
    try:
        secret_file = directory / "credentials"
        secret_file.touch(mode=0o600)
        secret_file.write_text(credentials if credentials.endswith("\n") else credentials + "\n")
        return _run_with(kind, command, secret_file, credentials.strip())
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run_with(kind: str, command: list[str], secret_file: Path, value: str) -> int:
    environment = dict(os.environ)
    environment.pop(SECRET, None)
    if kind in AS_FILE:
        environment[AS_FILE[kind]] = str(secret_file)
    elif kind in AS_VALUE:
        environment[AS_VALUE[kind]] = value
    elif kind == "ssh":
        return _run_with_keyfile(command, secret_file, environment)
    else:
        raise UserError(f"the remote's kind '{kind}' takes no {SECRET}: unset it or use s3, gs, azure or ssh")
    return subprocess.run(command, env=environment).returncode


def _run_with_keyfile(command: list[str], key: Path, environment: dict) -> int:
    """SSH: point the remote's keyfile at the key in .dvc/config.local for the command, then put it back."""
    local = DVC_CONFIG.with_name("config.local")
    saved = local.read_bytes() if local.exists() else None
    dvc = [str(Path(sys.executable).parent / "dvc"), "remote", "modify", "--local"]
    name = configparser.ConfigParser()
    name.read(DVC_CONFIG, encoding="utf-8")
    subprocess.run([*dvc, name.get("core", "remote"), "keyfile", str(key)], check=True, env=environment)
    try:
        return subprocess.run(command, env=environment).returncode
    finally:
        if saved is None:
            local.unlink(missing_ok=True)
        else:
            local.write_bytes(saved)
