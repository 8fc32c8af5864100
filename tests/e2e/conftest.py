"""Fixtures of the workflow tests: the fake of GitHub, GitHub's rules around it, the people, and a project whose
main holds a trained champion with the repository settings applied (make github-setup)."""

import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import CACHE, HOST_PYTHON, bake, run, tool_env
from .fake_github import FakeGitHub
from .github_rules import GitHub
from .harness import Harness, git
from .people import Person

REPOSITORY = "acme/churn"
CHAMPION = {"n_estimators": 20, "max_depth": 3, "min_samples_leaf": 2}
BETTER = {"n_estimators": 150, "min_samples_leaf": 1}
WORSE = {"n_estimators": 1, "max_depth": 1, "max_features": 1}
# Who works on acme/churn: ada owns it (admin) and is its code owner, bob and carol may write, dan is a member of
# the organisation who may only triage, mallory is anyone on GitHub (read access to a public repository).
ROLES = {"ada": "admin", "bob": "write", "carol": "write", "dan": "triage", "mallory": "read"}


def set_model(project, params):
    """A random forest with `params`: small forests train in a moment, and their size tells better from worse."""
    path = project / "params.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"] = {"name": "random_forest", "params": params}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    with FakeGitHub(REPOSITORY, tmp_path_factory.mktemp("github")) as fake:
        for login, role in ROLES.items():
            fake.add_user(login, role)
        yield fake
        assert not fake.errors, "the fake GitHub failed while answering:\n" + "\n".join(fake.errors)


@pytest.fixture(scope="module")
def harness(tmp_path_factory, fake):
    root = tmp_path_factory.mktemp("e2e")
    tools = root / "bin"
    tools.mkdir()
    (tools / "uv").symlink_to(Path(sys.executable).parent / "uv")
    return Harness(root, fake, uv_cache=CACHE / "uv", tools_bin=tools)


@pytest.fixture(scope="module")
def github(fake, harness):
    github = GitHub(fake, harness)
    # ci.yml (lint, the project's own tests, the pipeline check) starts on every push and pull request, and the
    # journeys check that it does; it is run for real by tests/test_project.py, and nothing here depends on it.
    github.not_run["ci.yml"] = "run by tests/test_project.py (make lint, make test, make pipeline-check)"
    github.deployment_approvers["production"] = "ada"
    return github


@pytest.fixture(scope="module")
def people(fake, harness):
    return {login: Person(login, fake, harness) for login in ROLES}


def publish(project: Path, fake: FakeGitHub, harness: Harness, people: dict, *refs: str) -> None:
    """The project's first push, by ada, then the settings as code applied by make github-setup, as the README
    says. The events of that first push are not replayed: the tests start from the repository as it then is."""
    git("remote", "add", "origin", f"https://github.com/{fake.repository}.git", cwd=project)
    people["ada"].push(project, "main", *refs)
    github_setup(project, fake, harness, people)
    fake.take_events()


def github_setup(project: Path, fake: FakeGitHub, harness: Harness, people: dict, **settings: str) -> str:
    """`make github-setup` as ada (the owner), with the settings' variables (e.g. AUTOMATION_APP_ID)."""
    env = {
        **tool_env(),
        **{k: v for k, v in harness.env.items() if k in ("SSL_CERT_FILE", "GIT_CONFIG_GLOBAL")},
    }
    env.update(
        GITHUB_TOKEN=people["ada"].token, GITHUB_API_URL=fake.api_url, GITHUB_REPOSITORY=fake.repository
    )
    return run(["make", "github-setup"], cwd=project, env={**env, **settings}).stdout


@pytest.fixture(scope="module")
def project(cookies_session, fake, harness, people):
    """main holds a deliberately modest champion, trained and committed with its dvc.lock and metrics."""
    project = bake(cookies_session, python_version=HOST_PYTHON, github_owner="ada")
    set_model(project, CHAMPION)
    run(["make", "install"], cwd=project)
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion", cwd=project)
    run(["uv", "run", "--locked", "gto", "register", "model", "--version", "v0.1.0"], cwd=project)
    publish(project, fake, harness, people, "model@v0.1.0")
    return project
