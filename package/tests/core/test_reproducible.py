"""Byte-identical artifacts (issue 27): the same data, parameters and code give the same model file, prepared
tables and metrics, whichever process runs the stage (DVC, or a person by hand), so `dvc status` does not call an
unchanged model modified. The stages run twice, seconds apart: a process each (as DVC runs them), then all three
in one new process (as a person might, from a notebook); their files' hashes are compared."""

import hashlib
import subprocess
import sys
import time

from conftest import MODULE

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


STAGES = ("prepare", "train", "evaluate")
IN_ONE_PROCESS = (
    "from ml_gitops.core import config\n"
    f"from {MODULE}.pipeline import {', '.join(STAGES)}\n"
    "settings = config.load()\n"
    f"for stage in ({', '.join(STAGES)}):\n"
    "    stage.run(settings)\n"
)


def hashes() -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in OUTPUTS}


def run(command: list[str]) -> None:
    ran = subprocess.run(command, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr


def test_a_stage_run_again_writes_the_same_bytes(workdir):
    for stage in STAGES:
        run([sys.executable, "-m", "ml_gitops", stage])
    first = hashes()
    time.sleep(2)  # a zip archive's timestamps count in two-second steps
    run([sys.executable, "-c", IN_ONE_PROCESS])
    assert hashes() == first
