"""The trusted verdict: the gate computed again from the candidate's number, the champion's committed one and the
default branch's gate settings; a run that did not succeed never passes, whatever its artifact says; a refused
artifact still gets a failing status."""

import argparse
import json
from pathlib import Path

import pytest

from ml_gitops import UserError
from ml_gitops.core import paths
from ml_gitops.metrics import DIRECTIONS
from ml_gitops.review import artifact, inputs, verdict
from ml_gitops.review.commands import run_check_artifact

HEAD = "a" * 40


CHAMPION_MODEL = "c" * 32  # the model's md5 in dvc.lock


def champion(params, value):
    """The champion committed on the default branch: its metrics, and its model in dvc.lock."""
    paths.METRICS.parent.mkdir(parents=True, exist_ok=True)
    paths.METRICS.write_text(json.dumps({params.gate.metric: value}))
    lock = {"stages": {"train": {"outs": [{"path": str(paths.MODEL), "md5": CHAMPION_MODEL}]}}}
    Path("dvc.lock").write_text(json.dumps(lock))


def worse_by(params, value, amount):
    return value - amount * DIRECTIONS[params.task][params.gate.metric]


def report(metrics: dict, **fields) -> dict:
    return {"metrics": metrics, "champion_model": CHAMPION_MODEL, **fields}


def test_a_candidate_within_the_default_branch_tolerance_passes(params):
    champion(params, 0.9)
    passed, detail = verdict.gate_again(
        report({params.gate.metric: worse_by(params, 0.9, params.gate.allowed_loss(0.9) / 2)})
    )
    assert passed
    assert "passes" in detail
    assert "params.yaml on the default branch" in detail


def test_a_candidate_beyond_it_fails_whatever_the_pull_request_says(params):
    champion(params, 0.9)
    passed, detail = verdict.gate_again(
        report({params.gate.metric: worse_by(params, 0.9, params.gate.allowed_loss(0.9) * 10)})
    )
    assert not passed
    assert "fails" in detail


def test_a_champion_scored_again_on_a_changed_test_set_is_the_one_compared(params):
    champion(params, 0.9)  # committed, on the old test set
    rescored = worse_by(params, 0.9, 1)  # on the new one, the champion does much worse
    candidate = worse_by(params, rescored, params.gate.allowed_loss(rescored) / 2)
    summary = report(
        {params.gate.metric: candidate},
        comparison=artifact.RESCORED,
        champion_metrics={params.gate.metric: rescored},
    )
    passed, detail = verdict.gate_again(summary)
    assert passed
    assert f"the {artifact.RESCORED}) passes" in detail


def artifact_claims(params, monkeypatch, **fields) -> None:
    """A champion of 0.9 on the default branch, and a checked artifact whose report.json says `fields`, for a pull
    request that changes params.yaml."""
    champion(params, 0.9)
    summary = {
        "pull_request": 7,
        "head_sha": HEAD,
        "model_inputs_changed": True,
        "metrics": {params.gate.metric: 0.9},
        **fields,
    }
    monkeypatch.setattr(artifact, "check_artifact", lambda directory, sha: summary)
    monkeypatch.setattr(inputs, "changed_in_pull_request", lambda number: ["params.yaml"])


@pytest.mark.parametrize("why", artifact.NOT_COMPARABLE)
def test_a_report_that_cannot_compare_gets_neither_pass_nor_fail_but_what_to_do(
    params, monkeypatch, tmp_path, why
):
    artifact_claims(params, monkeypatch, gate="not comparable", comparison=why)
    decided = verdict.decide(tmp_path, HEAD, "success")
    assert (decided.state, decided.description) == ("failure", f"Not comparable with the champion: {why}")
    assert "bypass list" in decided.detail


def test_a_report_without_the_gate_metric_fails(params):
    champion(params, 0.9)
    passed, detail = verdict.gate_again(report({"something_else": 1.0}))
    assert not passed
    assert f"gives no {params.gate.metric}" in detail


@pytest.fixture
def claimed_pass(params, monkeypatch, tmp_path):
    """An artifact claiming `gate: pass` for a pull request that changes params.yaml."""
    artifact_claims(params, monkeypatch, gate="pass")
    return tmp_path


def test_a_pass_from_a_run_that_failed_is_a_failure(claimed_pass):
    decided = verdict.decide(claimed_pass, HEAD, "failure")
    assert (decided.state, decided.description) == ("failure", "The model-pr run failed")


def test_a_pass_from_a_run_that_succeeded_is_checked_again(claimed_pass):
    decided = verdict.decide(claimed_pass, HEAD, "success")
    assert decided.state == "success"
    assert "default branch" in decided.detail


def test_a_refused_artifact_still_gets_a_failing_verdict(tmp_path):
    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "report.md").write_text("<img src=https://example.com/p.png>\n")
    args = argparse.Namespace(
        directory=tmp_path / "artifact",
        head_sha=HEAD,
        run_conclusion="success",
        verdict=tmp_path / "verdict.json",
    )
    with pytest.raises(UserError) as refusal:
        run_check_artifact(args)
    decided = verdict.read(args.verdict)
    assert (decided.head_sha, decided.state, decided.comment) == (HEAD, "failure", False)
    assert decided.description == f"The report was refused: {refusal.value}"[:140]


