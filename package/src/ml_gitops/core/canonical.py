"""A model file whose bytes depend on the model alone: the same data, parameters and code give the same file, whether
DVC or a person runs the stage, so DVC does not call an unchanged model modified.

skops names each array after the object's memory address (`id()`), which differs from one process to the next,
and stamps every archive member with the time of writing. Here the addresses become their order of appearance in
the schema and every member gets one fixed time. The schema is written compact: skops indents it, which was more
than half of a tree model's file (a 3.9 MB random forest is now 1.6 MB) and a third of a second of json's
Python encoder.
"""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from . import files, skops_writer

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip archive can hold


def save_model(model: Any, target: Path) -> None:
    """skops.io.dump, then the archive made canonical; written atomically."""
    with files.atomic_path(target) as temporary:
        temporary.write_bytes(canonical(skops_writer.dumps(model)))


def canonical(archive: bytes) -> bytes:
    """The skops archive with addresses numbered in order of appearance and fixed timestamps."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    schema = json.loads(source.read("schema.json"))
    numbers: dict[int, int] = {}
    schema = _renumber(schema, numbers)
    renamed = {f"{address}.npy": f"{number}.npy" for address, number in numbers.items()}
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as target:
        members = {
            renamed.get(info.filename, info.filename): (info, source.read(info)) for info in source.infolist()
        }
        members["schema.json"] = (
            source.getinfo("schema.json"),
            json.dumps(schema, separators=(",", ":")).encode(),
        )
        for name in sorted(members):
            info, content = members[name]
            fixed = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            fixed.compress_type, fixed.external_attr = info.compress_type, 0o644 << 16
            target.writestr(fixed, content)
    return output.getvalue()


def _renumber(node: Any, numbers: dict[int, int]) -> Any:
    """The schema with every `__id__` (and the `file` named after it) replaced by its order of appearance."""
    if isinstance(node, list):
        return [_renumber(item, numbers) for item in node]
    if not isinstance(node, dict):
        return node
    renumbered = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            value = numbers.setdefault(value, len(numbers))
        elif key == "file" and isinstance(value, str) and value.removesuffix(".npy").isdigit():
            address = int(value.removesuffix(".npy"))
            value = f"{numbers.setdefault(address, len(numbers))}.npy"
        renumbered[key] = _renumber(value, numbers)
    return renumbered
