"""After a killed run: DVC's stale lock goes only when its processes are gone; unfinished writes are removed."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml_gitops.core import files, recover

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


def write_lock(pid: int) -> None:
    recover.RWLOCK.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "cmd": "dvc repro"}
    recover.RWLOCK.write_text(json.dumps({"write": {"models/model.skops": holder}, "read": {}}))


def dead_pid() -> int:
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(process.stdout)


def test_lock_of_a_killed_run_is_removed(workdir):
    pid = dead_pid()
    write_lock(pid)
    assert recover.run() == [f"removed DVC's lock left by a run that was killed (PID {pid}: dvc repro)"]
    assert not recover.RWLOCK.exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="zombies are read from /proc (Linux)")
def test_lock_of_a_killed_but_unreaped_process_is_removed(workdir):
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, and stays a zombie until waited for
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    write_lock(child.pid)
    try:
        assert recover.run() == [
            f"removed DVC's lock left by a run that was killed (PID {child.pid}: dvc repro)"
        ]
    finally:
        child.wait()


def test_lock_of_a_running_process_is_kept(workdir):
    write_lock(os.getpid())
    assert recover.run() == []
    assert recover.RWLOCK.exists()


def test_lock_nobody_holds_is_left_alone(workdir):
    recover.RWLOCK.parent.mkdir(parents=True)
    recover.RWLOCK.write_text('{"write": {}, "read": {}}')
    assert recover.run() == []
    assert recover.RWLOCK.exists()


def test_unfinished_write_is_removed_and_the_output_kept(workdir):
    model = workdir / "models" / "model.skops"
    model.parent.mkdir()
    model.write_bytes(b"champion")
    leftover = model.parent / ".model.skops.abc123.tmp"
    leftover.write_bytes(b"half")
    assert recover.run() == [f"removed {leftover.relative_to(workdir)}, a write that never finished"]
    assert not leftover.exists()
    assert model.read_bytes() == b"champion"
    previous = os.umask(0o022)
    try:
        files.write_text("new", workdir / "models" / "note.txt")
    finally:
        os.umask(previous)
    assert (workdir / "models" / "note.txt").stat().st_mode & 0o777 == 0o644, (
        "not private like mkstemp's files"
    )
