"""A baked project, installed and run for real: make setup, dvc repro, its own tests and hooks, user data.

One class per task; `--dist loadscope` runs each class in one pytest-xdist worker, so its tests share one baked
project and run in order.
"""

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

from .conftest import DEFAULTS, HOST_PYTHON, bake, run, tool_env
from .loadtest import bounded_load

PLOTS = {
    "classification": {"roc.png", "precision_recall.png", "confusion_matrix.png", "feature_importance.png"},
    "regression": {"predicted_vs_actual.png", "residuals.png", "feature_importance.png"},
}
CHAMPION_FILES = ("models/model.skops", "reports/metrics.json", "dvc.lock")
USER_DATA = """
import numpy as np, pandas as pd
from {module}.pipeline.data import read_bundled
frame = read_bundled()
frame.insert(0, "region", np.random.default_rng(0).choice(["north", "south", "east"], len(frame)))
frame.insert(0, "plan_code", np.random.default_rng(1).integers(1, 4, len(frame)))
frame.insert(0, "signup", pd.date_range("2020-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d"))
frame.insert(0, "customer_id", [f"C{{i:05d}}" for i in range(len(frame))])
frame.rename(columns={{"target": "label"}}).to_csv("data/raw/mine.csv", index=False)
"""


SAMPLE_ROWS = """
import json, pandas as pd
test = pd.read_parquet("data/prepared/test.parquet").drop(columns=["target"]).head(1)
print(test.to_json(orient="records", double_precision=15))
"""


OWN_ROW = """
import pandas as pd
test = pd.read_parquet("data/prepared/test.parquet").drop(columns=["label"]).head(1)
print(test.to_json(orient="records", date_format="iso", double_precision=15))
"""


@contextlib.contextmanager
def serving(project, module):
    """`python -m <module> serve` on a free loopback port, stopped on exit."""
    port = free_port()
    command = ["uv", "run", "--locked", "python", "-m", module, "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=project, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def post(port, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/predict", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def image_context(project, context):
    """The build context Docker would send: only what the allow-list in .dockerignore lets through."""
    lines = [line for line in (project / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*", ".dockerignore must start by excluding everything"
    skip = shutil.ignore_patterns("__pycache__")
    for line in lines[1:]:
        if line.startswith("!"):
            source, target = project / line[1:].rstrip("/"), context / line[1:].rstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=skip)
            else:
                shutil.copy2(source, target)


def build_image_without_docker(project, app):
    """Run the Dockerfile's steps here: its `uv sync` commands in the build context, then keep only what the
    final stage copies (/app/.venv, the model and params.yaml). Returns the final stage's command."""
    dockerfile = (project / "Dockerfile").read_text()
    image_context(project, app)
    env = {**tool_env(), "UV_PYTHON": HOST_PYTHON, "UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy"}
    for command in re.findall(r"^RUN (uv sync .*)$", dockerfile, re.MULTILINE):
        run(shlex.split(command), cwd=app, env=env)
    for path in app.iterdir():
        if path.name != ".venv":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    copied = re.findall(r"^COPY (?!--)(\S+) (\S+)$", final_stage, re.MULTILINE)
    assert [source for source, _ in copied] == ["models/model.skops", "params.yaml"]
    for source, target in copied:
        (app / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / source, app / target)
    return json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1))


def set_params(project, **sections):
    params = yaml.safe_load((project / "params.yaml").read_text())
    for section, values in sections.items():
        params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="class")
def project(request, cookies_session):
    """The project of the class's task, baked for the Python running the tests, with a local DVC remote."""
    if HOST_PYTHON not in DEFAULTS["python_version"]:
        pytest.fail(f"the tests need Python {' or '.join(DEFAULTS['python_version'])}, not {HOST_PYTHON}")
    return bake(
        cookies_session,
        task=request.cls.task,
        python_version=HOST_PYTHON,
        dvc_remote="local",
        deploy_target=request.cls.deploy_target,
    )


@pytest.fixture(scope="class")
def module(project):
    return next(project.glob("src/*/__main__.py")).parent.name


