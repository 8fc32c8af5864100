"""The bootstrap interval of a metric delta: exact where it must be, and in line with a plain bootstrap loop."""

import numpy as np
import pandas as pd
import pytest

from ml_gitops import metrics
from ml_gitops.review import compare

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


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
    assert np.array_equal(compare._resample(weights, {"counts": counts})["counts"], weights @ counts)
    fractions = counts / 7  # not counts: float64 as ever
    assert np.array_equal(
        compare._resample(weights, {"fractions": fractions})["fractions"], weights @ fractions
    )


def weighted_reference(task, frame, weights):
    """scikit-learn's metrics of one resample: each row weighted by how often the resample picked its group."""
    from sklearn import metrics as reference

    truth, predicted = frame["y_true"].astype(str), frame["y_pred"].astype(str)
    if task == "regression":
        actual, prediction = frame["y_true"], frame["y_pred"]
        return {
            "rmse": reference.root_mean_squared_error(actual, prediction, sample_weight=weights),
            "mae": reference.mean_absolute_error(actual, prediction, sample_weight=weights),
            "r2": reference.r2_score(actual, prediction, sample_weight=weights),
        }
    columns = metrics.probability_columns(frame)
    labels = [column.removeprefix("proba_") for column in columns]
    in_order = np.argsort(labels)
    proba = frame[columns].to_numpy()[:, in_order]
    binary = len(labels) == 2
    return {
        "roc_auc": (
            reference.roc_auc_score(truth == labels[-1], frame[columns[-1]], sample_weight=weights)
            if binary
            else reference.roc_auc_score(truth, proba, multi_class="ovr", sample_weight=weights)
        ),
        "accuracy": reference.accuracy_score(truth, predicted, sample_weight=weights),
        "balanced_accuracy": reference.balanced_accuracy_score(truth, predicted, sample_weight=weights),
        "f1": (
            reference.f1_score(truth, predicted, pos_label=labels[-1], sample_weight=weights)
            if binary
            else reference.f1_score(truth, predicted, average="macro", sample_weight=weights)
        ),
        "log_loss": reference.log_loss(truth, proba, labels=sorted(labels), sample_weight=weights),
    }


def tied_classes(rows, classes, seed):
    """Text classes (the first written last as the positive one when binary) with few distinct scores: ties."""
    rng = np.random.default_rng(seed)
    truth = np.random.default_rng(0).integers(0, classes, rows)
    proba = rng.dirichlet(np.ones(classes), rows)
    proba[np.arange(rows), truth] += 0.4
    proba = np.round(proba / proba.sum(axis=1, keepdims=True), 2)
    proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    names = np.array([f"class {k}" for k in range(classes)])
    frame = pd.DataFrame({"y_true": names[truth], "y_pred": names[proba.argmax(axis=1)]})
    order = [*range(1, classes), 0] if classes == 2 else range(classes)
    return frame.assign(**{f"proba_{names[k]}": proba[:, k] for k in order})


@pytest.mark.parametrize(
    ("task", "make"),
    [
        ("classification", lambda seed: tied_classes(5_000, 2, seed)),
        ("classification", lambda seed: tied_classes(5_000, 3, seed)),
        ("classification", lambda seed: tied_classes(1_000, 2, seed)),
        ("regression", lambda seed: regression(5_000, 10, seed)),
    ],
    ids=["binary, tied scores", "three classes, tied scores", "binary, rows below groups", "regression"],
)
def test_each_resample_is_scikit_learn_s_metric_with_rows_weighted_by_their_group_s_draws(task, make):
    """Every bootstrap replicate equals scikit-learn's metric of the test set weighted by how often the resample
    drew each row's group (exact score bins: fewer distinct scores than MAX_SCORE_BINS)."""
    frame = make(1)
    membership, weights = compare._draw(len(frame), np.random.default_rng(2))
    resamples = weights[:25]
    sums = compare._resampled_sums(task, frame, membership, resamples)
    for row, resample in enumerate(resamples):
        expected = weighted_reference(task, frame, resample[membership])
        for name, value in expected.items():
            assert sums.metric(name)[row] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, row)


