"""How sure are we that the candidate differs from the champion? A bootstrap interval of each metric's delta.

Paired when both models scored the same test rows (each resample picks the same rows for both), unpaired
otherwise. Vectorised: rows fall into at most GROUPS random groups (one row per group for small test sets);
each metric is a function of per-group sums, so 1,000 resamples are one matrix product, whatever the row count.
A classifier's sums are counts: each group's confusion matrix and score histograms, one bincount each.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..metrics import DIRECTIONS, probability_columns

GROUPS = 2000
SEGMENT_MIN_GROUPS = 200  # a segment's bootstrap resamples at least this many groups (or each of its rows)
RESAMPLES = 1000
MAX_SCORE_BINS = 256
FLOAT32_EXACT = 2**24  # every integer below it is a float32, so sums of counts below it are exact
STATISTICS = {  # what each metric is computed from (a prefix for the per-class histograms)
    "accuracy": ("n", "correct"),
    "balanced_accuracy": ("class_correct", "class_count"),
    "f1": ("tp", "fp", "fn"),
    "log_loss": ("n", "neg_log_p"),
    "roc_auc": ("positive_hist_", "negative_hist_"),
    "rmse": ("n", "sse"),
    "mae": ("n", "sae"),
    "r2": ("n", "sse", "sy", "syy"),
}


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    paired: bool


def delta_intervals(
    task: str, champion: pd.DataFrame, candidate: pd.DataFrame, seed: int = 0
) -> dict[str, Interval]:
    """95% percentile bootstrap interval of `candidate - champion` for every metric that supports it."""
    rng = np.random.default_rng(seed)
    paired = same_rows(champion, candidate)
    champion_draw = _draw(len(champion), rng)
    candidate_draw = champion_draw if paired else _draw(len(candidate), rng)
    champion_sums = _resampled_sums(task, champion, *champion_draw)
    candidate_sums = _resampled_sums(task, candidate, *candidate_draw)
    intervals = {}
    for name in DIRECTIONS[task]:
        before, after = champion_sums.metric(name), candidate_sums.metric(name)
        if before is None or after is None:
            continue
        low, high = np.nanpercentile(after - before, [2.5, 97.5])
        intervals[name] = Interval(float(low), float(high), paired)
    return intervals


def same_rows(champion: pd.DataFrame, candidate: pd.DataFrame) -> bool:
    """Whether both models scored the same test rows, with the same true values as text: then they can be
    paired. Numbers of one NumPy type are compared as numbers, and categoricals of the same categories in the same
    order by their codes, which says the same without writing them out."""
    if not champion.index.equals(candidate.index):
        return False
    before, after = champion["y_true"], candidate["y_true"]
    if _same_categories_in_order(before, after):
        return np.array_equal(before.cat.codes.to_numpy(), after.cat.codes.to_numpy())
    if before.dtype == after.dtype and isinstance(before.dtype, np.dtype) and before.dtype.kind in "biuf":
        return _same_numbers(before.to_numpy(), after.to_numpy())
    return before.astype(str).equals(after.astype(str))


def _same_categories_in_order(before: pd.Series, after: pd.Series) -> bool:
    """Whether both are categoricals whose codes mean the same categories. Not dtype equality: pandas calls two
    unordered categoricals equal whatever the order of their categories, and then one code means two labels."""
    both = isinstance(before.dtype, pd.CategoricalDtype) and isinstance(after.dtype, pd.CategoricalDtype)
    return both and before.dtype == after.dtype and before.cat.categories.equals(after.cat.categories)


def _same_numbers(before: np.ndarray, after: np.ndarray) -> bool:
    """Equal as text: equal values, NaN as NaN, and zero's sign kept ("-0.0" is not "0.0")."""
    if before.dtype.kind != "f":
        return np.array_equal(before, after)
    if not np.array_equal(before, after, equal_nan=True):
        return False
    zeros = before == 0
    return np.array_equal(np.signbit(before[zeros]), np.signbit(after[zeros]))


