"""Faults injected for real in a trained default project: a pipeline killed mid-run, a tampered model file.

Nothing here is simulated: `dvc repro` is started and SIGKILLed while a stage runs; the state it leaves is read
file by file; the champion is restored with git and DVC and the pipeline is run again. (The unreachable DVC remote
is in test_remotes.py, the release re-run after a failure half-way in e2e/test_versions.py.)
"""

import hashlib
import os
import signal
import subprocess
import time

import pytest
import yaml

from .conftest import HOST_PYTHON, bake, run, tool_env

pytestmark = pytest.mark.slow
UV_RUN = ["uv", "run", "--locked"]
OUTPUT_DIRS = ("data/prepared", "models", "reports")
# What a killed run must leave whole: each file of the stages' outputs, and dvc.lock.
VALIDATE = """
import json, sys, yaml, pandas as pd
from pathlib import Path
from ml_gitops.core import files
from churn_model.pipeline.train import MODEL_TYPES
for name in sys.argv[1:]:
    if name.endswith(".parquet"): pd.read_parquet(name)
    elif name.endswith(".json"): json.loads(open(name).read())
    elif name.endswith(".skops"): files.load_model(Path(name), MODEL_TYPES)
    elif name.endswith(".png"): data = open(name, "rb").read(); assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n" and data.endswith(b"IEND\\xaeB`\\x82"), name
    elif name == "dvc.lock": yaml.safe_load(open(name))
print("whole")
"""
# The attack as found: the champion's file with one more attribute, built at load time by calling builtins.exec
# (a module prefix such as "builtins." let it through); skops's own dump refuses to write it, so it is edited in.
TAMPERED = """
import json, sys, zipfile
members = {n: zipfile.ZipFile("models/model.skops").read(n) for n in zipfile.ZipFile("models/model.skops").namelist()}
schema = json.loads(members["schema.json"])
code = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "is_json": True,
        "content": json.dumps("open('PWNED', 'w').write(repr(dict(__import__('os').environ)))")}
schema["content"]["content"]["planted"] = {"__class__": "exec", "__module__": "builtins",
    "__loader__": "ConstructorFromReduceNode",
    "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": [code]}}
schema["content"]["key_types"]["content"].append(schema["content"]["key_types"]["content"][0])
members["schema.json"] = json.dumps(schema).encode()
with zipfile.ZipFile("models/model.skops", "w") as out:
    for name, data in members.items():
        out.writestr(name, data)
"""


@pytest.fixture(scope="module")
def project(cookies_session):
    """The default project, trained and committed: the champion."""
    project = bake(cookies_session, python_version=HOST_PYTHON)
    run(["make", "install"], cwd=project)
    run([*UV_RUN, "dvc", "repro", "--quiet"], cwd=project)
    run(["git", "add", "-A"], cwd=project)
    run(["git", "commit", "--quiet", "--no-verify", "-m", "Champion"], cwd=project)
    return project


