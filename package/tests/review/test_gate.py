"""The gate's verdict: which metric, by how much, against which tolerance."""

import json
import math
import subprocess
from dataclasses import replace

import pytest

from ml_gitops import UserError
from ml_gitops.core import paths
from ml_gitops.core.config import GateConfig
from ml_gitops.metrics import DIRECTIONS
from ml_gitops.review import artifact, comparable, compare, gate


def diff(params, old, new):
    return {params.gate.metric: {"old": old, "new": new}}


def worse_by(params, amount):
    return -amount * DIRECTIONS[params.task][params.gate.metric]


def test_candidate_within_tolerance_passes(params):
    verdict = gate.verdict(
        params, diff(params, 0.5, 0.5 + worse_by(params, params.gate.allowed_loss(0.5) / 2))
    )
    assert verdict.passed
    assert f"within the tolerance {params.gate.describe()}" in verdict.reason


def test_better_candidate_passes(params):
    assert gate.verdict(params, diff(params, 0.5, 0.5 - worse_by(params, 0.2))).passed


def test_regression_beyond_tolerance_fails_and_says_by_how_much(params):
    loss = 3 * params.gate.allowed_loss(0.5)
    verdict = gate.verdict(params, diff(params, 0.5, 0.5 + worse_by(params, loss)))
    assert not verdict.passed
    assert verdict.reason.startswith(f"{params.gate.metric} 0.5000 -> ")
    assert f"worse than the champion by {loss:.4f}" in verdict.reason
    assert f"more than the tolerance {params.gate.describe()}" in verdict.reason


def test_a_relative_tolerance_scales_with_the_champion(params):
    """An absolute tolerance is in the target's units: 0.5 was nothing on one table and everything on another."""
    relative = replace(params, gate=GateConfig(params.gate.metric, 0.02, relative=True))
    for champion in (0.5, 500.0):
        assert gate.verdict(
            relative, diff(params, champion, champion + worse_by(params, 0.019 * champion))
        ).passed
        failed = gate.verdict(relative, diff(params, champion, champion + worse_by(params, 0.021 * champion)))
        assert not failed.passed
        assert "more than the tolerance 2% of the champion's value" in failed.reason


def test_a_candidate_that_cannot_be_compared_neither_passes_nor_fails(params):
    comparison = comparable.Comparison(artifact.TARGET, "data.target changed from 'churn' to 'spend'")
    verdict = gate.verdict(params, diff(params, 0.5, 0.9), comparison)
    assert (verdict.passed, verdict.comparable) == (False, False)
    assert verdict.reason == "not comparable with the champion: data.target changed from 'churn' to 'spend'"


def test_first_model_passes_and_says_so(params):
    verdict = gate.verdict(params, diff(params, None, 0.9))
    assert verdict.passed
    assert "this is the first model" in verdict.reason


def test_missing_candidate_metric_is_a_clear_error(params):
    with pytest.raises(UserError, match="run dvc repro before the gate"):
        gate.verdict(params, {})


def interval(params, low_loss, high_loss):
    """The 95% interval of the delta (candidate - champion) for a loss from `low_loss` to `high_loss`."""
    direction = DIRECTIONS[params.task][params.gate.metric]
    return compare.Interval(*sorted((-low_loss * direction, -high_loss * direction)), paired=True)


def test_a_loss_beyond_the_tolerance_that_the_interval_does_not_establish_is_inconclusive(params):
    allowed = params.gate.allowed_loss(0.5)
    verdict = gate.verdict(
        params,
        diff(params, 0.5, 0.5 + worse_by(params, 3 * allowed)),
        interval=interval(params, -allowed, 5 * allowed),
        rows=100,
    )
    assert (verdict.state, verdict.passed) == (gate.INCONCLUSIVE, False)  # gate.inconclusive: block
    assert "worse than the champion" not in verdict.reason
    assert "does not establish a loss beyond the tolerance" in verdict.reason
    # the half-width 3 * allowed must shrink to the gap 2 * allowed: (3/2)^2 = 2.25 times the rows
    assert "About 120 more test rows (about 220 in all, now 100) would decide it." in verdict.reason
    assert "gate.inconclusive: block stops the merge" in verdict.reason


def test_inconclusive_passes_when_params_say_so(params):
    lenient = replace(params, gate=replace(params.gate, blocks_inconclusive=False))
    allowed = params.gate.allowed_loss(0.5)
    verdict = gate.verdict(
        lenient,
        diff(params, 0.5, 0.5 + worse_by(params, 3 * allowed)),
        interval=interval(params, -allowed, 5 * allowed),
        rows=100,
    )
    assert (verdict.state, verdict.passed) == (gate.INCONCLUSIVE, True)
    assert "gate.inconclusive: pass lets it merge" in verdict.reason


def test_a_loss_the_whole_interval_puts_beyond_the_tolerance_fails(params):
    allowed = params.gate.allowed_loss(0.5)
    verdict = gate.verdict(
        params,
        diff(params, 0.5, 0.5 + worse_by(params, 3 * allowed)),
        interval=interval(params, 2 * allowed, 4 * allowed),
        rows=100,
    )
    assert (verdict.state, verdict.passed) == (gate.FAILED, False)
    assert f"worse than the champion by {3 * allowed:.4f}" in verdict.reason


