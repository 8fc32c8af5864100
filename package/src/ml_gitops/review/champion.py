"""The champion: the model of the base revision, its predictions read from the DVC cache, the remote, or reproduced.

Its metrics are committed in Git, but its test-set predictions (needed to pair the two models row by row) live
in the DVC cache. When this machine's cache holds them (the base's dvc.lock names their hash), they are read from
there; otherwise (in CI the cache starts empty) the base is checked out in a Git worktree that shares the cache,
and its predictions are pulled from the DVC remote when it holds them (a release pushes them there), or the
champion is reproduced: its code, its params, its data (pulled when DVC tracks it). Its dvc.lock also says what
each stage ran on and wrote (md5s), which the working tree's files can be checked against.
"""

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import yaml

from .. import UserError
from ..core import paths
from ..core.shell import git, show, tool

WORKTREE = Path(".dvc/tmp/champion")
CACHE = Path(".dvc/cache/files/md5")


def resolve(rev: str) -> str:
    """The full commit id of `rev`, or a UserError that says how to make it available."""
    try:
        return git("rev-parse", "--verify", "--quiet", rev + "^{commit}")
    except UserError:
        raise UserError(f"base revision '{rev}' not found: fetch it first (git fetch origin {rev})") from None


def has_model(commit: str) -> bool:
    """Whether the base revision has a trained model (its metrics are committed)."""
    return show(commit, paths.METRICS) is not None


def reproduce(commit: str) -> Path:
    """Check out `commit` in the champion worktree and reproduce its pipeline there; return the worktree."""
    root = Path.cwd()
    if (WORKTREE / ".git").exists():
        git("checkout", "--quiet", "--force", "--detach", commit, cwd=WORKTREE)
    else:
        git("worktree", "prune")
        git("worktree", "add", "--quiet", "--force", "--detach", str(WORKTREE), commit)
    tool("dvc", "config", "--local", "cache.dir", str(root / ".dvc" / "cache"), cwd=WORKTREE)
    if _pulled(paths.PREDICTIONS):
        return WORKTREE
    environment = {**os.environ, "PYTHONPATH": str((WORKTREE / "src").resolve())}  # the champion's own code
    try:
        raw = [str(path.relative_to(WORKTREE)) for path in (WORKTREE / "data" / "raw").glob("*.dvc")]
        if raw:
            tool("dvc", "pull", *raw, cwd=WORKTREE)
        tool("dvc", "repro", cwd=WORKTREE, env=environment)
    except UserError as error:
        raise UserError(f"could not reproduce the champion at {commit[:12]}: {error}") from None
    return WORKTREE


def _pulled(output: Path) -> bool:
    """Whether the DVC remote (if any, and reachable with the credentials at hand) had the champion's output."""
    try:
        tool("dvc", "pull", str(output), cwd=WORKTREE)
    except UserError:
        return False
    return (WORKTREE / output).is_file()


def predictions(commit: str) -> pd.DataFrame | None:
    """The champion's test-set predictions, or None when the base revision has no model yet."""
    if not has_model(commit):
        return None
    return pd.read_parquet(cached_output(commit, paths.PREDICTIONS) or reproduce(commit) / paths.PREDICTIONS)


def model_file(commit: str) -> Path:
    """The champion's model file: from the local cache, else checked out or pulled in the champion worktree (where
    reproduce() left it, or the DVC remote holds it)."""
    cached = cached_output(commit, paths.MODEL)
    if cached:
        return cached
    worktree = reproduce(commit)
    for command in ("checkout", "pull"):
        try:
            tool("dvc", command, str(paths.MODEL), cwd=worktree)
        except UserError:
            continue
        if (worktree / paths.MODEL).is_file():
            return worktree / paths.MODEL
    raise UserError(f"the champion's model of {commit[:12]} is neither in the DVC cache nor in the remote")


def cached_output(commit: str, path: Path) -> Path | None:
    """The cache file of the output `path` as `commit`'s dvc.lock records it, when the local cache holds it."""
    digest = output_md5(lock(commit), path)
    if not digest or digest.endswith(".dir"):
        return None
    cached = cache_file(digest)
    return cached if cached.is_file() else None


def lock(commit: str) -> dict:
    """`commit`'s dvc.lock ({} when it has none)."""
    recorded = yaml.load(show(commit, "dvc.lock") or "", Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return recorded if isinstance(recorded, dict) else {}


def stage_writing(recorded: dict, path: Path) -> dict | None:
    """The record (deps, params, outs) of the stage of a dvc.lock that writes `path`, or None."""
    stages = recorded.get("stages")
    for stage in stages.values() if isinstance(stages, dict) else []:
        if isinstance(stage, dict) and any(_names(entry, path) for entry in stage.get("outs") or []):
            return stage
    return None


def output_md5(recorded: dict, path: Path) -> str:
    """The md5 a dvc.lock records for its output `path` ("" when it records none)."""
    stage = stage_writing(recorded, path) or {}
    return next((str(entry.get("md5", "")) for entry in stage.get("outs") or [] if _names(entry, path)), "")


def _names(entry: object, path: Path) -> bool:
    return isinstance(entry, dict) and entry.get("path") == str(path)


def cache_file(digest: str) -> Path:
    """Where the local DVC cache keeps the content whose md5 is `digest` (a .dir digest: a directory's manifest)."""
    return CACHE / digest[:2] / digest[2:]


def md5_in_directory(digest: str, name: str) -> str:
    """The md5 of the file `name` of the directory output whose md5 is `digest`, from its .dir manifest in the local
    cache ("" when the cache lacks the manifest or the manifest lacks the file)."""
    manifest = cache_file(digest)
    if not digest.endswith(".dir") or not manifest.is_file():
        return ""
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ""
    found = [entry for entry in entries if isinstance(entry, dict) and entry.get("relpath") == name]
    return str(found[0].get("md5", "")) if len(found) == 1 else ""


def holds(path: Path, digest: str) -> bool:
    """Whether the file `path` has the content DVC addresses as `digest` (its md5)."""
    if not digest or not path.is_file():
        return False
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "md5").hexdigest() == digest
