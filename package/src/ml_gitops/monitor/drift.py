"""Data drift: is the current data still like the data the champion was trained on?

Each feature is compared with the champion's reference sample (data/prepared/reference.parquet). Numeric features
get the two-sample Kolmogorov-Smirnov test and the population stability index (PSI, ten bins at the reference's
deciles plus one for missing values; when values are missing, the chi-square test of their share joins the KS test,
Bonferroni-corrected); categorical ones get the chi-square test of their counts and the PSI over
their categories (a category never seen before counts; a code given as 3 or "3" is one category). Date columns
are not compared: new data is later by nature (the model reads their parts, which the predictions' drift
reflects). A feature drifts when its test is significant (p < drift.p_value) and its PSI is at least drift.psi:
with a million rows every shift is significant, so the PSI says whether it is large enough to matter. The data
drifts when at least drift.share of the features drift, or the target or the model's predictions do.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .. import UserError, project
from ..core import files
from ..core.config import Config
from ..review.markdown import text

BINS = 10
EPSILON = 1e-4  # stands in for an empty bin's share, so that the PSI stays finite
MISSING = "<missing>"
BLOCK = 64  # values of b searched together or skipped together (KS)
MARGIN = 1e-9  # far above float rounding: a block bounded this close to the largest gap found is searched


@dataclass(frozen=True)
class Result:
    """One column's comparison."""

    column: str
    kind: str  # numeric or categorical
    test: str  # ks or chi2
    statistic: float
    p_value: float
    psi: float
    drift: bool


def check(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    config: Config,
    predictions: tuple[pd.Series, pd.Series] | None = None,
) -> dict:
    """Compare every feature, and the target and the (reference, current) predictions where given; return the
    drift summary."""
    target = config.data.target
    features = feature_columns(reference, current, target)
    thresholds = config.drift
    roles, current = like_the_reference(reference, current, config)
    categorical, numeric = list(roles.categorical), list(roles.numeric)
    results = compare_numeric(reference[numeric], current[numeric], thresholds)
    results += [compare_categorical(reference[c], current[c], thresholds) for c in categorical]
    results.sort(key=lambda result: features.index(result.column))
    extra = {}
    if target in current.columns:
        extra["target"] = compare_series(reference[target], current[target], config, thresholds)
    if predictions is not None:
        named = (pd.Series(values, name="prediction") for values in predictions)
        extra["prediction"] = compare_series(*named, config, thresholds)
    drifted = [result.column for result in results if result.drift]
    share = len(drifted) / max(len(results), 1)
    return {
        "drift": share >= thresholds.share or any(result.drift for result in extra.values()),
        "drifted_features": drifted,
        "share": share,
        "thresholds": asdict(thresholds),
        "rows": {"reference": len(reference), "current": len(current)},
        "features": [asdict(result) for result in results],
        "dates_not_compared": list(roles.datetime),
        **{name: asdict(result) for name, result in extra.items()},
    }


def like_the_reference(reference: pd.DataFrame, current: pd.DataFrame, config: Config):
    """The reference's column roles, and the current data in the reference's form (categories as texts; dates
    left as they are)."""
    columns = project.pipeline("columns")
    roles = columns.of(reference, config.data)
    return roles, columns.apply(current, replace(roles, datetime=()))


def predicted(
    model, reference: pd.DataFrame, current: pd.DataFrame, config: Config
) -> tuple[pd.Series, pd.Series]:
    """The model's predictions of both, for `check`."""
    features = feature_columns(reference, current, config.data.target)
    current = like_the_reference(reference, current, config)[1]
    return tuple(pd.Series(model.predict(frame[features])) for frame in (reference, current))


def feature_columns(reference: pd.DataFrame, current: pd.DataFrame, target: str) -> list[str]:
    if current.empty:
        raise UserError("the current data has no rows: nothing to compare with the reference")
    features = [column for column in reference.columns if column != target]
    missing = [column for column in features if column not in current.columns]
    unknown = [column for column in current.columns if column not in reference.columns]
    if missing or unknown:
        parts = [
            f"lacks {names(missing)}" if missing else "",
            f"has unknown {names(unknown)}" if unknown else "",
        ]
        raise UserError(
            f"the current data {' and '.join(p for p in parts if p)} compared with the reference: "
            "give it the columns the model was trained on"
        )
    return features