class ProjectChecks:
    task: str
    deploy_target: str

    def test_make_setup_installs_the_locked_environment_and_hooks(self, project):
        run(["make", "setup"], cwd=project)
        assert (project / ".venv" / "bin" / "dvc").exists()
        assert (project / ".git" / "hooks" / "pre-commit").exists()

    def test_a_fresh_checkout_builds_the_project_in_uv_s_own_process(self, project, module, tmp_path):
        """Every CI job syncs a fresh checkout: uv builds the project itself (no build environment to make), and
        the module it installs is the checkout's, so `python -m <module>` runs the code as committed."""
        checkout = tmp_path / "checkout"
        checkout.mkdir()
        for name in ("pyproject.toml", "uv.lock", "README.md", ".python-version", "src"):
            copy = shutil.copytree if (project / name).is_dir() else shutil.copy2
            copy(project / name, checkout / name)
        synced = run(["uv", "sync", "--locked", "--verbose"], cwd=checkout)
        assert "Performing direct build" in synced.stderr, synced.stderr[-2000:]
        imported = run([".venv/bin/python", "-c", f"import {module}; print({module}.__file__)"], cwd=checkout)
        assert imported.stdout.strip() == str(checkout / "src" / module / "__init__.py")

    def test_make_repro_trains_and_evaluates(self, project):
        result = run(["make", "repro"], cwd=project)
        for stage in ("prepare", "train", "evaluate"):
            assert f"Running stage '{stage}'" in result.stdout
        assert (project / "models" / "model.skops").stat().st_size > 1000
        assert {p.name for p in (project / "reports" / "plots").iterdir()} == PLOTS[self.task]
        metrics = json.loads((project / "reports" / "metrics.json").read_text())
        summary = json.loads((project / "reports" / "data.json").read_text())
        assert metrics["test_rows"] == summary["test_rows"] > 50
        if self.task == "classification":
            assert metrics["roc_auc"] > 0.95
        else:
            assert metrics["r2"] > 0.3
        assert "reports/metrics.json" in result.stdout, "make repro prints the metrics table"

    def test_second_repro_is_a_no_op(self, project):
        before = digest(project / "models" / "model.skops")
        result = run(["uv", "run", "--locked", "dvc", "repro"], cwd=project)
        assert "Running stage" not in result.stdout
        assert digest(project / "models" / "model.skops") == before
        status = run(["uv", "run", "--locked", "dvc", "status"], cwd=project)
        assert "up to date" in status.stdout

    def test_machinery_changes_rerun_only_evaluate_and_model_code_changes_rerun_their_stages(
        self, project, module
    ):
        edits = (
            ("src/" + module + "/__main__.py", "\n# an edit\n", []),
            ("src/" + module + "/pipeline/train.py", "\n# an edit\n", ["evaluate", "train"]),  # model types
            ("src/" + module + "/pipeline/data.py", "\n# an edit\n", ["prepare"]),
            ("src/" + module + "/pipeline/features.py", "\n# an edit\n", ["evaluate", "train"]),
            # ml-gitops computes the metrics: a new version of it scores the model again, and trains nothing
            ("pyproject.toml", ("ml-gitops==0.1.0", "ml-gitops==0.1.1"), ["evaluate"]),
        )
        for path, edit, stale in edits:
            source = project / path
            original = source.read_text()
            if isinstance(edit, tuple):
                assert edit[0] in original, f"{path} does not pin {edit[0]}"
                source.write_text(original.replace(*edit))
            else:
                source.write_text(original + edit)
            try:
                status = json.loads(
                    run(["uv", "run", "--frozen", "dvc", "status", "--json"], cwd=project).stdout
                )
            finally:
                source.write_text(original)
            assert sorted(status) == stale, f"editing {path} makes {sorted(status)} stale"

    def test_service_answers_a_bounded_load_without_errors(self, project, module):
        rows = json.loads(run(["uv", "run", "--locked", "python", "-c", SAMPLE_ROWS], cwd=project).stdout)
        with serving(project, module) as port:
            health = wait_for(f"http://127.0.0.1:{port}/health")
            assert health["model_sha256"] == digest(project / "models" / "model.skops")
            result = bounded_load(port, "/predict", {"rows": rows}, requests=2000, threads=4)
        print(f"\n{self.task} /predict load: {result}")
        assert result.requests == 2000
        assert result.errors == 0

    def test_image_steps_serve_the_model_and_pass_the_http_smoke_test(self, project, module, tmp_path):
        if self.deploy_target != "container":
            pytest.skip("only the container deploy target builds an image")
        app = tmp_path / "app"
        command = build_image_without_docker(project, app)
        assert not (app / ".venv" / "bin" / "dvc").exists(), (
            "the image installs the service's dependencies only"
        )
        port = free_port()
        command = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(word, word) for word in command]
        env = {**tool_env(), "PATH": f"{app / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        server = subprocess.Popen(
            command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            smoke = [
                "uv",
                "run",
                "--locked",
                "python",
                "-m",
                module,
                "smoke",
                "--url",
                f"http://127.0.0.1:{port}",
            ]
            result = run(smoke, cwd=project)
            assert result.stdout.startswith(
                f"Smoke test passed: the service at http://127.0.0.1:{port} is healthy"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        count = "import pandas as pd; log = pd.read_parquet('logs/predictions'); print(len(log), *set(log.model_version))"
        logged = run([str(app / ".venv" / "bin" / "python"), "-c", count], cwd=app)  # written at shutdown
        assert logged.stdout.split() == ["20", "unreleased"]

    def test_pipeline_check(self, project):
        result = run(["make", "pipeline-check"], cwd=project)
        assert "up to date" in result.stdout

    def test_generated_tests_pass(self, project):
        result = run(["make", "test"], cwd=project)
        assert " passed" in result.stdout
        assert "failed" not in result.stdout

    def test_pre_commit_hooks_pass_on_every_file(self, project):
        run(["git", "add", "-A"], cwd=project)
        run(["make", "lint"], cwd=project)
        run(["git", "commit", "-q", "-m", "First model"], cwd=project)
        assert run(["git", "status", "--porcelain"], cwd=project).stdout == ""

    def test_bad_data_stops_the_pipeline_before_the_champion_is_touched(self, project):
        champion = {name: digest(project / name) for name in CHAMPION_FILES}
        (project / "data" / "raw" / "bad.csv").write_text("a,b\n1,2\n")
        set_params(project, data={"path": "data/raw/bad.csv"})
        result = run(["uv", "run", "--locked", "dvc", "repro"], cwd=project, check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert errors == [
            "error: data/raw/bad.csv has no target column 'target' (columns: 'a', 'b'): set data.target in params.yaml"
        ]
        assert {name: digest(project / name) for name in CHAMPION_FILES} == champion
        # DVC removed the failed stage's own outputs before running it: Git and the DVC cache bring them back.
        (project / "data" / "raw" / "bad.csv").unlink()
        run(["git", "checkout", "HEAD", "--", "."], cwd=project)
        run(["uv", "run", "--locked", "dvc", "checkout"], cwd=project)
        assert "up to date" in run(["uv", "run", "--locked", "dvc", "status"], cwd=project).stdout

    def test_own_data_needs_only_params(self, project, module):
        run(["uv", "run", "--locked", "python", "-c", USER_DATA.format(module=module)], cwd=project)
        own = {"path": "data/raw/mine.csv", "target": "label", "categorical": ["region", "plan_code"]}
        set_params(project, data=own)
        refused = run(["make", "repro"], cwd=project, check=False)
        assert "column 'customer_id' has a different value on every row, like an identifier" in refused.stderr
        set_params(project, data={**own, "drop": ["customer_id"]})
        roles = run(["uv", "run", "--locked", "python", "-m", module, "check-params", "--data"], cwd=project)
        assert "2 categorical (plan_code, region), 1 date (signup*); * inferred" in roles.stdout
        result = run(["uv", "run", "--locked", "dvc", "repro"], cwd=project)
        assert "Running stage 'prepare'" in result.stdout
        summary = json.loads((project / "reports" / "data.json").read_text())
        assert summary["source"] == "data/raw/mine.csv"
        header = (project / "data/raw/mine.csv").read_text().splitlines()[0].split(",")
        assert summary["columns"] == len(header) - 1, "customer_id is dropped"
        assert json.loads((project / "reports" / "metrics.json").read_text())["test_rows"] > 50
        row = json.loads(run(["uv", "run", "--locked", "python", "-c", OWN_ROW], cwd=project).stdout)[0]
        with serving(project, module) as port:
            wait_for(f"http://127.0.0.1:{port}/health")
            status, answer = post(port, {"rows": [row]})
            assert status == 200
            status, as_number = post(port, {"rows": [{**row, "plan_code": int(row["plan_code"])}]})
            assert status == 200
            assert as_number["request_ids"] != answer["request_ids"], "each prediction gets its own id"
            assert {**as_number, "request_ids": None} == {**answer, "request_ids": None}
            assert (
                post(port, {"rows": [{**row, "signup": "2031-12-31"}]})[0] == 200
            )  # later than any in training
            status, answer = post(port, {"rows": [{**row, "region": "west"}]})
        assert status == 422, "a category the model never saw is refused, not silently ignored"
        (error,) = answer["detail"]
        assert error["loc"] == ["body", "rows", 0, "region"]
        assert error["msg"] == "Input should be 'east', 'north' or 'south'"
        (project / "data" / "raw" / "mine.csv").unlink()
        run(["git", "checkout", "HEAD", "--", "."], cwd=project)
        run(["uv", "run", "--locked", "dvc", "checkout"], cwd=project)
        assert "up to date" in run(["uv", "run", "--locked", "dvc", "status"], cwd=project).stdout
        shutil.rmtree(project / ".venv")  # the largest part of a baked project; nothing else needs it


@pytest.mark.slow
class TestClassificationProject(ProjectChecks):
    task = "classification"
    deploy_target = "release"


@pytest.mark.slow
class TestRegressionProject(ProjectChecks):
    task = "regression"
    deploy_target = "container"