def outputs(project):
    """Every file under the outputs' directories (hidden ones too) and dvc.lock, with its SHA-256."""
    paths = [path for name in OUTPUT_DIRS for path in (project / name).rglob("*") if path.is_file()]
    paths.append(project / "dvc.lock")
    return {str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def change_params(project, seed, trees=300):
    """A new seed and a forest: every stage runs (a seed of its own per case, or DVC's run cache answers). 300
    trees are slow enough to kill in train; the run after recovery needs no more than 20."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["seed"] = seed
    params["model"] = {"name": "random_forest", "params": {"n_estimators": trees}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def kill_during(project, stage, delay):
    """Start `dvc repro`, SIGKILL its whole process group `delay` s after `stage` starts; the output so far."""
    process = subprocess.Popen(
        [*UV_RUN, "dvc", "repro"],
        cwd=project,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if f"Running stage '{stage}'" in line:
            time.sleep(delay)
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the run ended before the kill:\n{''.join(seen)}"
    return "".join(seen)


def restore_champion(project):
    """What the docs tell a user: git checkout, make recover, dvc checkout --force (the killed run may have
    written a whole new output that DVC never saved: --force discards it)."""
    run(["git", "checkout", "--quiet", "HEAD", "--", "."], cwd=project)
    run(["make", "recover"], cwd=project)
    run([*UV_RUN, "dvc", "checkout", "--force"], cwd=project)


@pytest.mark.parametrize(
    ("stage", "delay", "seed"), [("prepare", 2.5, 7), ("train", 3.0, 8), ("evaluate", 2.0, 9)]
)
def test_killed_pipeline_leaves_whole_files_and_the_champion_comes_back(project, stage, delay, seed):
    champion = outputs(project)
    change_params(project, seed)
    kill_during(project, stage, delay)

    after = outputs(project)
    temporary = [name for name in after if name.endswith(".tmp")]
    changed = [
        name for name, digest in after.items() if champion.get(name) != digest and name not in temporary
    ]
    if changed:  # a new file must be a whole one: it parses, loads or ends where its format says
        assert "whole" in run([*UV_RUN, "python", "-c", VALIDATE, *changed], cwd=project).stdout

    blocked = run([*UV_RUN, "dvc", "status"], cwd=project, check=False)
    restore_champion(project)
    assert outputs(project) == champion, (
        "git checkout + make recover + dvc checkout --force restore the champion"
    )
    assert "up to date" in run([*UV_RUN, "dvc", "status"], cwd=project).stdout

    change_params(project, seed, trees=20)
    result = run(["make", "repro"], cwd=project)
    assert "removed" not in result.stdout, "make recover already cleaned up"
    assert "up to date" in run([*UV_RUN, "dvc", "status"], cwd=project).stdout
    assert not [name for name in outputs(project) if name.endswith(".tmp")]
    restore_champion(project)
    assert outputs(project) == champion
    print(
        f"killed in {stage}: {len(changed)} new whole files, {len(temporary)} unfinished writes; "
        f"dvc status before recovery exited {blocked.returncode}"
    )


def test_a_model_file_that_runs_code_when_loaded_is_refused_by_every_command_that_loads_one(project):
    module = "churn_model"
    model = project / "models" / "model.skops"
    model.chmod(0o644)
    run([*UV_RUN, "python", "-c", TAMPERED], cwd=project)
    (project / "SHA256SUMS").write_text(f"{hashlib.sha256(model.read_bytes()).hexdigest()}  model.skops\n")
    try:
        commands = (["smoke"], ["serve", "--port", "0", "--checksums", "SHA256SUMS"], ["drift"])
        for command in commands:
            result = run([*UV_RUN, "python", "-m", module, *command], cwd=project, check=False)
            assert result.returncode == 1, command
            assert "Traceback" not in result.stderr
            assert result.stderr.strip().splitlines() == [
                "error: models/model.skops contains untrusted types (builtins.exec): refusing to load it"
            ], command
            assert not (project / "PWNED").exists(), f"{command}: the payload ran"
    finally:
        (project / "SHA256SUMS").unlink()
        run([*UV_RUN, "dvc", "checkout", "--force", "models/model.skops"], cwd=project)


def test_model_that_differs_from_the_release_checksum_is_refused(project):
    module = "churn_model"
    model = project / "models" / "model.skops"
    sums = project / "SHA256SUMS"
    sums.write_text(f"{hashlib.sha256(model.read_bytes()).hexdigest()}  model.skops\n")
    try:
        assert run([*UV_RUN, "python", "-m", module, "smoke", "--checksums", "SHA256SUMS"], cwd=project)
        model.chmod(0o644)
        with model.open("ab") as damaged:  # one byte more: skops may still read it, the digest tells
            damaged.write(b"\0")
        result = run(
            [*UV_RUN, "python", "-m", module, "smoke", "--checksums", "SHA256SUMS"], cwd=project, check=False
        )
        assert result.returncode == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("error: models/model.skops is not the released file: its SHA-256 is ")
        assert line.endswith("SHA256SUMS lists " + sums.read_text()[:12] + "...: download the model again")
    finally:
        sums.unlink()
        run([*UV_RUN, "dvc", "checkout", "--force", "models/model.skops"], cwd=project)
