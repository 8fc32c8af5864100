"""Template updates with cruft: a project baked from one commit of (a copy of) this template takes the next
commit's change and keeps its user's own."""

import json
import shutil
import sys
import tomllib
from pathlib import Path

import yaml

from .conftest import HOST_PYTHON, TEMPLATE, run, tool_env

VERSION = tomllib.loads((TEMPLATE / "package" / "pyproject.toml").read_text())["project"]["version"]
TEMPLATE_CHANGE = "- Template update: a line added by the next commit of the template.\n"


def copy_template(target: Path) -> None:
    """The template's files as they are now (tracked, and new ones not ignored), as a Git repository."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=TEMPLATE).stdout
    for name in listed.splitlines():
        source = TEMPLATE / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    commit_all(target, "Template, first commit")


def commit_all(repository: Path, message: str) -> str:
    if not (repository / ".git").exists():
        run(["git", "init", "--quiet", "-b", "main"], cwd=repository)
    run(["git", "add", "-A"], cwd=repository)
    run(["git", "commit", "--quiet", "--no-verify", "-m", message], cwd=repository)
    return run(["git", "rev-parse", "HEAD"], cwd=repository).stdout.strip()


def test_cruft_update_keeps_the_users_change_and_brings_the_templates(tmp_path):
    template, output = tmp_path / "template", tmp_path / "out"
    copy_template(template)
    first = run(["git", "rev-parse", "HEAD"], cwd=template).stdout.strip()
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    command = [
        str(cookiecutter),
        "--no-input",
        "-o",
        str(output),
        str(template),
        f"python_version={HOST_PYTHON}",
    ]
    run(command, cwd=tmp_path)
    project = output / "churn-model"
    origin = json.loads((project / ".cruft.json").read_text())
    assert (origin["template"], origin["commit"]) == (str(template), first), (
        "plain cookiecutter records the origin"
    )
    commit_all(project, "Baked")

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["model"]["params"]["max_iter"] = 250
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    commit_all(project, "More trees, the user's change")

    security = template / "{{cookiecutter.project_slug}}" / "SECURITY.md"
    security.write_text(security.read_text() + TEMPLATE_CHANGE)
    second = commit_all(template, "Template, second commit")

    cruft = Path(sys.executable).parent / "cruft"
    result = run(
        [str(cruft), "update", "--skip-apply-ask", "--allow-untracked-files"], cwd=project, env=tool_env()
    )
    assert "updated" in result.stdout
    assert yaml.safe_load((project / "params.yaml").read_text())["model"]["params"]["max_iter"] == 250
    assert (project / "SECURITY.md").read_text().endswith(TEMPLATE_CHANGE)
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    assert not list(project.rglob("*.rej")), "no conflict to resolve by hand"


def test_a_bake_from_a_relative_path_records_the_template_not_the_project(tmp_path):
    """`cookiecutter .` in the template's checkout, into a folder inside it (build/): the hooks run in the new
    project, so the template's path and commit are found from where cookiecutter ran, not from the project."""
    template = tmp_path / "template"
    copy_template(template)
    first = run(["git", "rev-parse", "HEAD"], cwd=template).stdout.strip()
    cookiecutter = Path(sys.executable).parent / "cookiecutter"
    command = [str(cookiecutter), "--no-input", "-o", "build", ".", f"python_version={HOST_PYTHON}"]
    run(command, cwd=template, env={**tool_env(), "PWD": str(template)})
    origin = json.loads((template / "build" / "churn-model" / ".cruft.json").read_text())
    assert (origin["template"], origin["commit"]) == (str(template), first)


def bake_from(template: Path, output: Path, check: bool = True):
    command = [
        str(Path(sys.executable).parent / "cookiecutter"),
        "--no-input",
        "-o",
        str(output),
        str(template),
    ]
    return run([*command, f"python_version={HOST_PYTHON}"], cwd=template.parent, check=check)


def test_the_callers_use_the_shared_workflows_of_the_version_s_tag_in_the_template_s_repository(tmp_path):
    template = tmp_path / "template"
    copy_template(template)
    tagged = run(["git", "rev-parse", "HEAD"], cwd=template).stdout.strip()
    run(["git", "tag", f"v{VERSION}"], cwd=template)
    (template / "NOTES.md").write_text("A change after the release.\n")
    commit_all(template, "After the release")
    run(["git", "remote", "add", "origin", "git@github.com:acme/cookiecutter-ml-gitops.git"], cwd=template)
    bake_from(template, tmp_path / "out")
    caller = (tmp_path / "out" / "churn-model" / ".github" / "workflows" / "model-pr.yml").read_text()
    expected = f"uses: acme/cookiecutter-ml-gitops/.github/workflows/model-pr.yml@{tagged} # v{VERSION}\n"
    assert expected in caller, caller


def test_a_template_that_is_no_git_checkout_is_refused_in_one_line_and_leaves_no_project(tmp_path):
    template = tmp_path / "template"
    copy_template(template)
    shutil.rmtree(template / ".git")
    result = bake_from(template, tmp_path / "out", check=False)
    assert result.returncode != 0
    assert (
        f"error: {template} is not a Git checkout, so no commit of the shared workflows can be pinned: bake from a "
        "clone of the template (cookiecutter gh:<owner>/<repository>)"
    ) in result.stderr
    assert not (tmp_path / "out" / "churn-model").exists()


def test_a_project_baked_from_a_git_url_installs_ml_gitops_from_the_version_s_tag(tmp_path):
    """The path of a user who bakes from GitHub, with a file:// clone in GitHub's place: the hook names the tag of
    the pinned version through uv's git source, and `make setup`'s `uv lock` + `uv sync --locked` install it."""
    template = tmp_path / "template"
    copy_template(template)
    run(["git", "tag", f"v{VERSION}"], cwd=template)
    (template / "NOTES.md").write_text("A change after the release.\n")
    commit_all(template, "After the release")
    bake_from_url = [
        str(Path(sys.executable).parent / "cookiecutter"),
        "--no-input",
        "-o",
        str(tmp_path / "out"),
    ]
    config = tmp_path / "cookiecutter.yaml"  # its clones go here, not under ~/.cookiecutters
    config.write_text(f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n")
    env = {**tool_env(), "COOKIECUTTER_CONFIG": str(config)}
    run([*bake_from_url, f"git+file://{template}", f"python_version={HOST_PYTHON}"], cwd=tmp_path, env=env)
    project = tmp_path / "out" / "churn-model"
    pyproject = (project / "pyproject.toml").read_text()
    source = f'ml-gitops = {{ git = "file://{template}", subdirectory = "package", tag = "v{VERSION}" }}'
    assert source in pyproject, pyproject[-400:]
    run(["uv", "lock", "--quiet"], cwd=project)
    run(["uv", "sync", "--locked", "--quiet"], cwd=project)
    installed = run(
        ["uv", "run", "--locked", "python", "-m", "ml_gitops", "check-workflows", VERSION], cwd=project
    )
    assert (
        f"ml-gitops {VERSION}: the shared workflows and the installed package are one version"
        in installed.stdout
    )
    tagged = run(["git", "rev-parse", f"v{VERSION}"], cwd=template).stdout.strip()
    assert f"?subdirectory=package&tag=v{VERSION}#{tagged}" in (project / "uv.lock").read_text(), (
        "the tag's commit"
    )
