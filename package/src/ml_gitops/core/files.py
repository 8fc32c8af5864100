"""Write outputs atomically and keep model files safe.

Every output goes to a temporary file next to its target and is renamed into place only once complete, so a
failed or killed run leaves either the old file or the new one, never half of one. Models are stored with
skops, which loads only the types it is told to trust, never arbitrary pickled code: the types skops trusts by
default, and exactly the type names the caller names (pipeline/train.py's MODEL_TYPES), never a module prefix.
"""

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import UserError
from . import skops_reader

# A line of SHA256SUMS as sha256sum writes it: the digest, then two spaces (or " *", binary mode) and the name
CHECKSUM_LINE = re.compile(r"(?P<digest>[0-9a-fA-F]{64}) [ *](?P<name>.+)")


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as release checksums and the service's /health report it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target`, on failure it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(_temporary_name(target.name)):  # left by a killed write of this target
        stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the output gets a file's usual mode
    try:
        yield Path(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def unfinished_writes(*directories: Path) -> list[Path]:
    """Remove (and return) the temporary files killed processes left anywhere under `directories`."""
    found = [
        path for directory in directories for path in directory.rglob(_temporary_name("*")) if path.is_file()
    ]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def _temporary_name(name: str) -> str:
    """The glob of atomic_path's temporary files for the target `name`."""
    return f".{name}.*.tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(text: str, target: Path) -> None:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json(data: dict[str, Any], target: Path) -> None:
    write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", target)


def write_parquet(frame: Any, target: Path) -> None:
    with atomic_path(target) as temporary:
        frame.to_parquet(temporary, index=True)


def save_model(model: Any, target: Path) -> None:
    import skops.io

    with atomic_path(target) as temporary:
        skops.io.dump(model, temporary)


def load_model(source: Path, trusted: frozenset[str], checksums: Path | None = None) -> Any:
    """Load a skops model, refusing any type that is neither trusted by skops by default nor named in `trusted`
    (exact names), and, given a release's SHA256SUMS, any file whose digest is not the one listed there."""
    if not source.exists():
        raise UserError(f"{source} not found: train the model first with dvc repro")
    if checksums is not None:
        check_release_digest(source, checksums)

    def refuse_untrusted(untrusted: list[str]) -> None:
        refused = sorted(set(untrusted) - trusted)
        if refused:
            raise UserError(f"{source} contains untrusted types ({', '.join(refused)}): refusing to load it")

    try:
        return skops_reader.untrusted_then_load(source, refuse_untrusted)
    except skops_reader.Unreadable as error:
        raise UserError(
            f"{source} is not a readable skops model ({error}): retrain it with dvc repro"
        ) from None


def check_release_digest(model: Path, checksums: Path) -> None:
    """Refuse a model file that is not byte for byte the one a release's SHA256SUMS lists under its name."""
    if not checksums.is_file():
        raise UserError(f"{checksums} not found: download SHA256SUMS from the model's GitHub Release")
    expected, actual = read_checksums(checksums).get(model.name), sha256(model)
    if expected is None:
        raise UserError(f"{checksums} lists no {model.name}: use the SHA256SUMS of the release it came from")
    if actual != expected:
        raise UserError(
            f"{model} is not the released file: its SHA-256 is {actual[:12]}..., {checksums} lists "
            f"{expected[:12]}...: download the model again"
        )


def read_checksums(checksums: Path) -> dict[str, str]:
    """A SHA256SUMS file (`<digest>  <name>` per line, as `sha256sum` writes it) as {name: digest}; any other
    line, or a file that is not UTF-8 text, is refused naming it."""
    try:
        lines = checksums.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(
            f"{checksums} is not UTF-8 text: download SHA256SUMS from the model's release"
        ) from None
    listed = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        found = CHECKSUM_LINE.fullmatch(line)
        if found is None:
            raise UserError(f"{checksums}: line {number} is not '<sha256>  <name>'")
        listed[found["name"]] = found["digest"].lower()
    return listed