def names(columns: list[str]) -> str:
    shown = ", ".join(repr(str(c)) for c in columns[:5])
    return f"columns {shown}{' and more' if len(columns) > 5 else ''}"


def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def compare_numeric(reference: pd.DataFrame, current: pd.DataFrame, thresholds) -> list[Result]:
    """KS and PSI of every numeric column, one column per thread (NumPy sorts and searches without the GIL); each
    thread sorts into buffers of its own, reused from column to column."""
    buffers = threading.local()

    def compare(column: str) -> Result:
        if not hasattr(buffers, "reference"):
            buffers.reference, buffers.current = np.empty(len(reference)), np.empty(len(current))
        a, b = reference[column].to_numpy(dtype=float), current[column].to_numpy(dtype=float)
        np.copyto(buffers.reference, a)
        np.copyto(buffers.current, b)
        return compare_column(column, buffers.reference, buffers.current, thresholds, sorted_in_place=True)

    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(compare, reference.columns))


def compare_column(
    column: str, reference: np.ndarray, current: np.ndarray, thresholds, sorted_in_place: bool = False
) -> Result:
    """Each sample is sorted once (in place when asked: the arrays are then the caller's to lose); everything else
    is binary search on the sorted values."""
    if sorted_in_place:
        reference.sort()
        current.sort()
        a, b = reference, current
    else:
        a, b = np.sort(reference), np.sort(current)  # NaN sorts last
    a_values, b_values = a[: present(a)], b[: present(b)]
    if len(a_values) == 0 or len(b_values) == 0:
        statistic, p_value = (0.0, 1.0) if len(a_values) == len(b_values) else (1.0, 0.0)
    else:
        statistic, p_value = kolmogorov_smirnov(a_values, b_values)
    if len(a_values) < len(a) or len(b_values) < len(b):  # values missing: test their share too (Bonferroni)
        present_counts = [[len(a_values), len(a) - len(a_values)], [len(b_values), len(b) - len(b_values)]]
        p_value = min(1.0, 2 * min(p_value, chi_square(np.array(present_counts, dtype=float))[1]))
    psi = population_stability(*numeric_shares(a, b, a_values, b_values))
    return result(column, "numeric", "ks", statistic, p_value, psi, thresholds)


def present(ordered: np.ndarray) -> int:
    """How many values of a sorted array are not NaN (NumPy sorts and searches NaN last)."""
    return int(np.searchsorted(ordered, np.nan, side="left"))


