"""The per-segment numbers, computed for every segment at once (classes coded and scores sorted once, one draw and
one batched product a column), are the straightforward computation's on each segment's rows: metrics.compute on
the rows themselves, and the overall bootstrap's sums on them with the same draw. Every task and gate metric, and
the segments that take other paths: one class, no positive at all, one or two rows, none, rows of no segment,
unscorable rows (a class of no column, a missing probability or prediction)."""

import contextlib
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml
from fixture_model.pipeline import TASK

from ml_gitops import metrics
from ml_gitops.core import config, paths
from ml_gitops.review import compare, segments

METRICS = list(metrics.DIRECTIONS[TASK])
ROWS = 4000
EMPTY = 7  # a group code no row has
COLUMNS = ("plan", "region")


def binary(rng, text, ties):
    truth = rng.integers(0, 2, ROWS)
    score = np.clip(truth * 0.3 + rng.random(ROWS) * 0.7, 0, 1)
    score = np.round(score, 1) if ties else score
    names = np.array(["no", "yes"] if text else [0, 1])
    frame = pd.DataFrame({"y_true": names[truth], "y_pred": names[(score > 0.5).astype(int)]})
    return frame.assign(**{f"proba_{names[0]}": 1 - score, f"proba_{names[1]}": score})


def multiclass(rng, text, ties):
    truth = rng.integers(0, 3, ROWS)
    logits = rng.normal(0, 1.2, (ROWS, 3))
    logits[np.arange(ROWS), truth] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if ties:  # few distinct probabilities, still summing to 1
        proba = np.round(proba, 1)
        proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    names = np.array(["a", "b", "c"] if text else [0, 1, 2])
    frame = pd.DataFrame({"y_true": names[truth], "y_pred": names[proba.argmax(axis=1)]})
    return frame.assign(**{f"proba_{name}": proba[:, k] for k, name in enumerate(names)})


def regression(rng, text, ties):
    truth = rng.normal(100, 20, ROWS)
    prediction = truth + rng.normal(0, 10, ROWS)
    return pd.DataFrame({"y_true": np.round(truth) if ties else truth, "y_pred": prediction})


MODELS = (
    {"binary": binary, "multiclass": multiclass} if TASK == "classification" else {"regression": regression}
)
KINDS = [(kind, text, ties) for kind in MODELS for text, ties in ((False, False), (True, True))]


def predictions(kind, text, ties, seed):
    """A model's predictions (an index that is not positions) and two groupings of their rows, with the groups
    that take other paths (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    frame = MODELS[kind](rng, text, ties)
    frame.index = pd.Index(np.arange(ROWS) * 3 + 11)
    codes = np.array([rng.integers(0, 5, ROWS), rng.integers(0, 3, ROWS)])
    codes[:, :300] = -1  # rows of no group
    codes[0, 300] = 5  # one row
    codes[0, 301:303] = 6  # two rows
    unscorable = frame.index[310:315]  # in group 2 of the second grouping, and 2 or 3 of the first
    codes[:, 310:315] = [[2, 2, 2, 3, 3], [2] * 5]
    truth, rest = frame["y_true"], np.arange(ROWS) >= 400
    if kind != "regression":
        first = truth.iloc[0]
        codes[1, np.flatnonzero(rest & (truth == first).to_numpy())[:150]] = 3  # one true class
        neither = rest & (truth != first).to_numpy() & (frame["y_pred"] != first).to_numpy()
        codes[1, np.flatnonzero(neither)[:120]] = (
            4  # binary: no positive, true or predicted (first: positive)
        )
        frame.loc[unscorable[:3], "y_pred"] = "a class of no column" if text else 9
        frame.loc[unscorable[3:], frame.columns[-1]] = np.nan
    else:
        same = np.flatnonzero(rest)[:100]
        frame.loc[frame.index[same], "y_true"] = 5.0
        codes[0, same] = 3  # a constant truth: r2 as compute says it
        frame.loc[unscorable[3:], "y_pred"] = np.nan
    return frame, codes


def straightforward(task, frame, name, codes, groups):
    """compute on each group's rows, taken out of the frame; nan where compute refuses them."""
    found = np.full((len(codes), groups), np.nan)
    for i, grouping in enumerate(codes):
        for group in range(groups):
            rows = np.flatnonzero(grouping == group)
            if len(rows):
                with contextlib.suppress(ValueError):
                    found[i, group] = metrics.compute(task, frame.iloc[rows], [name])[name]
    return found


