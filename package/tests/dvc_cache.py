"""Outputs put in the DVC cache as `dvc commit` puts them, for tests whose champion is committed on a branch."""

import hashlib
import json
import shutil
from pathlib import Path

from ml_gitops.review import champion


def cache(path: Path) -> str:
    """Put `path` in the DVC cache under its content address, as dvc commit does; return the address."""
    digest = hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - DVC's content address
    cached = champion.CACHE / digest[:2] / digest[2:]
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, cached)
    return digest


def cache_directory(directory: Path) -> str:
    """Put a directory output in the DVC cache as DVC does: each file, then a .dir manifest of them."""
    entries = [{"md5": cache(path), "relpath": path.name} for path in sorted(directory.iterdir())]
    manifest = directory.parent / "manifest.json"
    manifest.write_text(json.dumps(entries))
    digest = cache(manifest)
    manifest.unlink()
    (champion.CACHE / digest[:2] / digest[2:]).rename(champion.CACHE / digest[:2] / f"{digest[2:]}.dir")
    return f"{digest}.dir"