def kolmogorov_smirnov(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic of sorted samples, and its asymptotic p-value (scipy's ks_2samp, method asymp).

    Both empirical CDFs are step functions, so the largest gap is |F_a - F_b| at some pair of counts. Binary search
    of the smaller sample's values b_j in the larger a finds every such pair: at b_j, F_b - F_a is
    (j + 1)/m - #(a <= b_j)/n, largest at the last copy of b_j; just below b_j, F_a - F_b is #(a < b_j)/n - j/m,
    largest at its first copy (and up to the last a below it). The other copies give smaller values, so no copy
    needs finding; the counts and the float arithmetic are scipy's, hence its statistic to the last bit.

    Only some values need searching: in a block of BLOCK consecutive b_j, the gaps are bounded by the counts at
    the block's ends, so a block whose bound is below a gap already found cannot hold the largest.
    """
    if len(b) > len(a):
        a, b = b, a
    n, m = len(a), len(b)
    starts = np.arange(0, m, BLOCK)
    ends = np.minimum(starts + BLOCK, m) - 1
    below_start, above_end = np.searchsorted(a, b[starts], "right"), np.searchsorted(a, b[ends], "left")
    found = max(((starts + 1) / m - below_start / n).max(), (above_end / n - ends / m).max())
    bound = np.maximum((ends + 1) / m - below_start / n, above_end / n - starts / m)
    blocks = starts[bound >= found - MARGIN]
    rows = (blocks[:, None] + np.arange(BLOCK)).ravel()
    statistic = float(max(found, *largest_gaps(a, b, rows[rows < m])))
    effective = round(n * m / (n + m))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0, 1))


def largest_gaps(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """The largest F_b - F_a at b's values b[rows], and the largest F_a - F_b just below them."""
    n, m, values = len(a), len(b), b[rows]
    counts = np.searchsorted(a, values, side="right")  # #(a <= b_j)
    below = ((rows + 1) / m - counts / n).max()
    tied = np.flatnonzero(a[counts - 1] == values)  # b_j in a (counts 0 reads a[-1] > b_j: no tie)
    counts[tied] = np.searchsorted(a, values[tied], side="left")  # now #(a < b_j)
    return below, (counts / n - rows / m).max()


def numeric_shares(a, b, a_values, b_values) -> tuple[np.ndarray, np.ndarray]:
    """Shares of each sample in the reference's decile bins, plus the share of missing values."""
    edges = (
        np.unique(a_values[(np.arange(1, BINS) * len(a_values)) // BINS]) if len(a_values) else np.array([])
    )
    shares = []
    for whole, values in ((a, a_values), (b, b_values)):
        cuts = np.searchsorted(values, edges, side="left")
        counts = np.diff(np.concatenate([[0], cuts, [len(values)]]))
        shares.append(np.append(counts, len(whole) - len(values)) / len(whole))
    return shares[0], shares[1]


def compare_categorical(reference: pd.Series, current: pd.Series, thresholds) -> Result:
    counts = categorical_counts(reference, current)
    statistic, p_value = chi_square(counts)
    psi = population_stability(*(counts / counts.sum(axis=1, keepdims=True)))
    return result(reference.name, "categorical", "chi2", statistic, p_value, psi, thresholds)


def categorical_counts(reference: pd.Series, current: pd.Series) -> np.ndarray:
    """A 2 x categories table of counts (missing values are a category of their own)."""
    left, right = (text_counts(s) for s in (reference, current))
    table = pd.concat([left, right], axis=1).fillna(0)
    return table.to_numpy(dtype=float).T


def text_counts(series: pd.Series) -> pd.Series:
    """How often each value occurs, the values as texts, most frequent first. NumPy integers and booleans (a
    classification target) are counted before they become texts: each has a text of its own, and none is missing."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biu":
        counts = series.value_counts()
        counts.index = as_text(counts.index.to_series()).rename(series.name)
        return counts
    return as_text(series).value_counts()


def as_text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), MISSING).astype(str)


def chi_square(counts: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test of homogeneity (scipy's chi2_contingency without Yates' correction)."""
    if counts.shape[1] < 2:
        return 0.0, 1.0
    expected = counts.sum(axis=1, keepdims=True) * counts.sum(axis=0, keepdims=True) / counts.sum()
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return statistic, float(stats.chi2.sf(statistic, counts.shape[1] - 1))


def population_stability(reference: np.ndarray, current: np.ndarray) -> float:
    reference, current = np.clip(reference, EPSILON, None), np.clip(current, EPSILON, None)
    return float(((current - reference) * np.log(current / reference)).sum())


def compare_series(reference: pd.Series, current: pd.Series, config: Config, thresholds) -> Result:
    """The target or the predictions: numeric for regression, categorical (the classes) for classification."""
    if config.task == "classification":
        return compare_categorical(reference, current, thresholds)
    return compare_column(
        str(reference.name), *(s.to_numpy(dtype=float) for s in (reference, current)), thresholds
    )


def result(column, kind, test, statistic, p_value, psi, thresholds) -> Result:
    drift = p_value < thresholds.p_value and psi >= thresholds.psi
    return Result(str(column), kind, test, round(statistic, 6), float(f"{p_value:.6g}"), round(psi, 6), drift)


def markdown(summary: dict, plot: str | None) -> str:
    """The drift table for the job summary and the retraining pull request."""
    verdict = "**Drift found**" if summary["drift"] else "**No drift**"
    drifted = len(summary["drifted_features"])
    lines = [
        f"### Data drift: {verdict.lower().strip('*')}",
        "",
        f"{verdict}: {drifted} of {len(summary['features'])} features drifted ({summary['share']:.0%}; the data "
        f"drifts at {summary['thresholds']['share']:.0%}). A feature drifts when p < {summary['thresholds']['p_value']}"
        f" and PSI >= {summary['thresholds']['psi']}. Rows: {summary['rows']['reference']} reference, "
        f"{summary['rows']['current']} current.",
        *_dates_line(summary),
        "",
        "| column | test | statistic | p-value | PSI | drift |",
        "| --- | --- | ---: | ---: | ---: | :---: |",
    ]
    rows = [  # a column's name is data (the retraining pull request's body shows it): inert text
        *(row | {"column": text(str(row["column"]))} for row in summary["features"]),
        *(summary[k] | {"column": f"*{k}*"} for k in ("target", "prediction") if k in summary),
    ]
    for row in sorted(rows, key=lambda row: (not row["drift"], -row["psi"])):
        flag = "yes" if row["drift"] else ""
        lines.append(
            f"| {row['column']} | {row['test']} | {row['statistic']:.4g} | {row['p_value']:.3g} | "
            f"{row['psi']:.3f} | {flag} |"
        )
    if plot:
        lines += ["", f"![Reference and current distributions of the most shifted features]({plot})"]
    return "\n".join(lines) + "\n"


def _dates_line(summary: dict) -> list[str]:
    dates = summary.get("dates_not_compared") or []
    if not dates:
        return []
    shown = ", ".join(text(str(column)) for column in dates)
    return ["", f"Date columns are not compared (new data is later by nature): {shown}."]


def run(
    config: Config, reference_path: Path, current_path: Path | None, directory: Path, model_path: Path | None
):
    """Compare, then write drift.json, drift.md and drift.png into `directory`; return the summary."""
    data = project.pipeline("data")

    reference = read(reference_path, "reference")
    if current_path:  # data.drop's columns (identifiers...) are no more compared than they are learnt from
        current = data.read_file(current_path).drop(columns=list(config.data.drop), errors="ignore")
    else:
        current = data.load(config.data)
    predictions = None
    if model_path and model_path.exists():
        model = files.load_model(model_path, project.pipeline("train").MODEL_TYPES)
        predictions = predicted(model, reference, current, config)
    summary = check(reference, current, config, predictions)
    plot = directory / "drift.png"
    write_plot(reference, current, summary, plot)
    files.write_json(summary, directory / "drift.json")
    files.write_text(markdown(summary, plot.name), directory / "drift.md")
    return summary


def read(path: Path, role: str) -> pd.DataFrame:
    data = project.pipeline("data")

    if not path.exists():
        raise UserError(f"the {role} data {path} is missing: run dvc pull (or dvc repro prepare) first")
    return data.read_file(path)


def write_plot(reference: pd.DataFrame, current: pd.DataFrame, summary: dict, target: Path, panels: int = 8):
    """Small multiples: reference and current distributions of the features with the largest PSI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted(summary["features"], key=lambda row: -row["psi"])[:panels]
    figure, axes = plt.subplots(1, len(shown), figsize=(2.2 * len(shown), 1.8), squeeze=False)
    for axis, row in zip(axes[0], shown, strict=True):
        column = row["column"]
        if row["kind"] == "numeric":
            values = [frame[column].dropna().to_numpy(dtype=float) for frame in (reference, current)]
            bins = np.histogram_bin_edges(np.concatenate(values), bins=20)
            for sample, color in zip(values, ("tab:blue", "tab:orange"), strict=True):
                axis.hist(sample, bins=bins, density=True, alpha=0.5, color=color)
        else:
            counts = categorical_counts(reference[column], current[column])
            shares = counts / counts.sum(axis=1, keepdims=True)
            positions = np.arange(shares.shape[1])
            axis.bar(positions - 0.2, shares[0], width=0.4, color="tab:blue")
            axis.bar(positions + 0.2, shares[1], width=0.4, color="tab:orange")
        axis.set_title(
            f"{column[:18]}\nPSI {row['psi']:.2f}", fontsize=8, color="red" if row["drift"] else "black"
        )
        axis.set_xticks([])
        axis.set_yticks([])
    figure.legend(["reference", "current"], loc="lower center", ncol=2, fontsize=7, frameon=False)
    with files.atomic_path(target) as temporary:
        figure.savefig(temporary, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)


def drifted_batch(config: Config, rows: int, seed: int) -> pd.DataFrame:
    """A batch of the bundled data with drift a monitor must catch: a third of the features shifted by one
    standard deviation, and the spread of the next one doubled."""
    data = project.pipeline("data")

    frame = data.read_bundled().sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    numeric = [c for c in frame.columns if c != config.data.target and is_numeric(frame[c])]
    shifted = numeric[: -(-len(numeric) // 3)]
    for column in shifted:
        frame[column] = frame[column] + frame[column].std()
    for column in numeric[len(shifted) : len(shifted) + 1]:
        frame[column] = frame[column].mean() + 2 * (frame[column] - frame[column].mean())
    return frame