def metric_intervals(
    task: str,
    predictions: pd.DataFrame,
    seed: int = 0,
    weights: np.ndarray | None = None,
    names: list[str] | None = None,
) -> dict[str, Interval]:
    """95% percentile bootstrap interval of every metric (or those in `names`) of one model on its test set.
    `weights` (from `group_weights`) may be shared by many calls: the draws of group counts are the costly part."""
    names = list(DIRECTIONS[task]) if names is None else names
    draw = _draw(len(predictions), np.random.default_rng(seed), weights)
    sums = _resampled_sums(task, predictions, *draw, needed={s for n in names for s in STATISTICS[n]})
    intervals = {}
    for name in names:
        values = sums.metric(name)
        if values is not None:
            low, high = np.nanpercentile(values, [2.5, 97.5])
            intervals[name] = Interval(float(low), float(high), paired=False)
    return intervals


def segment_delta_intervals(
    task: str,
    champion: pd.DataFrame,
    candidate: pd.DataFrame,
    codes: np.ndarray,
    metric: str,
    seed: int = 0,
    level: float = 0.95,
    segments: int | None = None,
) -> list[Interval | None]:
    """The `level` percentile bootstrap interval of `candidate - champion` in `metric` on each segment's rows, for
    all segments at once: `codes` gives each row's segment (0 to segments - 1; negative: none). None for a segment
    without rows or whose metric is undefined in every resample (one class only, for roc_auc).

    Each segment's rows fall into its own random groups, as many as segment_groups allows (one row per group for a
    small segment); each resample picks that many of the segment's groups, for every segment in one draw and one
    batched matrix product. Paired as delta_intervals pairs."""
    segments = int(np.max(codes, initial=-1)) + 1 if segments is None else segments
    return columns_delta_intervals(task, champion, candidate, [(codes, segments)], metric, seed, level)[0]