def test_group_draws_are_uniform_multinomial_counts():
    weights = compare.group_weights(seed=5, groups=400)
    assert weights.shape == (compare.RESAMPLES, 400)
    assert (weights.sum(axis=1) == 400).all()
    assert np.array_equal(weights, np.round(weights))
    assert weights.min() >= 0
    # Multinomial(n, 1/n): each count has mean 1 and variance 1 - 1/n; counts of two groups correlate at -1/(n-1)
    assert weights.mean() == pytest.approx(1, abs=1e-12)
    assert weights.var() == pytest.approx(1 - 1 / 400, rel=0.01)
    assert np.corrcoef(weights[:, 0], weights[:, 1])[0, 1] == pytest.approx(0, abs=0.1)
    assert not np.array_equal(weights, compare.group_weights(seed=6, groups=400))
    assert np.array_equal(weights, compare.group_weights(seed=5, groups=400))


@pytest.mark.parametrize("task", MAKERS)
def test_intervals_agree_with_a_bootstrap_of_numpy_s_multinomial_draws(task):
    """The group draws (picks counted by bincount) give the intervals a textbook multinomial draw gives."""
    noise = (0.25, 0.3) if task == "classification" else (10, 11)
    champion, candidate = (MAKERS[task](20_000, n, seed) for n, seed in zip(noise, (1, 2), strict=True))
    ours = compare.delta_intervals(task, champion, candidate, seed=7)
    rng = np.random.default_rng(8)
    membership = rng.permutation(len(champion)) % compare.GROUPS
    reference = rng.multinomial(
        compare.GROUPS, np.full(compare.GROUPS, 1 / compare.GROUPS), size=compare.RESAMPLES
    ).astype(float)
    before, after = (compare._resampled_sums(task, f, membership, reference) for f in (champion, candidate))
    for name, interval in ours.items():
        low, high = np.nanpercentile(after.metric(name) - before.metric(name), [2.5, 97.5])
        assert interval.low == pytest.approx(low, abs=0.1 * (high - low)), name
        assert interval.high == pytest.approx(high, abs=0.1 * (high - low)), name


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        ([0, 1, 1], [0, 1, 1], True),
        ([0, 1, 1], [0, 1, 0], False),
        ([0, 1, 1], ["0", "1", "1"], True),  # text and numbers: compared as text, as ever
        ([0.5, np.nan, 2.0], [0.5, np.nan, 2.0], True),
        ([0.5, np.nan, 2.0], [0.5, 1.0, 2.0], False),
        ([0.0, 1.0], [-0.0, 1.0], False),  # "-0.0" is not "0.0"
        ([1, 2], [1.0, 2.0], False),  # "1" is not "1.0"
        ([True, False], [True, False], True),
        (["a", None], ["a", None], True),
    ],
)
def test_same_rows_compares_true_values_as_text(before, after, same):
    champion, candidate = pd.DataFrame({"y_true": before}), pd.DataFrame({"y_true": after})
    assert compare.same_rows(champion, candidate) is same
    assert champion["y_true"].astype(str).equals(candidate["y_true"].astype(str)) is same


def test_same_rows_reads_categories_by_label_not_by_code():
    """pandas calls two unordered categoricals of the same categories equal in any order: a label flipped with the
    order of the categories keeps its code, yet it is another label."""
    champion = pd.DataFrame({"y_true": pd.Categorical(["a", "b", "a"], categories=["a", "b"])})
    flipped = pd.DataFrame({"y_true": pd.Categorical(["b", "a", "b"], categories=["b", "a"])})
    reordered = pd.DataFrame({"y_true": pd.Categorical(["a", "b", "a"], categories=["b", "a"])})
    assert champion["y_true"].dtype == flipped["y_true"].dtype
    assert not compare.same_rows(champion, flipped)
    assert compare.same_rows(champion, reordered)


def test_same_rows_needs_the_same_index():
    frame = pd.DataFrame({"y_true": [0, 1, 1]})
    assert not compare.same_rows(frame, frame.set_axis([1, 2, 3]))


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([3, 1, 2, 3, 7]),
        pd.Series(["3", "1", "x", None, "2"]),
        pd.Series([1.0, 3.0, np.nan, 2.0, 1.0]),
        pd.Series([True, False, True, True, False]),
        pd.Series([3, "1", 2.0, None, "3"], dtype=object),
        pd.Series(["2", "1", "3", "1", "9"], dtype="category"),
        pd.Series([1, 2, None, 3, 1], dtype="Int64"),
    ],
)
def test_class_index_matches_the_rows_labels_as_text(values):
    labels = ["1", "2", "3", "True", "1.0", "x"]
    expected = [labels.index(t) if t in labels else len(labels) for t in values.astype(str)]
    expected = [len(labels) if pd.isna(v) else e for v, e in zip(values, expected, strict=True)]
    assert compare.class_index(values, labels).tolist() == expected


