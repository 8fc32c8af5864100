"""Recover from a killed run: DVC's stale lock and the temporary files of unfinished writes.

`dvc repro` records the processes using each path in .dvc/tmp/rwlock. A run that is killed (SIGKILL, a cancelled
job, a closed laptop) never removes its entries, and every later DVC command refuses to start, naming a process
that no longer exists; the lock is removed only when none of the processes it names is running. A stage killed
while writing leaves its temporary file (files.atomic_path) next to the output it never replaced.
"""

import json
import os
from pathlib import Path

from . import files

RWLOCK = Path(".dvc") / "tmp" / "rwlock"
OUTPUT_DIRS = (Path("data"), Path("models"), Path("reports"))


def run() -> list[str]:
    """Everything removed, in words."""
    removed = [
        f"removed {path}, a write that never finished" for path in files.unfinished_writes(*OUTPUT_DIRS)
    ]
    lock = clear_stale_lock()
    return removed + ([lock] if lock else [])


def clear_stale_lock() -> str | None:
    """Remove a lock whose processes are all gone; say what was removed, or None when there was nothing to do."""
    if not RWLOCK.is_file():
        return None
    try:
        holders = _holders(json.loads(RWLOCK.read_text(encoding="utf-8") or "{}"))
    except (ValueError, AttributeError, KeyError, TypeError):
        RWLOCK.unlink()  # its writer was killed mid-write: it protects nothing, and DVC cannot read it
        return "removed DVC's unreadable lock file, left by a run that was killed"
    if not holders or any(_is_running(holder["pid"]) for holder in holders):
        return None  # nobody holds it, or DVC itself will name the running process
    RWLOCK.unlink()
    named = sorted({f"PID {holder['pid']}: {holder['cmd']}" for holder in holders})
    return f"removed DVC's lock left by a run that was killed ({'; '.join(named)})"


def _holders(lock: dict) -> list[dict]:
    writers = list(lock.get("write", {}).values())
    readers = [holder for holders in lock.get("read", {}).values() for holder in holders]
    return [{"pid": int(holder["pid"]), "cmd": holder["cmd"]} for holder in writers + readers]


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet still has a PID, but runs nothing (Linux; elsewhere False)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"
