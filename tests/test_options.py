"""Every option value, pairwise over the options: each baked project is complete, valid and safe to run."""

import itertools
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import DEFAULTS, TEMPLATE, bake, check_github_files, effective_workflow, run, tool_env

CHOICE_OPTIONS = {
    name: value for name, value in DEFAULTS.items() if isinstance(value, list) and not name.startswith("_")
}
REMOTE_PLUGINS = {
    "none": None,
    "local": None,
    "s3": "dvc-s3",
    "gcs": "dvc-gs",
    "azure": "dvc-azure",
    "ssh": "dvc-ssh",
}
LICENSE_MARKERS = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License",
    "BSD-3-Clause": "BSD 3-Clause License",
    "proprietary": "All rights reserved.",
}
REMOTE_SECRET_CONTENT = {
    "none": "This project has no DVC remote yet",
    "local": "nothing: a local directory needs no credentials",
    "s3": "an AWS credentials file",
    "gcs": "the JSON key of a service account",
    "azure": "the connection string of the storage account",
    "ssh": "a private key whose public half is in the server's `authorized_keys`",
}
SECRET = re.compile(r"\bsecrets\.(\w+)")
# Each secret lives in environments whose policies admit only main (make github-setup).
SECRET_ENVIRONMENTS = {
    "DVC_REMOTE_CREDENTIALS": {"automation"},
    "RETRAIN_TOKEN": {"automation"},
    "AUTOMATION_APP_PRIVATE_KEY": {"automation", "production"},
}
# What a workflow hands make from an event (a tag, a version, a pull request's number, a reviewer's login...):
# make must never expand one ($(NAME) or ${NAME}), or a value carrying $(...) would run as make code.
EVENT_VARIABLES = (
    "TAG",
    "VERSION",
    "IMAGE_TAG",
    "PULL_REQUEST",
    "HEAD_SHA",
    "BASE",
    "REVIEWER",
    "RUN_URL",
    "RUN_CONCLUSION",
    "ARTIFACT_DIR",
    "STAGING_DIR",
    "TAG_TOKEN",
    "GITHUB_TOKEN",
    "GITHUB_ACTOR",
)
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\bcookiecutter\.")


def pairwise(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """A small set of combinations in which every pair of values of every two options appears (greedy)."""
    names = list(options)
    uncovered = {
        (a, va, b, vb) for a, b in itertools.combinations(names, 2) for va in options[a] for vb in options[b]
    }
    rows = []
    while uncovered:
        best = max(
            itertools.product(*options.values()),
            key=lambda values: sum(
                (a, values[names.index(a)], b, values[names.index(b)]) in uncovered
                for a, b in itertools.combinations(names, 2)
            ),
        )
        row = dict(zip(names, best, strict=True))
        uncovered -= {(a, row[a], b, row[b]) for a, b in itertools.combinations(names, 2)}
        rows.append(row)
    return rows


VARIANTS = pairwise(CHOICE_OPTIONS)


def variant_id(variant: dict[str, str]) -> str:
    return "-".join(variant.values())


def test_variants_cover_every_pair_of_option_values():
    for a, b in itertools.combinations(CHOICE_OPTIONS, 2):
        seen = {(row[a], row[b]) for row in VARIANTS}
        assert seen == set(itertools.product(CHOICE_OPTIONS[a], CHOICE_OPTIONS[b])), (a, b)
    assert len(VARIANTS) < 40, "pairwise should stay far below the full product"


@pytest.fixture(scope="module", params=VARIANTS, ids=variant_id)
def baked(request, cookies_session):
    return request.param, bake(cookies_session, **request.param)


def project_files(project):
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.relative_to(project).parts]


def test_every_file_is_fully_rendered(baked):
    _, project = baked
    for path in project_files(project):
        text = path.read_text(encoding="utf-8")
        assert not UNRENDERED.search(text), f"{path.relative_to(project)} has an unrendered template tag"
    assert "${{ github.workflow }}" in (project / ".github/workflows/ci.yml").read_text(), (
        "GitHub expressions lost"
    )


def test_config_files_parse(baked):
    _, project = baked
    for path in project_files(project):
        text = path.read_text(encoding="utf-8")
        if path.suffix in (".yml", ".yaml"):
            assert yaml.safe_load(text) is not None, path
        elif path.suffix == ".toml" or path.name == "uv.lock":
            tomllib.loads(text)
        elif path.suffix == ".json":
            json.loads(text)


