"""Fixtures of the workflow tests: the fake of GitHub, GitHub's rules around it, the people, and a project whose
main holds a trained champion with the repository settings applied (make github-setup)."""

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import CACHE, HOST_PYTHON, TEMPLATE, bake, run, tool_env
from .fake_github import FakeGitHub
from .github_rules import GitHub
from .harness import Harness, git
from .people import Person
from .shared_workflows import pin_callers, serve, snapshot

REPOSITORY = "acme/churn"
CHAMPION = {"n_estimators": 20, "max_depth": 3, "min_samples_leaf": 2}
BETTER = {"n_estimators": 150, "min_samples_leaf": 1}
WORSE = {"n_estimators": 1, "max_depth": 1, "max_features": 1}
# Who works on acme/churn: ada owns it (admin) and is its code owner, bob and carol may write, dan is a member of
# the organisation who may only triage, mallory is anyone on GitHub (read access to a public repository).
# What a scheduled retrain.yml that opens the retraining pull request starts: the App's pull request starts its
# workflows (ci.yml is recorded, not run, here), and the report follows.
OPENS_A_RETRAINING_PULL_REQUEST = [
    ("retrain.yml", "success"),
    ("ci.yml", "not run here"),
    ("model-pr.yml", "success"),
    ("model-report.yml", "success"),
]
# Why an approval's promote.yml is recorded, not run, where the module's subject is something else: the journeys
# deploy staging for real (ada's approval), and test_pr_review.py deploys it at a writer's approval.
STAGING_SHOWN = (
    "staging is deployed for real by tests/e2e/test_journeys.py (journey 1) and test_retrain.py (journey 3)"
)
# The journeys' first approval (carol's, a writer who is not the code owner): the same head is deployed for real at
# ada's approval next, and a writer's approval alone deploys it in tests/e2e/test_pr_review.py.
SAME_HEAD_NEXT = "the same head is deployed for real at the code owner's approval, next"
ROLES = {"ada": "admin", "bob": "write", "carol": "write", "dan": "triage", "mallory": "read"}
ASSET_HOST = "https://asset.cml.dev/"  # where CML publishes the report's plots
# A posted comment as GitHub shows it (cmark-gfm): the package's test helper, package/tests/rendered.py.
_RENDERED = importlib.util.spec_from_file_location("rendered", TEMPLATE / "package" / "tests" / "rendered.py")
rendered = importlib.util.module_from_spec(_RENDERED)
_RENDERED.loader.exec_module(rendered)


def set_model(project, params):
    """A random forest with `params`: small forests train in a moment, and their size tells better from worse. One
    thread each (n_jobs: 1): the suite runs a process per core already, and on this small dataset joblib's threads
    made each evaluation about 3 s slower (permutation importance predicts 90 times)."""
    path = project / "params.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"] = {"name": "random_forest", "params": {**params, "n_jobs": 1}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A commit of the template's working tree: its shared workflows are what the journeys call."""
    return snapshot(tmp_path_factory.mktemp("template"))


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


@pytest.fixture(scope="session")
def champion(cookies_session, template):
    """A project whose callers name the template commit and whose main holds a deliberately modest champion,
    trained and committed with its dvc.lock and metrics, and registered as model@v0.1.0: made once per worker, each
    module's project is a copy of it (the same files and history as if that module had made it)."""
    project = bake(cookies_session, python_version=HOST_PYTHON, github_owner="ada")
    pin_callers(project, template[1])
    set_model(project, CHAMPION)
    run(["make", "install"], cwd=project)
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "--quiet", "-m", "Champion", cwd=project)
    run(["uv", "run", "--locked", "gto", "register", "model", "--version", "v0.1.0"], cwd=project)
    return project


@pytest.fixture(scope="module")
def project(champion, fake, harness, people, template, tmp_path_factory):
    """A copy of the champion's project (its environment installed afresh: a venv is not relocatable), published
    to this module's fake GitHub."""
    project = tmp_path_factory.mktemp("project") / champion.name
    shutil.copytree(champion, project, symlinks=True, ignore=_environment_and_dvc_state(champion))
    serve(project, fake, template)
    run(["make", "install"], cwd=project)
    publish(project, fake, harness, people, "model@v0.1.0")
    return project


def _environment_and_dvc_state(root: Path):
    """copytree's ignore: the project's .venv and DVC's machine-local state (.dvc/tmp), which the copy remakes."""
    skipped = {root: {".venv"}, root / ".dvc": {"tmp"}}
    return lambda folder, names: skipped.get(Path(folder), set()) & set(names)


def give_the_automation_an_app(
    project: Path, fake: FakeGitHub, github: GitHub, harness: Harness, people
) -> str:
    """The automation's GitHub App as the README sets it up (variable, private key in the automation and
    production environments, `make github-setup` with AUTOMATION_APP_ID); returns github-setup's output."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client_id = fake.add_app(
        "acme-automation", public, {"contents": "write", "pull_requests": "write", "statuses": "write"}
    )
    github.variables["AUTOMATION_APP_CLIENT_ID"] = client_id
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    secrets = {"AUTOMATION_APP_PRIVATE_KEY": private.decode()}
    github.environment_secrets.update(automation=secrets, production=secrets)
    app_id = next(number for number, app in fake.apps.items() if app["client_id"] == client_id)
    return github_setup(project, fake, harness, people, AUTOMATION_APP_ID=str(app_id))


def merge_and_release(person: Person, github: GitHub, number: int) -> tuple[dict, list]:
    """`person` merges pull request `number`; the merge registers the next version and releases it. Returns the
    merge's answer and the runs it started."""
    status, merged = person.merge(number)
    assert status == 200, merged
    runs = github.settle()
    assert [(run.workflow, run.conclusion) for run in runs] == [
        ("ci.yml", "not run here"),
        ("register.yml", "success"),
        ("release.yml", "success"),
    ], [run.output[-6000:] for run in runs if run.conclusion == "failure"]
    return merged, runs