@pytest.mark.parametrize(
    "score",
    [
        np.random.default_rng(3).random(50_000),
        np.round(np.random.default_rng(4).random(50_000), 3),  # ties, more distinct scores than bins
        np.round(np.random.default_rng(5).random(50_000), 2),  # 101 distinct scores: a bin each
        np.r_[np.zeros(30_000), np.random.default_rng(6).random(20_000)],  # a heavy tie at the bottom
    ],
    ids=["continuous", "three decimals", "two decimals", "mostly zero"],
)
def test_score_bins_are_the_distinct_scores_or_the_quantile_bins(score):
    ordered = np.sort(score)
    bins, count = compare.sorted_score_bins(ordered)
    distinct = np.unique(score)
    if len(distinct) <= compare.MAX_SCORE_BINS:
        expected = np.searchsorted(distinct, ordered)
        assert count == len(distinct)
    else:
        quantiles = np.linspace(0, 1, compare.MAX_SCORE_BINS + 1)[1:-1]
        edges = np.unique(np.quantile(score, quantiles))
        expected = np.searchsorted(edges, ordered, side="right")
        assert count == len(edges) + 1
    assert np.array_equal(bins, expected)


# Every segment of a column at once (review/segments.py): one draw, one batched product, each segment's own groups.


def multiclass(rows, noise, seed):
    truth = np.random.default_rng(0).integers(0, 3, rows)
    logits = np.random.default_rng(seed).normal(0, noise, (rows, 3))
    logits[np.arange(rows), truth] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"y_true": truth, "y_pred": proba.argmax(axis=1)})
    return frame.assign(**{f"proba_{k}": proba[:, k] for k in range(3)})


SEGMENTED = {
    "binary": ("classification", classification, (0.25, 0.35), ["roc_auc", "accuracy", "log_loss", "f1"]),
    "multiclass": ("classification", multiclass, (1.0, 1.4), ["roc_auc", "balanced_accuracy", "log_loss"]),
    "regression": ("regression", regression, (10, 13), ["rmse", "mae", "r2"]),
}
SIZES = (150, 700, 2150)  # one row per group; groups of 3.5 rows; groups of 10.75 rows (200 groups each)


@pytest.mark.parametrize("kind", SEGMENTED)
def test_each_segment_s_interval_agrees_with_delta_intervals_on_its_rows_alone(kind):
    """The same 95% interval, within bootstrap noise: each end of a 1,000-resample percentile interval has a
    standard error of about 2% of its width (sqrt(0.025 * 0.975 / 1000) / normal density at 1.96 = 0.085 sd, the
    width being 3.92 sd), their difference between two independent bootstraps about 3%, and 200 groups instead of
    rows add about 2.5% (the sd from 200 groups is within 5% of the rows'): 20% of the width is over 5 standard
    errors of both."""
    task, make, noise, names = SEGMENTED[kind]
    rows = sum(SIZES)
    champion, candidate = (make(rows, n, seed) for n, seed in zip(noise, (1, 2), strict=True))
    codes = np.random.default_rng(5).permutation(np.repeat(np.arange(len(SIZES)), SIZES))
    for name in names:
        together = compare.segment_delta_intervals(task, champion, candidate, codes, name, seed=3)
        for code in range(len(SIZES)):
            rows = codes == code
            alone = compare.delta_intervals(task, champion[rows], candidate[rows], seed=4)[name]
            width = alone.high - alone.low
            assert together[code].paired, name
            assert together[code].low == pytest.approx(alone.low, abs=0.2 * width), (name, code)
            assert together[code].high == pytest.approx(alone.high, abs=0.2 * width), (name, code)


def test_a_segment_s_interval_is_at_the_level_asked_for():
    """At 99%, the 0.5th and 99.5th percentiles of a plain row bootstrap of that segment (20% of the width: as
    above, each end's standard error at 99% being about 3.5% of the width)."""
    champion, candidate = regression(2400, 10, 1), regression(2400, 13, 2)
    codes = np.repeat([0, 1], 1200)
    level = 1 - 0.05 / 5
    got = compare.segment_delta_intervals("regression", champion, candidate, codes, "mae", 3, level)[1]
    error = [(frame["y_pred"] - frame["y_true"]).abs().to_numpy()[1200:] for frame in (champion, candidate)]
    rows = np.random.default_rng(4).integers(0, 1200, (4000, 1200))
    deltas = error[1][rows].mean(axis=1) - error[0][rows].mean(axis=1)
    low, high = np.percentile(deltas, [0.5, 99.5])
    assert got.low == pytest.approx(low, abs=0.2 * (high - low))
    assert got.high == pytest.approx(high, abs=0.2 * (high - low))
    at_95 = compare.segment_delta_intervals("regression", champion, candidate, codes, "mae", 3)[1]
    assert got.low < at_95.low
    assert at_95.high < got.high