def columns_delta_intervals(
    task: str,
    champion: pd.DataFrame,
    candidate: pd.DataFrame,
    columns: list[tuple[np.ndarray, int]],
    metric: str,
    seed: int = 0,
    level: float = 0.95,
    orders: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> list[list[Interval | None]]:
    """segment_delta_intervals of the segments of each column (its codes and its number of segments), the same
    intervals: each column drawn from its own generator seeded `seed`, each model's rows read once for all.
    `orders`: each model's rows by increasing score (metrics.score_order), when the caller has sorted them.
    Paired, a roc_auc's delta in each resample comes from one product for both models (_resampled_auc with two
    tables): the difference of two exact counts divided once, within rounding (1e-12) of the difference of the two
    models' resampled roc_auc, not the same floats."""
    paired = same_rows(champion, candidate)
    before, after = (
        _Rows.of(task, frame, metric, order)
        for frame, order in zip((champion, candidate), orders, strict=True)
    )
    found = []
    for codes, segments in columns:
        codes = np.asarray(codes).astype(np.int16 if segments < 2**15 else np.intp)  # small: sorted by radix
        rng = np.random.default_rng(seed)
        champion_draw = _segment_draw(codes, segments, rng)
        candidate_draw = champion_draw if paired else _segment_draw(codes, segments, rng)
        if paired:
            deltas = after.paired_delta(before, champion_draw)
        else:
            deltas = after.segment_metric(candidate_draw) - before.segment_metric(champion_draw)
        found.append(_percentile_intervals(deltas, level, paired))
    return found


def _percentile_intervals(deltas: np.ndarray, level: float, paired: bool) -> list[Interval | None]:
    """Each segment's `level` percentile interval of its resampled deltas (a row of `deltas` each)."""
    tail = (1 - level) / 2 * 100
    intervals: list[Interval | None] = []
    for row in deltas:
        known = row[~np.isnan(row)]  # a resample of one class has no roc_auc
        low, high = np.percentile(known, [tail, 100 - tail]) if len(known) else (np.nan, np.nan)
        intervals.append(Interval(float(low), float(high), paired) if len(known) else None)
    return intervals


def segment_groups(rows: np.ndarray) -> np.ndarray:
    """How many row groups each segment's bootstrap resamples, from its rows: GROUPS shared out among the
    segments with rows, at least SEGMENT_MIN_GROUPS each, never more than its rows (one row per group)."""
    share = max(SEGMENT_MIN_GROUPS, GROUPS // max(np.count_nonzero(rows), 1))
    return np.minimum(rows, share)


@dataclass
class _SegmentDraw:
    """Each row's group as segment * width + its group in the segment (-1: no segment), and how often each
    resample picks each group of each segment: shapes (rows,) and (segments, RESAMPLES, width), where width is
    the most groups of a segment, the counts of a segment's groups beyond its own being 0."""

    membership: np.ndarray
    weights32: np.ndarray  # the counts, as float32 (exact: at most width)
    groups: np.ndarray  # each segment's groups: the sum of each of its resamples' counts

    @cached_property
    def weights(self) -> np.ndarray:
        return self.weights32.astype(np.float64)

    def resample_counts(self, table: np.ndarray) -> np.ndarray:
        """`weights @ table` for a table of counts per group (segments, width, k): in float32 (half the time) when
        that is exact, no sum reaching 2**24, else in float64; exact either way (use it as float64)."""
        exact32 = table.max(initial=0) * self.groups.max(initial=0) < FLOAT32_EXACT
        weights = self.weights32 if exact32 else self.weights
        return weights @ table.astype(weights.dtype)


def _segment_draw(codes: np.ndarray, segments: int, rng: np.random.Generator) -> _SegmentDraw:
    """Random groups of each segment's rows, and each resample's picks of them (see _SegmentDraw): the picks of
    one segment after another, as one draw of shape (segments, RESAMPLES, width) gives them."""
    inside = codes >= 0
    rows = np.bincount(codes[inside], minlength=segments)
    groups = segment_groups(rows)
    width = max(int(groups.max(initial=0)), 1)
    shuffled = rng.permutation(np.flatnonzero(inside))
    shuffled = shuffled[np.argsort(codes[shuffled], kind="stable")]  # by segment, randomly within one
    dealt = [
        segment * width + np.arange(count) % max(groups[segment], 1) for segment, count in enumerate(rows)
    ]
    membership = np.full(len(codes), -1, dtype=np.intp)
    membership[shuffled] = np.concatenate(dealt) if dealt else []  # each segment's rows dealt to its groups
    weights = np.empty((segments, RESAMPLES, width), dtype=np.float32)
    starts = (np.arange(RESAMPLES) * width)[:, None]
    for segment, count in enumerate(groups):
        picks = rng.random((RESAMPLES, width))
        picks *= count
        cells = picks.astype(np.intp)[:, :count] + starts  # a segment picks as many groups as it has
        weights[segment] = np.bincount(cells.ravel(), minlength=RESAMPLES * width).reshape(RESAMPLES, width)
    return _SegmentDraw(membership, weights, groups)


@dataclass(frozen=True)
class _Rows:
    """One model's rows as a segment bootstrap of `metric` reads them, whatever the segments: the per-row values
    it sums, and for a classifier each row's (true, predicted) class pair and the scores of roc_auc's classes, each
    with its rows in increasing order of it."""

    task: str
    metric: str
    per_row: dict[str, np.ndarray]  # regression: the statistics; classification: neg_log_p (log_loss)
    pairs: np.ndarray | None = None  # true class * size + predicted class (the confusion matrix's cell)
    size: int = 0
    scores: tuple[
        tuple[np.ndarray, np.ndarray, np.ndarray], ...
    ] = ()  # per class: its scores sorted, whether
    # each of those rows is of the class, and their rows
    classes: tuple[str, ...] = ()  # the class of each of `scores`, as text

    @classmethod
    def of(
        cls, task: str, predictions: pd.DataFrame, metric: str, order: np.ndarray | None = None
    ) -> "_Rows":
        """`order`: a binary classifier's rows by increasing score of its positive class, when already sorted."""
        needed = set(STATISTICS[metric])
        if task == "regression":
            per_row = {
                name: values for name, values in _regression_stats(predictions).items() if name in needed
            }
            return cls(task, metric, per_row)
        columns = probability_columns(predictions)
        labels = [column.removeprefix("proba_") for column in columns]
        actual = class_index(predictions["y_true"], labels)
        size = len(labels) + 1
        per_row, pairs, scores, classes = {}, None, [], []
        if "neg_log_p" in needed:
            probability = _probability_of(predictions[columns].to_numpy(float), actual)
            per_row["neg_log_p"] = -np.log(np.clip(probability, 1e-15, 1))
        if "positive_hist_" in needed:
            binary = len(labels) == 2
            for k in [len(labels) - 1] if binary else range(len(labels)):
                score = predictions[columns[k]].to_numpy(float)
                if order is None or not binary:
                    order = np.argsort(score)  # tied scores share a bin: their order does not matter
                scores.append((score[order], (actual == k)[order], order))
                classes.append(labels[k])
        else:
            pairs = actual * size + class_index(predictions["y_pred"], labels)
        return cls(task, metric, per_row, pairs, size, tuple(scores), tuple(classes))

    def auc_tables(self, draw: _SegmentDraw) -> list[np.ndarray]:
        """Each roc_auc class's _auc_table of the draw's groups."""
        segments, _, width = draw.weights32.shape
        return [
            _auc_table(score, positive, draw.membership[order], width, segments * width)
            for score, positive, order in self.scores
        ]

    def paired_delta(self, other: "_Rows", draw: _SegmentDraw) -> np.ndarray:
        """This model's metric minus `other`'s in each resample of each segment, both on the same rows with the same
        truth and draw: shape (segments, RESAMPLES). A roc_auc's delta from one product for both (_resampled_auc),
        each class's table paired with the other model's of the same class, whatever the order of their columns; the
        difference of both models' roc_auc when their classes differ (a binary one's positive class among them)."""
        if not self.scores or sorted(self.classes) != sorted(other.classes):
            return self.segment_metric(draw) - other.segment_metric(draw)
        segments, resamples, _ = draw.weights32.shape
        theirs = dict(zip(other.classes, other.auc_tables(draw), strict=True))
        per_class = [
            _resampled_auc(draw, mine, theirs[label])
            for label, mine in zip(self.classes, self.auc_tables(draw), strict=True)
        ]
        return np.mean(per_class, axis=0).reshape(segments, resamples)

    def segment_metric(self, draw: _SegmentDraw) -> np.ndarray:
        """The metric in each resample of each segment: shape (segments, RESAMPLES)."""
        segments, resamples, width = draw.weights32.shape
        kept = draw.membership >= 0
        cells = segments * width
        grouped = {
            name: np.bincount(draw.membership[kept], values[kept], cells).reshape(segments, width, 1)
            for name, values in self.per_row.items()
        }
        if self.task == "regression":
            stats = _resample(draw.weights, grouped)
        elif self.scores:
            per_class = [_resampled_auc(draw, table) for table in self.auc_tables(draw)]
            return np.mean(per_class, axis=0).reshape(segments, resamples)
        else:
            confusion = np.bincount(
                (draw.membership * self.size**2 + self.pairs)[kept], minlength=cells * self.size**2
            )
            resampled = draw.resample_counts(confusion.reshape(segments, width, -1)).astype(np.float64)
            stats = _classification_stats({"confusion": resampled.reshape(segments * resamples, -1)})
            if "neg_log_p" in grouped:
                stats["neg_log_p"] = draw.weights @ grouped["neg_log_p"]
        flat = {name: values.reshape(segments * resamples, -1) for name, values in stats.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            values = _Sums(flat, self.task).metric(self.metric)
        return np.asarray(values, dtype=float).reshape(segments, resamples)


def _auc_table(
    score: np.ndarray, positive: np.ndarray, membership: np.ndarray, width: int, cells: int
) -> np.ndarray:
    """Per group, what its resamples' roc_auc is summed from: the score bins of its positive rows, twice the
    negatives below each bin plus those in it, and its positives and negatives; each segment's bins cut from its
    own scores (as _score_histograms cuts them), padded to the most bins of a segment: shape (cells, 2 * bins + 2).
    The rows by increasing score: their scores, whether each is positive, and its group (see _SegmentDraw)."""
    kept = membership >= 0
    if not kept.all():
        score, positive, membership = score[kept], positive[kept], membership[kept]
    segment = membership // width
    by_segment = np.argsort(segment.astype(np.int16 if cells < 2**15 else np.intp), kind="stable")
    score, positive, membership = score[by_segment], positive[by_segment], membership[by_segment]
    ends = np.cumsum(np.bincount(segment, minlength=cells // width))  # where each segment's rows end
    bins = np.empty(len(score), dtype=np.intp)
    count = 1
    for start, end in zip(np.r_[0, ends[:-1]], ends, strict=True):
        if end > start:
            bins[start:end], used = sorted_score_bins(score[start:end])
            count = max(count, used)
    cells_of = (membership * 2 + positive) * count + bins
    histograms = np.bincount(cells_of, minlength=cells * 2 * count).reshape(cells, 2, count)
    negative, positive_bins = histograms[:, 0], histograms[:, 1]
    below_twice = 2 * np.cumsum(negative, axis=1) - negative
    totals = [positive_bins.sum(axis=1, keepdims=True), negative.sum(axis=1, keepdims=True)]
    return np.concatenate([positive_bins, below_twice, *totals], axis=1)


def _resampled_auc(draw: _SegmentDraw, table: np.ndarray, other: np.ndarray | None = None) -> np.ndarray:
    """Each resample's roc_auc from its groups' _auc_table: P(score of a positive > score of a negative), ties
    counted half, as _auc_from_histograms counts it (every sum an exact integer or half): shape (segments *
    RESAMPLES,). A resample's wins are w' M w, w its counts of groups and M the wins of each group's positives over
    each group's negatives: the smaller product when groups are fewer than bins.

    With `other`, the table of another model on the same rows (the same truth, so the same positives and negatives
    in every resample): the roc_auc of `table` minus that of `other`, from w' (M - M_other) w, one product for both
    (the difference of two exact counts divided once: within rounding of the difference of the two roc_aucs)."""
    segments, resamples, width = draw.weights32.shape
    tables = [t.reshape(segments, width, -1) for t in ([table] if other is None else [table, other])]
    bins = [(t.shape[2] - 2) // 2 for t in tables]
    totals = draw.resample_counts(tables[0][..., 2 * bins[0] :]).astype(np.float64)
    positives, negatives = totals[..., 0].reshape(-1), totals[..., 1].reshape(-1)
    if width < 2 * min(bins):
        wins = [_wins(t, count) for t, count in zip(tables, bins, strict=True)]
        # each sum of a resample's w' M is at most its positives times the most negatives below a bin
        below = max(t[..., count : 2 * count].max(initial=0) for t, count in zip(tables, bins, strict=True))
        largest = max(positives.max(initial=0) * below, *(w.max(initial=0) for w in wins))
        weights = draw.weights32 if largest < FLOAT32_EXACT else draw.weights
        matrix = wins[0] if other is None else wins[0] - wins[1]  # exact: small integers
        half = weights @ matrix.astype(weights.dtype)
        wins_twice = np.einsum("srh,srh->sr", weights, half, dtype=np.float64).reshape(-1)
    else:
        resampled = [
            draw.resample_counts(t[..., : 2 * count]).reshape(segments * resamples, -1)
            for t, count in zip(tables, bins, strict=True)
        ]
        each = [
            np.einsum("ij,ij->i", r[:, :count], r[:, count:], dtype=np.float64)
            for r, count in zip(resampled, bins, strict=True)
        ]
        wins_twice = each[0] if other is None else each[0] - each[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return wins_twice / 2 / (positives * negatives)


def _wins(table: np.ndarray, bins: int) -> np.ndarray:
    """Per segment, twice the wins of each group's positives over each group's negatives (ties once): the product
    of the positives' bins and the negatives below them, in float32 when that is exact (each sum at most a group's
    positives times the most negatives below a bin), else in float64."""
    positive_bins, below_twice = table[..., :bins], table[..., bins : 2 * bins]
    largest = positive_bins.sum(axis=-1).max(initial=0) * below_twice.max(initial=0)
    dtype = np.float32 if largest < FLOAT32_EXACT else np.float64
    wins = positive_bins.astype(dtype) @ below_twice.astype(dtype).transpose(0, 2, 1)
    return wins.astype(np.float64)


@dataclass
class _Sums:
    """Bootstrap replicates of the sufficient statistics of every metric: arrays of shape (RESAMPLES, k)."""

    stats: dict[str, np.ndarray]
    task: str

    def metric(self, name: str) -> np.ndarray | None:
        s = self.stats
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.task == "regression":
                n = s["n"][:, 0]
                if name == "mae":
                    return s["sae"][:, 0] / n
                sse = s["sse"][:, 0]
                return (
                    np.sqrt(sse / n)
                    if name == "rmse"
                    else 1 - sse / (s["syy"][:, 0] - s["sy"][:, 0] ** 2 / n)
                )
            if name == "accuracy":
                return s["correct"][:, 0] / s["n"][:, 0]
            if name == "balanced_accuracy":
                return np.nanmean(s["class_correct"] / s["class_count"], axis=1)
            if name == "f1":
                tp, fp, fn = s["tp"], s["fp"], s["fn"]
                f1 = 2 * tp / (2 * tp + fp + fn)
                return f1[:, -1] if tp.shape[1] == 2 else np.nanmean(f1, axis=1)
            if name == "log_loss":
                return s["neg_log_p"][:, 0] / s["n"][:, 0]
            # roc_auc, binary: the positive class; multiclass: the mean of each class against the rest
            if name == "roc_auc":
                classes = [
                    key.removeprefix("positive_hist_") for key in s if key.startswith("positive_hist_")
                ]
                per_class = [
                    _auc_from_histograms(s[f"positive_hist_{k}"], s[f"negative_hist_{k}"]) for k in classes
                ]
                return np.mean(per_class, axis=0)
        return None


def group_weights(seed: int = 0, groups: int = GROUPS) -> np.ndarray:
    """How often each resample picks each of `groups` row groups: shape (RESAMPLES, groups)."""
    return _group_counts(np.random.default_rng(seed), groups)


def _group_counts(rng: np.random.Generator, groups: int) -> np.ndarray:
    """Each resample picks `groups` groups uniformly with replacement: multinomial counts, drawn as picks (a
    quarter of the time of numpy's multinomial, which draws group after group)."""
    picks = rng.integers(0, groups, size=(RESAMPLES, groups)) + groups * np.arange(RESAMPLES)[:, None]
    counts = np.bincount(picks.ravel(), minlength=RESAMPLES * groups)
    return counts.reshape(RESAMPLES, groups).astype(np.float64)


def _draw(
    rows: int, rng: np.random.Generator, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Random row groups, and how often each resample picks each group: shapes (rows,) and (RESAMPLES, groups)."""
    groups = min(rows, GROUPS)
    membership = rng.permutation(rows) % groups
    if weights is None or weights.shape[1] != groups:
        weights = _group_counts(rng, groups)
    return membership, weights


def _resampled_sums(
    task: str,
    predictions: pd.DataFrame,
    membership: np.ndarray,
    weights: np.ndarray,
    needed: set[str] | None = None,
) -> _Sums:
    groups = weights.shape[1]
    if task == "regression":
        per_row = _regression_stats(predictions)
        if needed is not None:
            per_row = {name: values for name, values in per_row.items() if name in needed}
        grouped = {name: np.bincount(membership, values, groups)[:, None] for name, values in per_row.items()}
        return _Sums(_resample(weights, grouped), task)
    counts, neg_log_p = _classification_groups(predictions, membership, groups, needed)
    stats = _classification_stats(_resample(weights, counts))
    if neg_log_p is not None:
        stats["neg_log_p"] = weights @ neg_log_p
    return _Sums(stats, task)


def _resample(weights: np.ndarray, tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`weights @ table` for every table, in one matrix product (a batch of them: one per segment, when weights
    and tables have a leading segment axis). In float32 (half the time) when that is exact:
    counts resampled by counts, no sum reaching 2**24 (a resample's weights sum to the number of groups)."""
    together = np.concatenate(list(tables.values()), axis=-1)
    counts = np.array_equal(together, np.round(together)) and np.array_equal(weights, np.round(weights))
    largest = np.abs(together).max(initial=0) * np.abs(weights).sum(axis=-1).max(initial=0)
    if counts and largest < FLOAT32_EXACT:
        resampled = (weights.astype(np.float32) @ together.astype(np.float32)).astype(np.float64)
    else:
        resampled = weights @ together
    ends = np.cumsum([table.shape[-1] for table in tables.values()])[:-1]
    return dict(zip(tables, np.split(resampled, ends, axis=-1), strict=True))


def _regression_stats(predictions: pd.DataFrame) -> dict[str, np.ndarray]:
    actual = predictions["y_true"].to_numpy(float)
    error = predictions["y_pred"].to_numpy(float) - actual
    return {
        "n": np.ones_like(actual),
        "sse": error**2,
        "sae": np.abs(error),
        "sy": actual,
        "syy": actual**2,
    }


def _classification_groups(
    predictions: pd.DataFrame, membership: np.ndarray, groups: int, needed: set[str] | None
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Per group: its confusion matrix (classes and 'no class' both ways, flattened), the score histograms of
    each class's positive and negative rows (roc_auc), and the sum of -log p(true class) (log_loss)."""
    columns = probability_columns(predictions)
    labels = [column.removeprefix("proba_") for column in columns]
    actual = class_index(predictions["y_true"], labels)
    predicted = class_index(predictions["y_pred"], labels)
    size = len(labels) + 1
    cells = np.bincount(membership * size**2 + actual * size + predicted, minlength=groups * size**2)
    counts = {"confusion": cells.reshape(groups, size**2)}
    if needed is None or "positive_hist_" in needed:
        for k in [len(labels) - 1] if len(labels) == 2 else range(len(labels)):
            score = predictions[columns[k]].to_numpy(float)
            counts[f"hist_{k}"] = _score_histograms(score, actual == k, membership, groups)
    neg_log_p = None
    if needed is None or "neg_log_p" in needed:
        probability = _probability_of(predictions[columns].to_numpy(float), actual)
        neg_log_p = np.bincount(membership, -np.log(np.clip(probability, 1e-15, 1)), groups)[:, None]
    return counts, neg_log_p


def class_index(values: pd.Series, labels: list[str]) -> np.ndarray:
    """Each row's class as its position in `labels`, matched as text (3 and "3" are one class); len(labels) for a
    value of no label, a missing one included. Only the distinct values are written out as text."""
    codes, distinct = pd.factorize(values)  # a missing value's code is -1
    position = {label: i for i, label in enumerate(labels)}
    texts = pd.Series(distinct, dtype=values.dtype).astype(str)
    lookup = np.array([position.get(text, len(labels)) for text in texts] + [len(labels)], dtype=np.intp)
    return lookup[codes]


def _probability_of(proba: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Each row's probability of its true class (0 when its class has no column)."""
    known = actual < proba.shape[1]
    picked = np.take_along_axis(proba, np.where(known, actual, 0)[:, None], axis=1)[:, 0]
    return np.where(known, picked, 0.0)


def _classification_stats(counts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every classification statistic of each resample, from its resampled confusion matrix and histograms."""
    confusion = counts.pop("confusion")
    size = int(round(np.sqrt(confusion.shape[1])))
    matrix = confusion.reshape(len(confusion), size, size)[:, : size - 1]  # rows: a true class (not 'none')
    diagonal = np.diagonal(matrix[:, :, : size - 1], axis1=1, axis2=2)
    true_count = matrix.sum(axis=2)
    predicted_count = confusion.reshape(len(confusion), size, size)[:, :, : size - 1].sum(axis=1)
    stats = {
        "n": confusion.sum(axis=1, keepdims=True),
        "correct": diagonal.sum(axis=1, keepdims=True),
        "class_correct": diagonal,
        "class_count": true_count,
        "tp": diagonal,
        "fp": predicted_count - diagonal,
        "fn": true_count - diagonal,
    }
    for name, table in counts.items():
        k, half = name.removeprefix("hist_"), table.shape[1] // 2
        stats[f"negative_hist_{k}"], stats[f"positive_hist_{k}"] = table[:, :half], table[:, half:]
    return stats


def _score_histograms(
    score: np.ndarray, positive: np.ndarray, membership: np.ndarray, groups: int
) -> np.ndarray:
    """Per group, the score bins of its negative rows then of its positive ones: shape (groups, 2 * bins)."""
    order = np.argsort(score)
    bins, count = sorted_score_bins(score[order])
    cells = (membership[order] * 2 + positive[order]) * count + bins
    return np.bincount(cells, minlength=groups * 2 * count).reshape(groups, 2 * count)


def sorted_score_bins(ordered: np.ndarray) -> tuple[np.ndarray, int]:
    """The bin of each of the sorted scores, and how many bins: one per distinct score when there are few, else
    bins between quantiles (a score equal to an edge is above it)."""
    first = _first_of_each_value(ordered)
    if np.count_nonzero(first) <= MAX_SCORE_BINS:
        return np.cumsum(first) - 1, int(np.count_nonzero(first))
    edges = np.unique(sorted_quantiles(ordered, np.linspace(0, 1, MAX_SCORE_BINS + 1)[1:-1]))
    starts = np.searchsorted(ordered, edges, side="left")  # where the scores reach each edge
    sizes = np.diff(np.r_[0, starts, len(ordered)])
    return np.repeat(np.arange(len(edges) + 1), sizes), len(edges) + 1


def sorted_quantiles(ordered: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """np.quantile(ordered, quantiles) of sorted values (NaNs last), the same floats, without numpy partitioning
    them again: its default method's (linear) interpolation between the two values about each quantile, step by
    step as numpy takes it (a quantile at or past the last value is the last value; a NaN makes every one NaN)."""
    virtual = (len(ordered) - 1) * quantiles
    previous = np.floor(virtual)
    following = previous + 1
    past = virtual >= len(ordered) - 1
    previous[past], following[past] = -1, -1
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    gamma = virtual - previous
    low, high = ordered[previous], ordered[following]
    step = high - low
    found = low + step * gamma
    np.subtract(high, step * (1 - gamma), out=found, where=gamma >= 0.5)
    if len(ordered) and np.isnan(ordered[-1]):
        found[:] = ordered[-1]
    return found


def _first_of_each_value(ordered: np.ndarray) -> np.ndarray:
    """Where each distinct value of a sorted array starts (NaNs, sorted last, count as one value)."""
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    if len(ordered) and np.isnan(ordered[-1]):
        nan = np.isnan(ordered)
        first[1:] &= ~(nan[1:] & nan[:-1])
    return first


def _auc_from_histograms(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """P(score of a positive > score of a negative), ties counted half, from per-bin counts."""
    negatives_below = np.cumsum(negative, axis=1) - negative
    wins = (positive * (negatives_below + 0.5 * negative)).sum(axis=1)
    return wins / (positive.sum(axis=1) * negative.sum(axis=1))