def test_a_candidate_the_whole_interval_calls_better_is_called_better(params):
    """Today's report called a candidate better by +0.33 "within the tolerance of the champion"."""
    verdict = gate.verdict(
        params,
        diff(params, 0.5, 0.5 - worse_by(params, 0.2)),
        interval=interval(params, -0.3, -0.1),
        rows=100,
    )
    assert (verdict.state, verdict.passed) == (gate.PASSED, True)
    assert "is better than the champion" in verdict.reason


def test_a_better_point_estimate_the_interval_does_not_establish_is_not_called_better(params):
    verdict = gate.verdict(
        params,
        diff(params, 0.5, 0.5 - worse_by(params, 0.001)),
        interval=interval(params, -0.2, 0.002 + params.gate.allowed_loss(0.5)),
        rows=100,
    )
    assert (verdict.state, verdict.passed) == (gate.PASSED, True)
    assert "better" not in verdict.reason
    assert "within the tolerance" in verdict.reason


@pytest.mark.parametrize("side", ["champion", "candidate"])
def test_a_metric_that_is_not_a_number_fails_the_gate_and_says_whose(params, side):
    """roc_auc on test rows of one class is NaN, and every comparison with NaN is false: it passed as "within the
    tolerance" (and the headline said so) before."""
    old, new = (math.nan, 0.5) if side == "champion" else (0.5, math.nan)
    verdict = gate.verdict(params, diff(params, old, new))
    assert (verdict.passed, verdict.outcome) == (False, gate.FAILED)
    assert verdict.reason.startswith(
        f"the {side}'s {params.gate.metric} is nan, not a number the gate can compare"
    )


def test_an_interval_that_is_not_a_number_fails_the_gate(params):
    undefined = compare.Interval(math.nan, math.nan, paired=True)
    verdict = gate.verdict(params, diff(params, 0.5, 0.5), interval=undefined, rows=500)
    assert (verdict.passed, verdict.outcome) == (False, gate.FAILED)
    assert (
        verdict.reason
        == f"the 95% interval of the {params.gate.metric} delta is undefined (nan to nan): it fails"
    )


@pytest.fixture
def champion_commit(params):
    """A base commit whose reports/metrics.json gives the champion 0.5 on the gate's metric."""
    paths.METRICS.parent.mkdir(parents=True, exist_ok=True)
    write_metrics(params, 0.5)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", str(paths.METRICS)], check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "champion"], check=True
    )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def write_metrics(params, value: float) -> None:
    paths.METRICS.write_text(json.dumps({params.gate.metric: value}))


def write_report(settings, commit: str, state: str, reason: str) -> None:
    """reports/report.json as `make report` writes it, on the metrics.json at hand, judged by `settings`."""
    summary = {
        "base_sha": commit,
        "gate": state,
        "gate_reason": reason,
        "metrics": gate.candidate_metrics(gate.metrics_diff(commit)),
        "gate_settings": gate.settings(settings),
    }
    paths.REPORT_SUMMARY.write_text(json.dumps(summary))


def test_the_report_s_verdict_holds_while_the_metrics_and_the_gate_are_unchanged(
    params, champion_commit, capsys
):
    write_metrics(params, 0.5)  # within the tolerance: judged again, it would pass
    write_report(params, champion_commit, "fail", "the report's interval says worse")
    assert gate.run(params, champion_commit) == 1
    assert capsys.readouterr().out == "gate FAILED: the report's interval says worse\n"


def test_metrics_written_again_after_the_report_are_judged_again(params, champion_commit, capsys):
    """`make gate` passed on the verdict of a report written before `dvc repro` made the model far worse."""
    write_metrics(params, 0.5)
    write_report(params, champion_commit, "pass", "within the tolerance")
    write_metrics(params, 0.5 + worse_by(params, 0.3))
    assert gate.run(params, champion_commit) == 1
    assert capsys.readouterr().out.startswith(f"gate FAILED: {params.gate.metric} 0.5000 -> ")


def test_a_gate_changed_after_the_report_is_judged_again(params, champion_commit, capsys):
    loss = 3 * params.gate.allowed_loss(0.5)
    write_metrics(params, 0.5 + worse_by(params, loss))
    lenient = replace(params, gate=replace(params.gate, tolerance=10 * loss, relative=False))
    write_report(lenient, champion_commit, "pass", "within the tolerance")
    assert gate.run(lenient, champion_commit) == 0
    assert gate.run(params, champion_commit) == 1
    assert "more than the tolerance" in capsys.readouterr().out


def test_a_report_json_that_is_not_json_is_judged_again(params, champion_commit, capsys):
    write_metrics(params, 0.5)
    paths.REPORT_SUMMARY.write_text("{not json")
    assert gate.run(params, champion_commit) == 0
    assert capsys.readouterr().out.startswith("gate passed: ")


def test_a_metrics_file_that_is_not_json_is_one_clear_error(params, champion_commit):
    paths.METRICS.write_text("{not json")
    with pytest.raises(
        UserError, match=r"^reports/metrics.json is not a JSON object of metric names and values$"
    ):
        gate.run(params, champion_commit)
