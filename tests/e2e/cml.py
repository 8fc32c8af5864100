"""The real CML 0.20.6, built once per machine from ../shared/vendor (npm registry dependencies), for the workflows
under act: the setup-cml stand-in puts `cml` from here on PATH."""

import fcntl
import functools
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from ..conftest import CACHE, TEMPLATE

VERSION = "0.20.6"
ARCHIVE = TEMPLATE.parent / "shared" / "vendor" / f"cml-{VERSION}.tar.gz"
SHA256 = "8e8a0ddade5f1fb50662e2237240206b4022c981e78ff482a6dfb5c3dd4d9e6c"


@functools.cache
def home() -> Path:
    """The directory of the built CML (bin/cml.js and its node_modules), building it on first use."""
    target = (CACHE / f"cml-{VERSION}").resolve()  # npm treats a prefix reached through a symlink as a link
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".cml.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers build it once between them
        if not (target / ".built").exists():
            build(target)
    return target


def build(target: Path) -> None:
    if not ARCHIVE.is_file():
        raise FileNotFoundError(
            f"{ARCHIVE} is missing: the tests run CML {VERSION} from the shared vendor folder"
        )
    digest = hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{ARCHIVE} has SHA-256 {digest}, not the recorded {SHA256}")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(target, filter="data")
    subprocess.run(
        [
            "npm",
            "ci",
            "--prefix",
            str(target),
            "--omit=dev",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ],
        check=True,
        capture_output=True,
    )
    (target / ".built").write_text(VERSION)