def test_choices_reach_the_files_that_use_them(baked):
    variant, project = baked
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert (project / ".python-version").read_text().strip() == variant["python_version"]
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + variant["python_version"].replace(".", "")
    assert LICENSE_MARKERS[variant["license"]] in (project / "LICENSE").read_text()
    expected_license = "LicenseRef-Proprietary" if variant["license"] == "proprietary" else variant["license"]
    assert pyproject["project"]["license"] == expected_license
    module = DEFAULTS["project_name"].lower().replace(" ", "_")
    assert f"python -m {module} train" in (project / "dvc.yaml").read_text()
    assert (
        f'TASK = "{variant["task"]}"' in (project / "src" / module / "pipeline" / "__init__.py").read_text()
    )
    # ml-gitops at the template's version, from this checkout (a local template), found through the entry point
    assert pyproject["tool"]["uv"]["sources"]["ml-gitops"] == {"path": str(TEMPLATE / "package")}
    assert pyproject["project"]["entry-points"]["ml_gitops"] == {"pipeline": f"{module}.pipeline"}
    lock = tomllib.loads((project / "uv.lock").read_text())
    package = next(entry for entry in lock["package"] if entry["name"] == "ml-gitops")
    assert package["source"] == {"directory": str(TEMPLATE / "package")}


def test_dvc_remote_is_configured_with_its_plugin_locked(baked):
    variant, project = baked
    config = (project / ".dvc" / "config").read_text()
    lock = tomllib.loads((project / "uv.lock").read_text())
    locked = {package["name"] for package in lock["package"]}
    assert "churn-model" in locked, "the lockfile must name the project, not the placeholder"
    plugin = REMOTE_PLUGINS[variant["dvc_remote"]]
    if variant["dvc_remote"] == "none":
        assert "remote" not in config
    else:
        assert "remote = storage" in config
        assert re.search(r"url = \S+", config)
    if plugin:
        assert plugin in locked
    assert not (set(REMOTE_PLUGINS.values()) - {plugin, None}) & locked, "only the chosen remote's plugin"
    assert not (project / ".locks").exists()


def test_deploy_target_decides_the_image_files_and_jobs(baked):
    variant, project = baked
    promote = effective_workflow(project / ".github/workflows/promote.yml")
    release = effective_workflow(project / ".github/workflows/release.yml")
    makefile = (project / "Makefile").read_text()
    if variant["deploy_target"] == "release":
        assert not (project / "Dockerfile").exists()
        assert not (project / ".dockerignore").exists()
        assert set(promote["jobs"]) == {"approval", "staging", "comment"}
        assert "image" not in release["jobs"]
        assert "docker" not in makefile
        return
    dockerfile = (project / "Dockerfile").read_text()
    base = f"python:{variant['python_version']}-slim-bookworm"
    assert re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE) == [base, base], "literal, for Dependabot"
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER 10001$", final_stage, re.MULTILINE), "the service runs as a non-root user"
    assert "uv sync --locked --no-default-groups" in dockerfile, "the image installs the locked service deps"
    assert (project / ".dockerignore").read_text().splitlines()[1] == "*", (
        "the build context is an allow-list"
    )
    assert "export GITHUB_REPOSITORY ?= ada-lovelace/churn-model" in makefile, (
        "the image: ghcr.io/<repository>"
    )
    # Pull-request code runs with a read-only token; only the job that runs none of it may push the image.
    assert set(promote["jobs"]) == {"approval", "staging", "push-image", "comment"}
    staging, push = promote["jobs"]["staging"], promote["jobs"]["push-image"]
    assert staging["permissions"] == {"contents": "read"}
    assert "environment" not in staging
    assert push["permissions"] == {"packages": "write"}
    assert push["environment"] == "staging"
    assert any("python -m ml_gitops image-push" in step.get("run", "") for step in push["steps"])
    assert all(step.get("run") != "make repro" for step in push["steps"])
    assert release["jobs"]["image"]["permissions"]["packages"] == "write"
    assert "image" in release["jobs"]["production"]["needs"]


def step_secrets(workflow: dict) -> list[tuple[str, str, str]]:
    """(job, variable or input, secret) for every secret a step hands to its command (env) or its action (with);
    a secret anywhere else (a job's env, a condition, a run script) fails."""
    found = []
    for job_name, job in workflow["jobs"].items():
        assert not SECRET.search(yaml.safe_dump({k: v for k, v in job.items() if k != "steps"})), (
            f"job {job_name} reads a secret outside a step's env"
        )
        for step in job.get("steps", []):
            assert not SECRET.search(
                yaml.safe_dump({k: v for k, v in step.items() if k not in ("env", "with")})
            ), f"a step of {job_name} reads a secret outside its env or its action's inputs"
            for variable, value in {**(step.get("env") or {}), **(step.get("with") or {})}.items():
                found += [(job_name, variable, secret) for secret in SECRET.findall(str(value))]
    return found


