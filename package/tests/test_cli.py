"""The command line as the shared workflows call it: `python -m ml_gitops <command>`."""

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
