"""The command line as the shared workflows call it: `python -m ml_gitops <command>`."""

import os
import subprocess
import sys

import ml_gitops


def ml_gitops_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ml_gitops", *args], capture_output=True, text=True)


def test_the_shared_workflows_of_the_installed_version_pass_the_version_check():
    result = ml_gitops_command("check-workflows", ml_gitops.__version__)
    assert result.returncode == 0, result.stderr
    assert (
        f"ml-gitops {ml_gitops.__version__}: the shared workflows and the installed package" in result.stdout
    )


def test_shared_workflows_of_another_version_are_refused_in_one_line():
    result = ml_gitops_command("check-workflows", "99.0.0")
    assert result.returncode == 1
    assert result.stderr == (
        f"error: the shared workflows are ml-gitops 99.0.0, but this project installs ml-gitops "
        f"{ml_gitops.__version__}: move the workflows' ref and the ml-gitops pin in pyproject.toml to one version, "
        "in one pull request (docs/updates.md)\n"
    )


def test_a_project_command_replaces_the_machinery_s_command_of_the_same_name(tmp_path):
    own = tmp_path / "own_model"
    own.mkdir()
    (own / "__init__.py").write_text('TASK = "classification"\n')
    (own / "commands.py").write_text(
        "def register(commands):\n"
        '    recover = commands.add_parser("recover", help="the project\'s own recover")\n'
        '    recover.set_defaults(handler=lambda args: print("the project\'s own recover ran"))\n'
    )
    env = {**os.environ, "ML_GITOPS_PIPELINE": "own_model", "PYTHONPATH": str(tmp_path)}
    ran = subprocess.run(
        [sys.executable, "-m", "ml_gitops", "recover"], capture_output=True, text=True, env=env
    )
    assert (ran.returncode, ran.stdout) == (0, "the project's own recover ran\n"), ran.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "ml_gitops", "--help"], capture_output=True, text=True, env=env
    )
    assert listed.stdout.count("    recover ") == 1
    assert "the project's own recover" in listed.stdout
    assert "check-workflows" in listed.stdout, "the other commands stay"