def test_secrets_reach_only_the_steps_that_use_them_and_are_documented(baked):
    variant, project = baked
    readme = (project / "README.md").read_text()
    used = set()
    for path in (project / ".github" / "workflows").glob("*.yml"):
        workflow = effective_workflow(path)
        for job_name, variable, secret in step_secrets(workflow):
            used.add(secret)
            names = {"RETRAIN_TOKEN": ("REPO_TOKEN",), "AUTOMATION_APP_PRIVATE_KEY": ("private-key",)}
            assert variable in (secret, *names.get(secret, ())), (
                f"{path.name}: {variable} holds secrets.{secret}"
            )
            environment = workflow["jobs"][job_name].get("environment")
            assert environment in SECRET_ENVIRONMENTS[secret], (
                f"{path.name}: {job_name} reads secrets.{secret} outside the environments that keep it"
            )
    assert used == {"DVC_REMOTE_CREDENTIALS", "RETRAIN_TOKEN", "AUTOMATION_APP_PRIVATE_KEY"}
    assert "`DVC_REMOTE_CREDENTIALS`" in readme
    assert REMOTE_SECRET_CONTENT[variant["dvc_remote"]] in readme
    for secret in ("RETRAIN_TOKEN", "AUTOMATION_APP_PRIVATE_KEY", "AUTOMATION_APP_CLIENT_ID"):
        assert f"`{secret}`" in readme, f"the README does not say how to create {secret}"


def test_the_makefile_never_expands_a_value_that_comes_from_an_event(baked):
    _, project = baked
    makefile = (project / "Makefile").read_text()
    for name in EVENT_VARIABLES:
        expanded = re.findall(rf"(?<!\$)\$[({{]{name}\b", makefile)
        assert not expanded, (
            f"the Makefile expands ${name} with make's own syntax: read it as $${name} in the shell"
        )


def test_the_layout_rules_hold(baked):
    """The generated tests/test_layout.py: no import from a folder above, stage deps exactly the files run."""
    _, project = baked
    command = [
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "tests/test_layout.py",
    ]
    assert " passed" in run(command, cwd=project).stdout  # reads the source only: no install needed


def test_retrain_cron_reaches_the_schedule(baked):
    _, project = baked
    retrain = yaml.safe_load((project / ".github/workflows/retrain.yml").read_text())
    assert retrain[True]["schedule"] == [{"cron": DEFAULTS["retrain_cron"]}]


def test_project_starts_as_a_git_repository_on_main(baked):
    _, project = baked
    head = run(["git", "symbolic-ref", "HEAD"], cwd=project).stdout.strip()
    assert head == "refs/heads/main"


def test_python_code_is_ruff_clean(baked):
    _, project = baked
    run(["ruff", "check", "--no-cache", "."], cwd=project)
    run(["ruff", "format", "--check", "--no-cache", "."], cwd=project)


def test_github_files_pass_zizmor_at_both_personas_and_actionlint(baked, actionlint):
    _, project = baked
    check_github_files(project, actionlint)


def test_non_ascii_name_gives_an_ascii_slug_and_module(cookies_session):
    project = bake(cookies_session, project_name="Détection de fraude")
    assert project.name == "detection-de-fraude"
    assert (project / "src" / "detection_de_fraude" / "__main__.py").is_file()
    assert 'name = "detection-de-fraude"' in (project / "pyproject.toml").read_text()


def test_long_names_still_give_formatted_code(cookies_session):
    project = bake(cookies_session, project_name="Détection de fraude sur les paiements par carte bancaire")
    run(["ruff", "check", "--no-cache", "."], cwd=project)
    run(["ruff", "format", "--check", "--no-cache", "."], cwd=project)


def test_make_setup_installs_uv_checked_by_hash_when_the_machine_has_none(cookies_session, tmp_path):
    """Issue 27: `make setup` stopped at "uv not found". It now installs uv into .tools/ from PyPI, with pip's
    hash-checking mode against .github/uv-requirements.txt (issue 28: uv pinned by hash, not by version alone)."""
    project = bake(cookies_session, project_name="uv bootstrap")
    without_uv = os.pathsep.join(
        folder
        for folder in os.environ["PATH"].split(os.pathsep)
        if folder and not (Path(folder) / "uv").exists()
    )
    env = {**tool_env(), "PATH": without_uv}
    planned = run(["make", "--dry-run", "setup"], cwd=project, env=env).stdout
    assert "--require-hashes --requirement .github/uv-requirements.txt" in planned
    assert f"{project}/.tools/bin/uv lock --quiet" in planned, "setup goes on with the uv it installed"
    run(["make", f"{project}/.tools/bin/uv"], cwd=project, env=env)
    version = run([str(project / ".tools/bin/uv"), "--version"], cwd=project, env=env).stdout
    assert version.startswith("uv 0.13.9")
    requirement = (project / ".github/uv-requirements.txt").read_text()
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", requirement)) >= 10, "every platform's wheel"