def test_an_inconclusive_gate_blocks_the_merge_with_that_reason(params, monkeypatch, tmp_path):
    """The trusted side judges the report's interval again: a loss beyond the tolerance that the interval does not
    establish is inconclusive, which the default gate.inconclusive (block) turns into a failing status."""
    allowed = params.gate.allowed_loss(0.9)
    direction = DIRECTIONS[params.task][params.gate.metric]
    low, high = sorted((allowed * direction, -5 * allowed * direction))
    artifact_claims(
        params,
        monkeypatch,
        gate="pass",
        interval={"metric": params.gate.metric, "low": low, "high": high},
        judged_rows=80,
        champion_metrics={params.gate.metric: 0.9},
    )
    monkeypatch.setitem(
        artifact.check_artifact(tmp_path, HEAD)["metrics"],
        params.gate.metric,
        worse_by(params, 0.9, 2 * allowed),
    )
    decided = verdict.decide(tmp_path, HEAD, "success")
    assert (decided.state, decided.outcome) == ("failure", "inconclusive")
    assert (
        decided.description == "The gate is inconclusive, which blocks the merge (gate.inconclusive: block)"
    )
    assert "is inconclusive and blocks the merge" in decided.detail
    assert "on 80 rows" in decided.detail


def test_an_interval_measured_against_another_champion_does_not_judge_this_one(params):
    """Another pull request merged a better champion (0.9) after this one's base (0.8): the report's interval, of
    the delta against 0.8, called a clear loss against 0.9 inconclusive, and gate.inconclusive: pass merged it."""
    loss = 5 * params.gate.allowed_loss(0.9)
    candidate = worse_by(params, 0.9, loss)
    champion(params, 0.9)
    base = worse_by(
        params, 0.9, loss
    )  # the champion the pull request's run compared with: the candidate's equal
    allowed = params.gate.allowed_loss(base)
    summary = report(
        {params.gate.metric: candidate},
        comparison=artifact.SAME_ROWS,
        champion_metrics={params.gate.metric: base},
        interval={"metric": params.gate.metric, "low": -allowed, "high": allowed},
        judged_rows=5000,
    )
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert " fails: " in detail
    assert "the report's interval was measured against another champion" in detail


def test_an_interval_of_another_metric_does_not_judge_the_gate_s(params):
    """A pull request that changes gate.metric reports the interval of its own metric; the trusted side judged the
    default branch's metric with it."""
    champion(params, 0.9)
    allowed = params.gate.allowed_loss(0.9)
    summary = report(
        {params.gate.metric: worse_by(params, 0.9, 5 * allowed)},
        comparison=artifact.SAME_ROWS,
        champion_metrics={params.gate.metric: 0.9},
        interval={"metric": "another", "low": -allowed, "high": allowed},
        judged_rows=5000,
    )
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert " fails: " in detail
    assert "95% interval" not in detail


def test_numbers_of_a_champion_the_default_branch_no_longer_has_fail_closed(params):
    """Scored again on a changed test set, the champion's number is the report's: of the champion at the pull
    request's base, which another merge may have replaced."""
    champion(params, 0.9)
    summary = report(
        {params.gate.metric: 0.9},
        comparison=artifact.RESCORED,
        champion_metrics={params.gate.metric: 0.9},
        champion_model="d" * 32,
    )
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert detail.startswith(
        "The report compared the candidate with another champion than the one on the default"
    )
    assert verdict.gate_again(summary | {"champion_model": CHAMPION_MODEL})[0]


def test_a_champion_scored_again_is_compared_with_the_candidate_on_the_same_rows(params):
    """The candidate's own metric covers all its test rows; the champion's only those it never trained on: the
    gate compares the candidate on those rows too."""
    champion(params, 0.9)
    on_all_rows = worse_by(params, 0.9, 10 * params.gate.allowed_loss(0.9))
    summary = report(
        {params.gate.metric: on_all_rows},
        comparison=artifact.RESCORED,
        champion_metrics={params.gate.metric: 0.9},
        compared_metrics={params.gate.metric: 0.9},
    )
    passed, detail = verdict.gate_again(summary)
    assert passed
    assert f"{params.gate.metric} 0.9000 -> 0.9000" in detail


def test_a_pull_request_s_own_bins_cannot_hide_the_default_branch_s_segments(params):
    """The run measures with the pull request's params.yaml: one bin over every row hides the band where the
    candidate is worse. The trusted side checks the segments are the default branch's ranges, and fails closed."""
    from test_segments import two_models, with_segments

    from ml_gitops import metrics
    from ml_gitops.review import segments

    old, new, values = two_models(params.task)
    values = values.assign(band=values["region"].map({"north": 10, "south": 40, "east": 60, "west": 80}))
    own = with_segments(params, {"band": {"bins": [0]}})  # the pull request's: one range, ">= 0"
    measured = segments.measure(own, new, old, segments.labels(own, values))
    main = with_segments(
        params, {"band": {"bins": [30, 50, 70]}}
    )  # the default branch's, read by the trusted side
    champion(params, metrics.compute(params.task, old)[main.gate.metric])
    summary = report(
        metrics.compute(params.task, new), segments=segments.to_summary(main.gate.metric, measured)
    )

    passed, detail = verdict.gate_again(summary)

    assert not passed
    assert detail.startswith(
        "The report cuts 'band' into a segment '>= 0' that the bins params.yaml on the default"
    )
