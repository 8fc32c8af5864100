"""The gate's verdict: which metric, by how much, against which tolerance."""

import pytest

from {{ cookiecutter.module_name }} import UserError
from {{ cookiecutter.module_name }}.pipeline.metrics import DIRECTIONS
from {{ cookiecutter.module_name }}.review import gate


def diff(params, old, new):
    return {params.gate.metric: {"old": old, "new": new}}


def worse_by(params, amount):
    return -amount * DIRECTIONS[params.task][params.gate.metric]


def test_candidate_within_tolerance_passes(params):
    verdict = gate.verdict(params, diff(params, 0.5, 0.5 + worse_by(params, params.gate.tolerance / 2)))
    assert verdict.passed
    assert f"within the tolerance {params.gate.tolerance}" in verdict.reason


def test_better_candidate_passes(params):
    assert gate.verdict(params, diff(params, 0.5, 0.5 - worse_by(params, 0.2))).passed


def test_regression_beyond_tolerance_fails_and_says_by_how_much(params):
    verdict = gate.verdict(params, diff(params, 0.5, 0.5 + worse_by(params, 3 * params.gate.tolerance)))
    assert not verdict.passed
    assert verdict.reason.startswith(f"{params.gate.metric} 0.5000 -> ")
    assert f"worse than the champion by {3 * params.gate.tolerance:.4f}" in verdict.reason
    assert f"more than the tolerance {params.gate.tolerance}" in verdict.reason


def test_first_model_passes_and_says_so(params):
    verdict = gate.verdict(params, diff(params, None, 0.9))
    assert verdict.passed
    assert "this is the first model" in verdict.reason


def test_missing_candidate_metric_is_a_clear_error(params):
    with pytest.raises(UserError, match="run dvc repro before the gate"):
        gate.verdict(params, {})
