"""The bootstrap interval of a metric delta: exact where it must be, and in line with a plain bootstrap loop."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops import metrics
from ml_gitops.review import compare


def classification(rows, noise, seed):
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(0).integers(0, 2, rows)
    score = np.clip(truth * 0.5 + 0.25 + rng.normal(0, noise, rows), 0, 1)
    frame = pd.DataFrame({"y_true": truth, "y_pred": (score > 0.5).astype(int)})
    return frame.assign(proba_0=1 - score, proba_1=score)


def regression(rows, noise, seed):
    truth = np.random.default_rng(0).normal(100, 20, rows)
    prediction = truth + np.random.default_rng(seed).normal(0, noise, rows)
    return pd.DataFrame({"y_true": truth, "y_pred": prediction})


MAKERS = {"classification": classification, "regression": regression}


@pytest.mark.parametrize("task", MAKERS)
def test_identical_models_have_a_zero_interval(task):
    frame = MAKERS[task](300, 0.3 if task == "classification" else 10, seed=1)
    intervals = compare.delta_intervals(task, frame, frame.copy())
    assert set(intervals) == set(metrics.DIRECTIONS[task])
    for interval in intervals.values():
        assert interval.paired
        assert interval.low == pytest.approx(0, abs=1e-12)
        assert interval.high == pytest.approx(0, abs=1e-12)


def plain_metrics(task, frame):
    """Reference values from scikit-learn, independent of the project's own metric code."""
    from sklearn import metrics as reference

    if task == "classification":
        return {
            "roc_auc": reference.roc_auc_score(frame["y_true"], frame["proba_1"]),
            "accuracy": reference.accuracy_score(frame["y_true"], frame["y_pred"]),
        }
    return {
        "rmse": reference.root_mean_squared_error(frame["y_true"], frame["y_pred"]),
        "mae": reference.mean_absolute_error(frame["y_true"], frame["y_pred"]),
    }


@pytest.mark.parametrize("task", MAKERS)
def test_interval_agrees_with_a_plain_bootstrap_loop(task):
    noise = (0.25, 0.35) if task == "classification" else (10, 13)
    champion, candidate = (MAKERS[task](400, n, seed) for n, seed in zip(noise, (1, 2), strict=True))
    fast = compare.delta_intervals(task, champion, candidate, seed=3)
    rng = np.random.default_rng(4)
    deltas = {name: [] for name in plain_metrics(task, champion)}
    for _ in range(500):
        rows = rng.integers(0, len(champion), len(champion))
        before = plain_metrics(task, champion.iloc[rows])
        after = plain_metrics(task, candidate.iloc[rows])
        for name in deltas:
            deltas[name].append(after[name] - before[name])
    for name, values in deltas.items():
        low, high = np.percentile(values, [2.5, 97.5])
        spread = high - low
        assert fast[name].low == pytest.approx(low, abs=0.25 * spread), name
        assert fast[name].high == pytest.approx(high, abs=0.25 * spread), name
        point = plain_metrics(task, candidate)[name] - plain_metrics(task, champion)[name]
        assert fast[name].low <= point <= fast[name].high, name


def test_changed_test_set_is_compared_unpaired():
    champion = classification(200, 0.3, seed=1)
    candidate = classification(200, 0.3, seed=2).set_axis(range(1000, 1200))
    intervals = compare.delta_intervals("classification", champion, candidate)
    assert not intervals["accuracy"].paired


def test_large_test_sets_are_grouped_not_resampled_row_by_row():
    champion = regression(50_000, 10, seed=1)
    candidate = regression(50_000, 10, seed=2)
    interval = compare.delta_intervals("regression", champion, candidate)["rmse"]
    assert interval.low < 0 < interval.high  # the same noise level: no real difference


@pytest.mark.parametrize("task", MAKERS)
def test_an_interval_asked_for_alone_is_the_one_computed_with_the_others(task):
    frame = MAKERS[task](5_000, 0.3 if task == "classification" else 10, seed=1)  # more rows than groups
    weights = compare.group_weights(seed=2)
    together = compare.metric_intervals(task, frame, weights=weights)
    for name, interval in together.items():
        assert compare.metric_intervals(task, frame, weights=weights, names=[name]) == {name: interval}


def test_resampled_counts_are_exact_in_float32():
    weights = compare.group_weights(seed=0)
    counts = np.random.default_rng(1).integers(0, 500, (compare.GROUPS, 256)).astype(float)
    assert np.array_equal(compare._resample(weights, counts), weights @ counts)
    fractions = counts / 7  # not counts: float64 as ever
    assert np.array_equal(compare._resample(weights, fractions), weights @ fractions)
