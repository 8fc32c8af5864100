"""Finish the project: keep the lockfile of the chosen DVC remote and the files of the chosen deployment, then
start a Git repository on main."""

import shutil
import subprocess
import sys
from pathlib import Path

DVC_REMOTE = "{{ cookiecutter.dvc_remote }}"
PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
DEPLOY_TARGET = "{{ cookiecutter.deploy_target }}"
CONTAINER_FILES = ("Dockerfile", ".dockerignore")
LOCKS = Path(".locks")
LOCK_PLACEHOLDER = 'name = "lockfile-placeholder"'


def install_lockfile() -> None:
    """Each DVC remote needs its own plugin, so each has its own lockfile; keep the chosen one as uv.lock."""
    variant = "none" if DVC_REMOTE == "local" else DVC_REMOTE
    text = (LOCKS / f"{variant}.lock").read_text(encoding="utf-8")
    if LOCK_PLACEHOLDER not in text:
        raise RuntimeError(
            f".locks/{variant}.lock does not name the placeholder project: regenerate it with make lock"
        )
    Path("uv.lock").write_text(
        text.replace(LOCK_PLACEHOLDER, f'name = "{PROJECT_SLUG}"', 1), encoding="utf-8"
    )
    shutil.rmtree(LOCKS)


def keep_deployment_files() -> None:
    """The service image is only built when the model is deployed as a container."""
    if DEPLOY_TARGET != "container":
        for name in CONTAINER_FILES:
            Path(name).unlink()


def init_git() -> None:
    if shutil.which("git") is None:
        print("note: git was not found, so no repository was created: install git, then run git init -b main")
        return
    result = subprocess.run(["git", "init", "--quiet", "-b", "main"], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"note: git init failed ({result.stderr.strip()}): run git init -b main yourself")


def main() -> int:
    install_lockfile()
    keep_deployment_files()
    init_git()
    print(
        f"\nCreated {PROJECT_SLUG}. Next:\n"
        f"  cd {PROJECT_SLUG}\n"
        "  make setup    # install the environment with uv, DVC and the pre-commit hooks\n"
        "  make repro    # train and evaluate the model on the bundled dataset\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