@pytest.mark.parametrize(("kind", "text", "ties"), KINDS)
@pytest.mark.parametrize("name", METRICS)
def test_each_group_s_metric_is_compute_s_on_its_rows(kind, text, ties, name):
    frame, codes = predictions(kind, text, ties, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = metrics.compute_groups(TASK, frame, name, codes, EMPTY + 1)
        expected = straightforward(TASK, frame, name, codes, EMPTY + 1)
    assert np.isnan(got[0, EMPTY])
    assert np.isfinite(got).sum() >= 6, "most groups have a number"
    wrong = [
        (i, g, got[i, g], expected[i, g]) for i, g in np.ndindex(got.shape) if got[i, g] != expected[i, g]
    ]
    assert [row for row in wrong if not (np.isnan(row[2]) and np.isnan(row[3]))] == []


@pytest.mark.parametrize("name", METRICS)
def test_measure_scores_each_segment_as_score_does_on_its_rows(params, name):
    """Through the module's own labels: text values, a missing one, and the champion's rows as the candidate's."""
    raw = yaml.safe_load(paths.PARAMS.read_text())
    raw["segments"] = {
        "columns": dict.fromkeys(COLUMNS, {}),
        "min_rows": ROWS + 1,
    }  # none judged: no bootstrap
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    settings = config.load()
    settings = replace(settings, gate=replace(settings.gate, metric=name))
    kind, text, ties = KINDS[1]
    candidate, codes = predictions(kind, text, ties, seed=2)
    champion, _ = predictions(kind, text, ties, seed=3)
    champion.index = candidate.index
    values = pd.DataFrame(
        {
            column: np.where(grouping < 0, None, grouping.astype(str))
            for column, grouping in zip(COLUMNS, codes, strict=True)
        },
        index=candidate.index,
    )
    shown = segments.labels(settings, values)
    found = segments.measure(settings, candidate, champion, shown)
    assert [(s.column, s.value) for s in found] == [
        (column, value)
        for column in COLUMNS
        for value in shown[column].cat.categories
        if (shown[column] == value).any()
    ]
    for segment in found:
        rows = np.flatnonzero((shown[segment.column] == segment.value).to_numpy())
        assert segment.rows == len(rows)
        assert segment.candidate == segments.score(TASK, candidate.iloc[rows], name), segment
        assert segment.champion == segments.score(TASK, champion.iloc[rows], name), segment
    assert any(segment.value == segments.MISSING for segment in found)


@pytest.mark.parametrize(("kind", "text", "ties"), KINDS[:1] + KINDS[-1:])
@pytest.mark.parametrize("name", METRICS)
def test_each_segment_s_resamples_are_the_overall_bootstrap_s_on_its_rows_with_the_same_draw(
    kind, text, ties, name
):
    """The overall bootstrap's sums (_resampled_sums, one segment's rows and its own groups and picks) give the same
    metric in every resample: the same floats where they are counts, within rounding where the sums are floats
    (the products are shaped differently)."""
    frame, codes = predictions(kind, text, ties, seed=4)
    grouping = codes[0].astype(np.int16)
    segments_count = int(grouping.max()) + 1
    draw = compare._segment_draw(grouping, segments_count, np.random.default_rng(5))
    got = compare._Rows.of(TASK, frame, name).segment_metric(draw)
    width = draw.weights.shape[2]
    exact = name not in ("log_loss", "rmse", "mae", "r2")
    needed = set(compare.STATISTICS[name])
    for segment in range(segments_count):
        rows = np.flatnonzero(grouping == segment)
        groups = int(draw.groups[segment])
        weights = draw.weights[segment, :, :groups]
        sums = compare._resampled_sums(
            TASK, frame.iloc[rows], draw.membership[rows] - segment * width, weights, needed
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.asarray(sums.metric(name), dtype=float)
        if exact:
            assert np.array_equal(got[segment], expected, equal_nan=True), (name, segment)
        else:
            assert np.allclose(got[segment], expected, rtol=1e-12, atol=0, equal_nan=True), (name, segment)


@pytest.mark.parametrize("name", METRICS)
def test_the_columns_bootstrapped_together_have_the_intervals_each_has_alone(name):
    kind, text, ties = KINDS[0]
    champion, codes = predictions(kind, text, ties, seed=6)
    candidate, _ = predictions(kind, text, ties, seed=7)
    candidate["y_true"] = champion["y_true"]  # paired
    columns = [(codes[0], EMPTY + 1), (codes[1], 5)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = compare.columns_delta_intervals(
            TASK, champion, candidate, columns, name, seed=3, level=0.99
        )
        alone = [
            compare.segment_delta_intervals(TASK, champion, candidate, grouping, name, 3, 0.99, count)
            for grouping, count in columns
        ]
    assert together == alone
    assert sum(interval is not None for interval in together[0]) >= 4


def test_the_draw_is_one_draw_of_every_segment_s_groups_and_picks():
    """Drawn a segment at a time, as the straightforward draw of them all at once gives them: the rows shuffled,
    dealt in turn to their segment's groups, then every segment's picks in one array (a segment of fewer rows than
    the widest picks only its own groups; one without rows, none)."""
    rng = np.random.default_rng(8)
    codes = rng.choice([0, 1, 2, 4], ROWS, p=[0.6, 0.3, 0.08, 0.02]).astype(np.int16)
    codes[:50] = -1  # no segment
    draw = compare._segment_draw(codes, 5, np.random.default_rng(9))

    rng = np.random.default_rng(9)
    rows = np.bincount(codes[codes >= 0], minlength=5)
    groups = compare.segment_groups(rows)
    width = groups.max()
    shuffled = rng.permutation(np.flatnonzero(codes >= 0))
    shuffled = shuffled[np.argsort(codes[shuffled], kind="stable")]
    own = codes[shuffled].astype(int)
    rank = np.arange(len(shuffled)) - np.r_[0, np.cumsum(rows)[:-1]][own]
    membership = np.full(ROWS, -1)
    membership[shuffled] = own * width + rank % groups[own]
    picks = (rng.random((5, compare.RESAMPLES, width)) * groups[:, None, None]).astype(int)
    weights = np.zeros((5, compare.RESAMPLES, width))
    segment, resample, pick = np.nonzero(
        np.broadcast_to(np.arange(width) < groups[:, None, None], picks.shape)
    )
    np.add.at(weights, (segment, resample, picks[segment, resample, pick]), 1)

    assert 0 < groups[2] < width
    assert groups[3] == 0
    assert np.array_equal(draw.membership, membership)
    assert np.array_equal(draw.weights, weights)


@pytest.mark.skipif(TASK != "classification", reason="a classifier's roc_auc")
@pytest.mark.parametrize(("kind", "text", "ties"), KINDS)
def test_a_paired_roc_auc_delta_from_one_product_is_the_difference_of_both_models_roc_auc(kind, text, ties):
    """The paired bootstrap's roc_auc delta, w' (M_candidate - M_champion) w over the resample's positives times
    negatives (one product for both models), is each model's resampled roc_auc's difference within rounding, in
    every resample of every segment: small segments (counts resampled directly) and large ones (w' M w), ties or
    none, models whose scores fall in different numbers of bins."""
    champion, codes = predictions(kind, text, ties, seed=10)
    candidate, _ = predictions(kind, text, not ties, seed=11)
    candidate["y_true"] = champion["y_true"]
    grouping = codes[0].astype(np.int16)
    draw = compare._segment_draw(grouping, EMPTY + 1, np.random.default_rng(12))
    before, after = (compare._Rows.of(TASK, frame, "roc_auc") for frame in (champion, candidate))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = after.segment_metric(draw) - before.segment_metric(draw)
        got = after.paired_delta(before, draw)
    assert np.isfinite(expected).sum() > 1000
    assert np.allclose(got, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
