"""actions/upload-artifact stand-in: copy the listed paths into $E2E_ARTIFACTS/<run id>/<name>/."""

import os
import shutil
import sys
from pathlib import Path

paths = [Path(line.strip()).resolve() for line in os.environ["PATHS"].splitlines() if line.strip()]
existing = [path for path in paths if path.exists()]
if not existing:
    print(f"stand-in upload-artifact: no files found in {os.environ['PATHS']!r}")
    sys.exit(1 if os.environ["IF_NO_FILES_FOUND"] == "error" else 0)
common = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in existing]))
target = Path(os.environ["E2E_ARTIFACTS"]) / os.environ["GITHUB_RUN_ID"] / os.environ["NAME"]
shutil.rmtree(target, ignore_errors=True)
for path in existing:
    destination = target / path.relative_to(common)
    if path.is_dir():
        shutil.copytree(path, destination, dirs_exist_ok=True)
    else:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
print(f"stand-in upload-artifact: {sorted(str(p.relative_to(target)) for p in target.rglob('*'))}")
