"""Bad answers: each rule stops the bake with one line naming the field and the fix, and leaves no directory."""

import json
import subprocess
import sys

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from .conftest import DEFAULTS, TEMPLATE

BAD_ANSWERS = [
    ({"project_name": " "}, "project_name is empty"),
    ({"description": "two\nlines"}, "description spans several lines"),
    ({"project_slug": "Churn_Model"}, "project_slug 'Churn_Model' is not a valid slug"),
    ({"project_slug": "pandas"}, "project_slug 'pandas' is the name of a dependency"),
    ({"project_name": "3D Model"}, "module_name '3d_model' is not a valid Python package name"),
    ({"module_name": "class"}, "module_name 'class' is a Python keyword"),
    ({"module_name": "match"}, "module_name 'match' is a Python keyword"),
    ({"module_name": "json"}, "module_name 'json' shadows the standard library module 'json'"),
    ({"module_name": "sklearn"}, "module_name 'sklearn' shadows the dependency 'sklearn'"),
    ({"author_email": "ada.example.com"}, "author_email 'ada.example.com' is not an email address"),
    ({"github_owner": "-bad-"}, "github_owner '-bad-' is not a GitHub user or organisation name"),
    (
        {"dvc_remote": "none", "dvc_remote_url": "s3://x/y"},
        "dvc_remote_url 's3://x/y' is set but dvc_remote is none",
    ),
    (
        {"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/x"},
        "dvc_remote_url 'gs://bucket/x' is not a valid s3 URL",
    ),
    (
        {"dvc_remote": "gcs", "dvc_remote_url": "s3://bucket"},
        "dvc_remote_url 's3://bucket' is not a valid gcs URL",
    ),
    (
        {"dvc_remote": "azure", "dvc_remote_url": "https://x"},
        "dvc_remote_url 'https://x' is not a valid azure URL",
    ),
    (
        {"dvc_remote": "ssh", "dvc_remote_url": "host:/srv"},
        "dvc_remote_url 'host:/srv' is not a valid ssh URL",
    ),
    (
        {"dvc_remote": "local", "dvc_remote_url": "~/store"},
        "dvc_remote_url '~/store' is not a local directory",
    ),
    ({"dvc_remote": "s3", "dvc_remote_url": ""}, "dvc_remote_url is empty for the s3 remote"),
    ({"retrain_cron": "5 * * *"}, "retrain_cron '5 * * *' has 4 fields, not 5"),
    ({"retrain_cron": "60 5 * * 1"}, "retrain_cron '60 5 * * 1': its minute field '60' is outside 0-59"),
    (
        {"retrain_cron": "0 5 * * mon-fry"},
        "retrain_cron '0 5 * * mon-fry': its day of week field 'mon-fry' is outside 0-6",
    ),
    (
        {"retrain_cron": "0 5 ? * 1"},
        "retrain_cron '0 5 ? * 1': its day of month field '?' is not a number, range, list or step",
    ),
    ({"retrain_cron": "0 */0 * * 1"}, "retrain_cron '0 */0 * * 1': its hour field '*/0' has a step of 0"),
    ({"retrain_cron": "*/2 * * * *"}, "retrain_cron '*/2 * * * *' runs more often than GitHub allows"),
]

# Cookiecutter itself refuses a value outside a choice list given on the command line; a replay file (or a
# hand-edited one) skips that check, so the hook checks the choices again.
BAD_CHOICES = [
    ("python_version", "3.9", "python_version '3.9' is not one of 3.11, 3.12, 3.13"),
    ("task", "clustering", "task 'clustering' is not one of classification, regression"),
    ("license", "GPL", "license 'GPL' is not one of MIT, Apache-2.0, BSD-3-Clause, proprietary"),
    ("dvc_remote", "ftp", "dvc_remote 'ftp' is not one of none, local, s3, gcs, azure, ssh"),
    ("deploy_target", "lambda", "deploy_target 'lambda' is not one of release, container"),
]
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


@pytest.mark.parametrize(
    ("answers", "message"), BAD_ANSWERS, ids=lambda value: "" if isinstance(value, str) else "_".join(value)
)
def test_bad_answer_stops_the_bake_cleanly(tmp_path, answers, message, capfd):
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(tmp_path))
    error_lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1, error_lines
    assert error_lines[0].startswith(f"error: {message}")
    assert ": " in error_lines[0].removeprefix(f"error: {message}"), "the line must say what to type instead"
    assert list(tmp_path.iterdir()) == [], "the bake left files behind"


@pytest.mark.parametrize(
    ("field", "value", "message"), BAD_CHOICES, ids=[field for field, _, _ in BAD_CHOICES]
)
def test_bad_choice_in_a_replay_file_is_refused(tmp_path, field, value, message, capfd):
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"cookiecutter": {**REPLAY_DEFAULTS, field: value}}))
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), replay=str(replay), output_dir=str(output))
    assert f"error: {message}" in capfd.readouterr().err
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
