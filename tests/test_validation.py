"""Bad answers: each rule stops the bake with one line naming the field and the fix, and leaves no directory."""

import json
import subprocess
import sys

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from .bad_inputs import BAKE, REPLAY
from .conftest import DEFAULTS, TEMPLATE

REPLAY_DEFAULTS = {
    **{
        key: value[0] if isinstance(value, list) and not key.startswith("_") else value
        for key, value in DEFAULTS.items()
    },
    "project_slug": "churn-model",
    "module_name": "churn_model",
    "github_owner": "ada-lovelace",
    "dvc_remote_url": "",
}


def bake_cli(tmp_path, answers):
    """Bake through cookiecutter's own command line, as a user does."""
    command = [
        sys.executable,
        "-m",
        "cookiecutter",
        "--no-input",
        "--output-dir",
        str(tmp_path),
        str(TEMPLATE),
    ]
    command += [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", BAKE, ids=lambda case: case.given)
def test_bad_answer_stops_the_bake_cleanly(tmp_path, case, capfd):
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=case.answers, output_dir=str(tmp_path))
    error_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert error_lines == [f"error: {case.seen}"]
    assert list(tmp_path.iterdir()) == [], "the bake left files behind"


@pytest.mark.parametrize("case", REPLAY, ids=lambda case: case.given)
def test_bad_choice_in_a_replay_file_is_refused(tmp_path, case, capfd):
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": {**REPLAY_DEFAULTS, **case.answers}}))
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), replay=str(replay), output_dir=str(output))
    assert f"error: {case.seen}" in capfd.readouterr().err.splitlines()
    assert list(output.iterdir()) == []


def test_command_line_reports_one_line_and_leaves_nothing(tmp_path):
    result = bake_cli(tmp_path, {"author_email": "not-an-email"})
    assert result.returncode != 0
    # Our line comes first; cookiecutter then logs its own "Stopping generation" notice (and, since 2.5, the
    # traceback of its hook runner) to stdout, which a template cannot switch off.
    assert result.stderr.splitlines()[0] == (
        "error: author_email 'not-an-email' is not an email address: type one like ada@example.com"
    )
    assert list(tmp_path.iterdir()) == []


def test_good_answers_bake(tmp_path):
    result = bake_cli(tmp_path, {"project_name": "Fraud Score", "dvc_remote": "s3", "task": "regression"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fraud-score" / "src" / "fraud_score").is_dir()
