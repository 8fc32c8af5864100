"""Finish the project: keep the lockfile of the chosen DVC remote and the files of the chosen deployment, set the
retraining schedule, then start a Git repository on main.

The workflows are copied without rendering (no Jinja in them): a deployment's workflows are whole files, and the
schedule is the one value written here."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

DVC_REMOTE = "{{ cookiecutter.dvc_remote }}"
PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
DEPLOY_TARGET = "{{ cookiecutter.deploy_target }}"
RETRAIN_CRON = "{{ cookiecutter.retrain_cron }}"
CONTAINER_FILES = ("Dockerfile", ".dockerignore")
WORKFLOWS = Path(".github/workflows")
CONTAINER_WORKFLOWS = Path(".github/workflows-container")
DEFAULT_CRON = '    - cron: "17 5 * * 1" # retrain_cron'

LOCKS = Path(".locks")
LOCK_PLACEHOLDER = 'name = "lockfile-placeholder"'
CONTEXT = json.loads({{cookiecutter | jsonify | tojson}})


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
    """The service image is only built when the model is deployed as a container: then its workflows (promote.yml
    and release.yml with the image jobs) replace the ones that release the model file alone."""
    if DEPLOY_TARGET == "container":
        for workflow in CONTAINER_WORKFLOWS.iterdir():
            workflow.replace(WORKFLOWS / workflow.name)
    else:
        for name in CONTAINER_FILES:
            Path(name).unlink()
    shutil.rmtree(CONTAINER_WORKFLOWS)


def set_retrain_schedule() -> None:
    """Write the retrain_cron answer (checked by pre_gen_project) into retrain.yml's schedule."""
    workflow = WORKFLOWS / "retrain.yml"
    text = workflow.read_text(encoding="utf-8")
    if DEFAULT_CRON not in text:
        raise RuntimeError("retrain.yml has no default schedule line to replace: fix the template")
    workflow.write_text(
        text.replace(DEFAULT_CRON, f'    - cron: "{RETRAIN_CRON}" # retrain_cron', 1), encoding="utf-8"
    )


def record_template_origin() -> None:
    """Write .cruft.json (the template's address, its commit, the answers) so that `cruft update` can bring the
    project the template's later changes, however it was baked. cruft writes its own when it drives the bake."""
    if "_commit" in CONTEXT:
        return
    repo_dir = CONTEXT.get("_repo_dir") or "."
    found = subprocess.run(["git", "-C", repo_dir, "rev-parse", "HEAD"], capture_output=True, text=True)
    if found.returncode != 0:
        print(
            "note: the template is not a Git checkout, so no .cruft.json was written: `cruft link` adds one"
        )
        return
    template, commit = template_address(CONTEXT["_template"], repo_dir), found.stdout.strip()
    answers = {key: value for key, value in CONTEXT.items() if not key.startswith("_")}
    answers.update(
        _copy_without_render=CONTEXT.get("_copy_without_render", []), _template=template, _commit=commit
    )
    record = {
        "template": template,
        "commit": commit,
        "checkout": CONTEXT.get("_checkout"),
        "context": {"cookiecutter": answers},
        "directory": None,
    }
    Path(".cruft.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def template_address(template: str, repo_dir: str) -> str:
    """A local template as an absolute path; `gh:owner/name` and the like as the URL cookiecutter cloned."""
    if Path(template).expanduser().is_dir():
        return str(Path(template).expanduser().resolve())
    try:
        from cookiecutter.config import BUILTIN_ABBREVIATIONS
        from cookiecutter.repository import expand_abbreviations
    except ImportError:
        return template
    return expand_abbreviations(template, BUILTIN_ABBREVIATIONS)


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
    set_retrain_schedule()
    record_template_origin()
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
