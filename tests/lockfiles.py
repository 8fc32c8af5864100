"""The generated project's lockfiles: one per DVC remote plugin, kept in the template under `.locks/`.

    python -m tests.lockfiles update   # re-resolve every lockfile (keeps existing pins where they still fit)
    python -m tests.lockfiles check    # fail when a lockfile no longer matches the generated pyproject.toml

The post-generation hook copies the chosen variant to `uv.lock` and renames the placeholder project in it. The
lockfiles are resolved with the ml-gitops package from this checkout (`package/`), its folder stored as a
placeholder that the hook replaces (a local template) or `make setup` re-locks (a template from GitHub).
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
LOCKS = TEMPLATE / "{{cookiecutter.project_slug}}" / ".locks"
PLACEHOLDER = "lockfile-placeholder"
PACKAGE = TEMPLATE / "package"
PACKAGE_PLACEHOLDER = "/ml-gitops-package-placeholder"
VARIANTS = ("none", "s3", "gcs", "azure", "ssh")
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"  # the template environment's pinned uv


def bake_for_locking(variant: str, output: Path) -> Path:
    """Render the project without hooks, under the placeholder name the lockfiles carry."""
    extra = {"project_name": PLACEHOLDER, "dvc_remote": variant}
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=extra, output_dir=str(output), accept_hooks=False
        )
    )


def lock(variant: str, check: bool) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as scratch:
        project = bake_for_locking(variant, Path(scratch))
        with (project / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
            pyproject.write(f"\n[tool.uv.sources]\nml-gitops = {{ path = {json.dumps(str(PACKAGE))} }}\n")
        stored = LOCKS / f"{variant}.lock"
        if stored.exists():
            text = stored.read_text(encoding="utf-8")
            (project / "uv.lock").write_text(
                text.replace(PACKAGE_PLACEHOLDER, str(PACKAGE)), encoding="utf-8"
            )
        command = [UV, "lock", "--check"] if check else [UV, "lock"]
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
        if not check and result.returncode == 0:
            text = (project / "uv.lock").read_text(encoding="utf-8")
            stored.write_text(
                text.replace(json.dumps(str(PACKAGE)), json.dumps(PACKAGE_PLACEHOLDER)), encoding="utf-8"
            )
        return result


def main(argv: list[str]) -> int:
    if argv not in (["update"], ["check"]):
        print(__doc__, file=sys.stderr)
        return 2
    failures = 0
    for variant in VARIANTS:
        result = lock(variant, check=argv == ["check"])
        status = "ok" if result.returncode == 0 else "FAILED"
        print(f"{variant}: {status}")
        if result.returncode:
            failures += 1
            print(result.stderr.strip(), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
