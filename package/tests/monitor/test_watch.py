"""The scheduled watch: only this workflow's issues are edited, and its texts say what the monitor read."""

import json

import pytest

from ml_gitops.cli import main
from ml_gitops.monitor import retrain, watch

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

IMPORT = "md5: 1f2e\nouts:\n- md5: 9a8b7c.dir\n  path: predictions\ndeps:\n- path: s3://bucket/predictions\n"
MARKED = "<!-- monitoring of model@v1.0.0 -->\nHow model@v1.0.0 does"
BOT = {"login": "github-actions[bot]", "type": "Bot"}


@pytest.mark.parametrize(
    ("issue", "ours"),
    [
        ({"user": BOT, "body": MARKED}, True),
        ({"user": {"login": "mallory", "type": "User"}, "body": MARKED}, False),
        ({"user": {"login": "github-actions[bot]", "type": "User"}, "body": MARKED}, False),
        ({"user": {"login": "some-app[bot]", "type": "Bot"}, "body": MARKED}, False),
        ({"user": BOT, "body": MARKED, "pull_request": {"url": None}}, False),
        ({"user": BOT, "body": "Model report"}, False),
        ({"user": BOT, "body": None}, False),
    ],
)
def test_only_issues_this_workflow_opened_are_its_own(issue, ours):
    assert watch._opened_by_this_workflow(issue) is ours


SUMMARY = {
    "verdict": "decay",
    "metric": "f1",
    "release": 0.81,
    "tolerance": "0.02",
    "model_sha256": "ab" * 32,
    "windows": [
        {
            "window": "2026-03-04T00:00:00+00:00",
            "predictions": 1200,
            "labelled": 600,
            "share_labelled": 0.5,
            "status": "decay",
            "metrics": {"f1": 0.52},
            "low": 0.48,
            "high": 0.56,
        }
    ],
    "drift": {"drift": False, "drifted_features": [], "features": ["age", "plan"]},
    "notes": [],
    "imports": {"logs/predictions.dvc": IMPORT},
}


def test_the_issue_carries_the_marker_the_table_and_which_log_was_read():
    body = watch.issue_body("model@v1.0.0", SUMMARY, "https://github.com/acme/churn/actions/runs/7")
    assert body.startswith("<!-- monitoring of model@v1.0.0 -->\n")
    assert "| 2026-03-04T00:00 | 1,200 | 50% | 0.5200 | [0.4800, 0.5600] | decay |" in body
    assert "| `logs/predictions.dvc` | `9a8b7c.dir` |" in body


def test_a_failed_or_empty_monitor_is_said_so_never_shown_as_ok():
    failed = watch.issue_body("model@v1.0.0", None, "https://github.com/acme/churn/actions/runs/7")
    assert "> [!WARNING]\n> The monitor failed" in failed
    empty = watch.issue_body("model@v1.0.0", {"verdict": "none", "reason": "no log yet"}, "run")
    assert "Nothing to monitor yet: no log yet" in empty


def test_the_retraining_pull_request_says_when_production_decayed():
    drift = {
        "drift": False,
        "features": [],
        "drifted_features": [],
        "share": 0.0,
        "thresholds": {"share": 0.5, "p_value": 0.01, "psi": 0.2},
        "rows": {"reference": 10, "current": 10},
    }
    decayed = retrain.body(drift, "", SUMMARY)
    assert "### The model in production: decay" in decayed
    assert "| `logs/predictions.dvc` | `9a8b7c.dir` |" in decayed
    healthy = retrain.body(drift, "", SUMMARY | {"verdict": "ok"})
    assert "The model in production" not in healthy


def test_no_log_yet_is_nothing_to_monitor_in_ci_and_an_error_by_hand(trained, capsys, monkeypatch, tmp_path):
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    assert main(["monitor"]) == 1
    assert "error: there is no prediction log at logs/predictions yet" in capsys.readouterr().err
    assert main(["monitor", "--github"]) == 0
    assert "verdict=none\n" in outputs.read_text()
    summary = json.loads((tmp_path / "reports/monitor/monitor.json").read_text())
    assert summary["verdict"] == "none"


def test_a_duplicate_issue_is_closed_as_one_and_a_version_gone_as_completed(monkeypatch):
    """Two runs that raced each opened v1.1.0's issue: the older is edited, the newer closed as its duplicate."""

    def issue(number, version):
        return {"number": number, "user": BOT, "body": f"<!-- monitoring of model@{version} -->"}

    calls = []
    monkeypatch.setattr(
        watch.client, "paginate", lambda path: [issue(9, "v1.1.0"), issue(7, "v1.1.0"), issue(3, "v1.0.0")]
    )
    monkeypatch.setattr(
        watch.client, "api", lambda method, path, body=None: calls.append((method, path, body)) or {}
    )
    monkeypatch.setattr(watch.client, "comment", lambda number, text: calls.append(("comment", number, text)))
    watch.update_issue("v1.1.0", SUMMARY, "run")
    assert calls[0][:2] == ("PATCH", "issues/7")
    assert calls[0][2]["title"] == "Monitoring model@v1.1.0: decay"
    assert calls[1:] == [
        ("comment", 9, "A duplicate of #7, the monitoring issue of model@v1.1.0."),
        ("PATCH", "issues/9", {"state": "closed", "state_reason": "duplicate"}),
        ("comment", 3, "This version left production: model@v1.1.0 is served now."),
        ("PATCH", "issues/3", {"state": "closed", "state_reason": "completed"}),
    ]
