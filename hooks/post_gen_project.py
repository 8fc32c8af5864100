"""Finish the project: say where the machinery (the ml-gitops package) comes from, keep the lockfile of the chosen
DVC remote and the files of the chosen deployment, set the retraining schedule, then start a Git repository on main.

The workflows are copied without rendering (no Jinja in them): a deployment's workflows are whole files, and the
schedule is the one value written here."""

import json
import os
import re
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
# The lockfiles are resolved with the package from this checkout; the hook writes where it really comes from.
PACKAGE_PLACEHOLDER = "/ml-gitops-package-placeholder"
PACKAGE_PIN = re.compile(r'"ml-gitops==([0-9][0-9A-Za-z.+-]*)"')
CONTEXT = json.loads({{cookiecutter | jsonify | tojson}})
# The callers in .github/workflows name the shared workflows by these placeholders; the hook pins them.
SHARED_REPOSITORY, SHARED_COMMIT = "TEMPLATE_REPOSITORY", "TEMPLATE_COMMIT"
GITHUB_REPOSITORY = re.compile(r"github\.com[/:]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def package_source() -> tuple[str, str | None]:
    """Where the ml-gitops package comes from: the template's own checkout when it was baked from a local folder
    (tests, make demo, a fork being worked on), else the template repository's tag of the pinned version through
    uv's git source. Returns the [tool.uv.sources] entry and, for a local checkout, the package's folder."""
    version = PACKAGE_PIN.search(Path("pyproject.toml").read_text(encoding="utf-8")).group(1)
    template = CONTEXT.get("_template", "")
    local = from_where_cookiecutter_ran(CONTEXT.get("_repo_dir") or template)
    if from_where_cookiecutter_ran(template).is_dir() and (local / "package" / "pyproject.toml").is_file():
        folder = str((local / "package").resolve())
        return "ml-gitops = { path = " + json.dumps(folder) + " }", folder
    url = template_address(template, str(local)).removeprefix("git+").removesuffix("/").removesuffix(".git")
    return "ml-gitops = { git = " + json.dumps(
        url
    ) + ', subdirectory = "package", tag = "v' + version + '" }', None


def shared_workflows() -> tuple[str, str]:
    """The repository and commit whose shared workflows the callers use: the template's own. Its repository is the
    GitHub address it was cloned from (a local checkout: its origin, else _template_repository in
    cookiecutter.json); its commit is the tag of the pinned version when the checkout has it, else the checkout's."""
    version = PACKAGE_PIN.search(Path("pyproject.toml").read_text(encoding="utf-8")).group(1)
    checkout = from_where_cookiecutter_ran(CONTEXT.get("_repo_dir") or CONTEXT.get("_template", ""))
    repository = github_repository(checkout) or CONTEXT["_template_repository"]
    for revision in ("v" + version + "^{commit}", "HEAD"):
        found = git_output(checkout, "rev-parse", "--verify", "--quiet", revision)
        if found:
            if revision == "HEAD":
                print(f"note: the template has no tag v{version}: the workflows use its commit {found[:12]}")
            return repository, found
    raise SystemExit(
        f"error: {checkout} is not a Git checkout, so no commit of the shared workflows can be pinned: bake from "
        "a clone of the template (cookiecutter gh:<owner>/<repository>)"
    )


def github_repository(checkout: Path) -> str | None:
    """owner/name of the GitHub repository the template was cloned from, or its checkout's origin, if either is."""
    template = template_address(CONTEXT.get("_template", ""), str(checkout))
    for address in (template, git_output(checkout, "remote", "get-url", "origin") or ""):
        match = GITHUB_REPOSITORY.search(address)
        if match:
            return f"{match[1]}/{match[2]}"
    return None


def git_output(directory: Path, *args: str) -> str | None:
    found = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None


def pin_shared_workflows() -> None:
    """Point every caller in .github/workflows at the shared workflows' repository and commit, and Dependabot's
    ml-gitops group at that repository."""
    repository, commit = shared_workflows()
    dependabot = Path(".github/dependabot.yml")
    for path in [*WORKFLOWS.glob("*.yml"), *CONTAINER_WORKFLOWS.glob("*.yml"), dependabot]:
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace(SHARED_REPOSITORY, repository).replace(SHARED_COMMIT, commit), encoding="utf-8"
        )


def from_where_cookiecutter_ran(path: str) -> Path:
    """A path cookiecutter was given, relative to where it ran (hooks run in the new project's folder)."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else Path(os.environ.get("PWD", ".")) / given


def write_package_source() -> str | None:
    """Add [tool.uv.sources] to pyproject.toml; returns the package's local folder, if any."""
    entry, folder = package_source()
    pyproject = Path("pyproject.toml")
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(
        text.rstrip("\n")
        + "\n\n# Where ml-gitops comes from: docs/updates.md.\n[tool.uv.sources]\n"
        + entry
        + "\n",
        encoding="utf-8",
    )
    return folder


def install_lockfile(package_folder: str | None) -> None:
    """Each DVC remote needs its own plugin, so each has its own lockfile; keep the chosen one as uv.lock. With the
    package from a local checkout the lock is complete; from a tag, `make setup` locks the tag's commit."""
    variant = "none" if DVC_REMOTE == "local" else DVC_REMOTE
    text = (LOCKS / f"{variant}.lock").read_text(encoding="utf-8")
    if LOCK_PLACEHOLDER not in text:
        raise RuntimeError(
            f".locks/{variant}.lock does not name the placeholder project: regenerate it with make lock"
        )
    text = text.replace(LOCK_PLACEHOLDER, f'name = "{PROJECT_SLUG}"', 1)
    if package_folder:
        text = text.replace(json.dumps(PACKAGE_PLACEHOLDER), json.dumps(package_folder))
    Path("uv.lock").write_text(text, encoding="utf-8")
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
    install_lockfile(write_package_source())
    pin_shared_workflows()
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
