"""How many threads a model call may use: one for the service's small batches, every core for `score`'s large ones.

A call on a few rows gains nothing from OpenMP's threads and, on a busy machine, loses much to them: each
parallel region waits for threads that other processes keep off the cores (one row took 1.7 s instead of 27 ms).
A call on thousands of rows is worth every core. OpenMP's setting belongs to the thread that makes it, so
`one_thread` is called in the thread that scores.
"""

import os
from pathlib import Path

from threadpoolctl import threadpool_limits


def one_thread() -> None:
    """Native thread pools (OpenMP, BLAS) run one thread for calls made from this thread, from now on."""
    threadpool_limits(limits=1)


def every_core():
    """A context in which native thread pools use every core this process may run on."""
    return threadpool_limits(limits=cores())


def cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a container's CPU quota (cgroup v2)."""
    available = len(os.sched_getaffinity(0))
    quota = _cgroup_quota()
    return max(1, min(available, quota)) if quota else available


def _cgroup_quota(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPU quota of a cgroup v2 in whole cores (rounded up), 0 without one."""
    try:
        limit, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return 0
    if limit == "max":
        return 0
    return -(-int(limit) // int(period))
