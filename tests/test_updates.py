"""Template updates with cruft: a project baked from one commit of (a copy of) this template takes the next
commit's change and keeps its user's own."""

import json
import shutil
import sys
from pathlib import Path

import yaml

from .conftest import HOST_PYTHON, TEMPLATE, run, tool_env

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
