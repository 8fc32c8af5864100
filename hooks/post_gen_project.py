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
# cookiecutter's own abbreviations (cookiecutter.config.BUILTIN_ABBREVIATIONS), as a template address names them.
ABBREVIATIONS = {
    "gh": "https://github.com/{0}.git",
    "gl": "https://gitlab.com/{0}.git",
    "bb": "https://bitbucket.org/{0}",
}


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
    url = template_address(template).removeprefix("git+").removesuffix("/").removesuffix(".git")
    return "ml-gitops = { git = " + json.dumps(
        url
    ) + ', subdirectory = "package", tag = "v' + version + '" }', None


def template_checkout() -> Path:
    """The template's folder: where cookiecutter ran from, or cloned it to."""
    return from_where_cookiecutter_ran(CONTEXT.get("_repo_dir") or CONTEXT.get("_template", ""))


def shared_workflows(checkout: Path, tagged: str | None, head: str | None) -> tuple[str, str]:
    """The repository and commit whose shared workflows the callers use: the template's own. Its repository is the
    GitHub address it was cloned from (a local checkout: its origin, else _template_repository in
    cookiecutter.json); its commit is the tag of the pinned version when the checkout has it (tagged), else the
    checkout's (head)."""
    repository = github_repository(checkout) or CONTEXT["_template_repository"]
    if tagged:
        return repository, tagged
    if head:
        print(f"note: the template has no tag v{package_version()}: the workflows use its commit {head[:12]}")
        return repository, head
    raise SystemExit(
        f"error: {checkout} is not a Git checkout, so no commit of the shared workflows can be pinned: bake from "
        "a clone of the template (cookiecutter gh:<owner>/<repository>)"
    )


def package_version() -> str:
    return PACKAGE_PIN.search(Path("pyproject.toml").read_text(encoding="utf-8")).group(1)


def github_repository(checkout: Path) -> str | None:
    """owner/name of the GitHub repository the template was cloned from, or its checkout's origin, if either is.
    The origin is only asked for when the address is not GitHub's (one git process fewer for gh: templates)."""
    match = GITHUB_REPOSITORY.search(template_address(CONTEXT.get("_template", "")))
    if not match:
        match = GITHUB_REPOSITORY.search(git_output(checkout, "remote", "get-url", "origin") or "")
    return f"{match[1]}/{match[2]}" if match else None


def git_output(directory: Path | str, *args: str) -> str | None:
    found = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None


def git_commits(directory: Path, *revisions: str) -> list[str | None]:
    """The commit each revision names in the checkout (None where it names none, or it is no checkout), from one git
    process where `git rev-parse --verify --quiet` would take one each: every git process is a share of the bake."""
    found = subprocess.run(
        ["git", "-C", str(directory), "cat-file", "--batch-check=%(objectname) %(objecttype)"],
        input="".join(revision + "\n" for revision in revisions),
        capture_output=True,
        text=True,
    )
    lines = found.stdout.splitlines() if found.returncode == 0 else []
    commits = [line.split()[0] if line.endswith(" commit") else None for line in lines]
    return commits if len(commits) == len(revisions) else [None] * len(revisions)


def pin_shared_workflows(repository: str, commit: str) -> None:
    """Point every caller in .github/workflows (the deployment's, once keep_deployment_files has run) at the shared
    workflows' repository and commit, and Dependabot's ml-gitops group at that repository."""
    dependabot = Path(".github/dependabot.yml")
    for path in [*WORKFLOWS.glob("*.yml"), dependabot]:
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


def record_template_origin(checkout: Path, head: str | None) -> None:
    """Write .cruft.json (the template's address, its commit, the answers) so that `cruft update` can bring the
    project the template's later changes, however it was baked. cruft writes its own when it drives the bake.
    head is the commit of the checkout (_repo_dir, from where cookiecutter ran), already looked up."""
    if "_commit" in CONTEXT:
        return
    if not head:
        print(
            "note: the template is not a Git checkout, so no .cruft.json was written: `cruft link` adds one"
        )
        return
    template, commit = template_address(CONTEXT["_template"]), head
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


def template_address(template: str) -> str:
    """A local template as an absolute path; `gh:owner/name` and the like as the URL cookiecutter cloned."""
    if from_where_cookiecutter_ran(template).is_dir():
        return str(from_where_cookiecutter_ran(template).resolve())
    # cookiecutter.repository.expand_abbreviations, done here: importing it (requests, yaml) cost a bake ~0.1 s.
    if template in ABBREVIATIONS:
        return ABBREVIATIONS[template]
    prefix, _, rest = template.partition(":")
    return ABBREVIATIONS[prefix].format(rest) if prefix in ABBREVIATIONS else template


def init_git() -> None:
    if shutil.which("git") is None:
        print("note: git was not found, so no repository was created: install git, then run git init -b main")
        return
    result = subprocess.run(["git", "init", "--quiet", "-b", "main"], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"note: git init failed ({result.stderr.strip()}): run git init -b main yourself")


def main() -> int:
    install_lockfile(write_package_source())
    checkout = template_checkout()
    tagged, head = git_commits(checkout, "v" + package_version() + "^{commit}", "HEAD")
    repository, commit = shared_workflows(checkout, tagged, head)
    keep_deployment_files()
    pin_shared_workflows(repository, commit)
    set_retrain_schedule()
    record_template_origin(checkout, head)
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
