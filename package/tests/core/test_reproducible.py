"""Byte-identical artifacts (issue 27): the same data, parameters and code give the same model file, prepared
tables and metrics, whichever process runs the stage (DVC, or a person by hand), so `dvc status` does not call an
unchanged model modified. The stages run twice, each time in a new process, seconds apart, and their files'
hashes are compared."""

import hashlib
import subprocess
import sys
import time

from ml_gitops.core import paths

OUTPUTS = (
    paths.TRAIN,
    paths.TEST,
    paths.REFERENCE,
    paths.DATA_SUMMARY,
    paths.MODEL,
    paths.PREDICTIONS,
    paths.METRICS,
)


def run_stages() -> dict[str, str]:
    for stage in ("prepare", "train", "evaluate"):
        ran = subprocess.run([sys.executable, "-m", "ml_gitops", stage], capture_output=True, text=True)
        assert ran.returncode == 0, ran.stderr
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in OUTPUTS}


def test_a_stage_run_again_writes_the_same_bytes(workdir):
    first = run_stages()
    time.sleep(2)  # a zip archive's timestamps count in two-second steps
    assert run_stages() == first
