"""The bad-input catalogue, provoked for real in a trained default project.

Each case runs the command a user would (`make repro`, `python -m <module> ...`, or POST /predict on the running
service) and must end in exactly its line, a non-zero exit and no traceback, with the model, the metrics, dvc.lock
and the raw and prepared data byte for byte as they were. docs/bad-inputs.md is generated from the same list.
"""

import hashlib
import json
import urllib.error
import urllib.request

import pytest
import yaml

from .bad_inputs import CATALOGUE, DOCS, PROJECT, VALID, markdown
from .conftest import HOST_PYTHON, TEMPLATE, bake, run, tool_env
from .test_project import SAMPLE_ROWS, serving, wait_for

KEPT = ("models/model.skops", "reports/metrics.json", "dvc.lock", "params.yaml")
COMMAND_CASES = [case for case in PROJECT if case.command]
SERVING_CASES = [case for case in PROJECT if case.request is not None]
ELSEWHERE = [case for case in PROJECT if case.tested_in]


def test_docs_page_is_generated_from_the_catalogue():
    assert DOCS.read_text(encoding="utf-8") == markdown(), (
        "run `python -m tests.bad_inputs` and commit the page"
    )
    assert len(CATALOGUE) >= 25


@pytest.mark.parametrize("case", ELSEWHERE, ids=lambda case: case.id)
def test_case_provoked_elsewhere_is_asserted_there(case):
    """A row another test provokes (another project, a fault) names that test, which asserts its very words."""
    text = (TEMPLATE / case.tested_in).read_text(encoding="utf-8")
    seen = case.seen.removesuffix("...")
    words = (
        seen.split(": ", 1)[1] if case.area.startswith("serving") else seen
    )  # a 422's message, after its loc
    assert words in text, case.tested_in


@pytest.fixture(scope="module")
def project(cookies_session):
    """The default project, trained and committed."""
    project = bake(cookies_session, python_version=HOST_PYTHON)
    run(["make", "install"], cwd=project)
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    run(["git", "add", "-A"], cwd=project)
    run(["git", "commit", "--quiet", "--no-verify", "-m", "Champion"], cwd=project)
    return project


@pytest.fixture(scope="module")
def module(project):
    return next(project.glob("src/*/__main__.py")).parent.name


def snapshot(project):
    paths = [project / name for name in KEPT] + sorted((project / "data").rglob("*"))
    return {str(path.relative_to(project)): _digest(path) for path in paths if path.is_file()}


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def set_params(project, values):
    if not values:
        return
    params = yaml.safe_load((project / "params.yaml").read_text())
    for dotted, value in values.items():
        section, _, key = dotted.rpartition(".")
        (params[section] if section else params)[key] = value
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def matches(line, seen):
    return line.startswith(seen[:-3]) if seen.endswith("...") else line == seen


@pytest.mark.parametrize("case", COMMAND_CASES, ids=lambda case: case.id)
def test_bad_input_gives_one_line_and_changes_nothing(project, module, case):
    before = snapshot(project)
    written = [project / path for path in case.files]
    kept = {path: path.read_bytes() for path in written if path.exists()}
    try:
        for path, content in case.files.items():
            (project / path).parent.mkdir(parents=True, exist_ok=True)
            (project / path).write_bytes(content)
        set_params(project, case.params)
        command = [part.format(module=module) for part in case.command]
        if command[0] == "python":
            command = ["uv", "run", "--locked", *command]
        env = {key: value for key, value in tool_env().items() if key != "GITHUB_TOKEN"}
        env.update(GITHUB_REPOSITORY="ada-lovelace/churn-model", **case.env)
        result = run(command, cwd=project, check=False, env=env)
    finally:
        for path in written:
            if path in kept:
                path.write_bytes(kept[path])
            elif path.is_file():
                path.unlink()
        run(["git", "checkout", "--quiet", "HEAD", "--", "params.yaml"], cwd=project)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = [
        line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")
    ]
    assert len(errors) == 1, result.stderr
    assert matches(errors[0], case.seen), errors[0]
    assert snapshot(project) == before, "a bad input changed the model, the metrics or the data"
    assert not (project / "PWNED").exists(), "a value from an event was run as code"


@pytest.fixture(scope="module")
def service(project, module):
    with serving(project, module) as port:
        wait_for(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def valid_row(project):
    return json.loads(run(["uv", "run", "--locked", "python", "-c", SAMPLE_ROWS], cwd=project).stdout)[0]


def complete(request, valid_row):
    """The request with each row marked VALID completed to a valid row before its own (bad) values."""
    if isinstance(request, bytes):
        return request
    rows = [{**valid_row, **row} if row.pop(VALID, False) else row for row in map(dict, request["rows"])]
    return json.dumps({**request, "rows": rows}).encode()


@pytest.mark.parametrize("case", SERVING_CASES, ids=lambda case: case.id)
def test_bad_request_gets_422_naming_the_field(service, valid_row, case):
    body = complete(case.request, valid_row)
    request = urllib.request.Request(
        f"{service}/predict", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    assert raised.value.code == 422
    (detail, *_) = json.loads(raised.value.read())["detail"]
    assert f"422, loc {json.dumps(detail['loc'])}: {detail['msg']}" == case.seen