@pytest.mark.filterwarnings("ignore:All-NaN slice")  # delta_intervals' roc_auc of one class
def test_a_segment_of_one_class_has_no_roc_auc_interval_and_rows_of_no_segment_count_nowhere():
    champion, candidate = classification(900, 0.25, 1), classification(900, 0.35, 2)
    first = np.arange(900) < 450
    codes = np.where(first, 0, np.where(champion["y_true"] == 0, 1, -1))  # 1: class 0 only; -1: no segment
    found = compare.segment_delta_intervals(
        "classification", champion, candidate, codes, "roc_auc", segments=3
    )
    assert found[0] is not None
    assert found[1] is None
    assert found[2] is None
    accuracy = compare.segment_delta_intervals("classification", champion, candidate, codes, "accuracy")
    assert len(accuracy) == 2
    for code, rows in enumerate((first, codes == 1)):
        alone = compare.delta_intervals("classification", champion[rows], candidate[rows], seed=4)["accuracy"]
        width = alone.high - alone.low
        assert accuracy[code].low == pytest.approx(alone.low, abs=0.2 * width)
        assert accuracy[code].high == pytest.approx(alone.high, abs=0.2 * width)


@pytest.mark.parametrize("rows", [1, 2, 3, 257, 5000])
def test_quantiles_of_sorted_scores_are_numpy_s(rows):
    """The same floats as np.quantile, without its partition: distinct values, ties, a constant, NaNs sorted last,
    huge and tiny magnitudes."""
    rng = np.random.default_rng(rows)
    quantiles = np.linspace(0, 1, compare.MAX_SCORE_BINS + 1)[1:-1]
    cases = [
        rng.random(rows),
        np.round(rng.random(rows), 1),
        np.full(rows, 0.3),
        np.where(rng.random(rows) < 0.1, np.nan, rng.normal(0, 1e12, rows)),
        rng.random(rows) * 1e-300,
    ]
    for values in cases:
        ordered = np.sort(values)
        expected = np.quantile(ordered, quantiles)
        assert np.array_equal(compare.sorted_quantiles(ordered, quantiles), expected, equal_nan=True)


def classes_1_2_10(frame, as_text):
    """A multiclass frame's classes 0, 1, 2 as 1, 2, 10, or as "1", "2", "10" with their columns in the order text
    sorts them (a model's classes_ are sorted): "1", "10", "2"."""
    labels = ["1", "2", "10"]
    named = {k: label if as_text else int(label) for k, label in enumerate(labels)}
    renamed = frame[["y_true", "y_pred"]].apply(lambda column: column.map(named))
    order = sorted(range(3), key=lambda k: labels[k]) if as_text else range(3)
    return renamed.assign(**{f"proba_{labels[k]}": frame[f"proba_{k}"] for k in order})


def test_a_paired_multiclass_roc_auc_pairs_each_class_with_its_own_whatever_the_column_order():
    """The same true values as text, so paired: each class's table is the other model's of the same class, not the
    one in the same column. The same model differs by nothing; another by what it does with its columns in order."""
    champion, candidate = multiclass(1500, 1.0, 1), multiclass(1500, 1.4, 2)
    codes = np.random.default_rng(5).integers(0, 2, 1500)
    numbers = classes_1_2_10(champion, as_text=False)

    def intervals(after):
        return compare.segment_delta_intervals("classification", numbers, after, codes, "roc_auc")

    for interval in intervals(classes_1_2_10(champion, as_text=True)):
        assert interval.paired
        assert (interval.low, interval.high) == pytest.approx((0, 0), abs=1e-12)
    expected = intervals(classes_1_2_10(candidate, as_text=False))
    for got, same in zip(intervals(classes_1_2_10(candidate, as_text=True)), expected, strict=True):
        assert got.paired
        assert (got.low, got.high) == pytest.approx((same.low, same.high), abs=1e-12)
