"""The drift check's Kolmogorov-Smirnov test gives scipy's numbers exactly: ties, signed zeros, missing values."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ml_gitops.monitor import drift

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

RNG = np.random.default_rng(0)
SAMPLES = {
    "shifted normal": (RNG.standard_normal(1000), RNG.standard_normal(1200) + 0.1),
    "same normal, a million each": (RNG.standard_normal(1_000_000), RNG.standard_normal(1_000_000)),
    "a small shift, p between 0 and 1": (RNG.standard_normal(200_000), RNG.standard_normal(150_000) + 0.01),
    "heavy ties": (RNG.integers(0, 5, 3000).astype(float), RNG.integers(0, 6, 2000).astype(float)),
    "rounded values, many ties": (
        np.round(RNG.standard_normal(200_000), 1),
        np.round(1.1 * RNG.standard_normal(300_000), 1),
    ),
    "one value in both": (np.ones(50), np.ones(70)),
    "disjoint": (np.ones(50), np.full(70, 2.0)),
    "one row against two": (np.array([1.0]), np.array([2.0, 3.0])),
    "signed zeros": (np.array([-0.0, 0.0, 1.0]), np.array([0.0, -0.0])),
    "interleaved": (np.arange(0, 1000, 2.0), np.arange(1, 1001, 2.0)),
    "shifted by one sd, a million each": (RNG.standard_normal(1_000_000), RNG.standard_normal(1_000_000) + 1),
    "a thousand integers, ties everywhere": (
        RNG.integers(0, 1000, 700_000).astype(float),
        RNG.integers(0, 1000, 900_000).astype(float),
    ),
}


@pytest.mark.parametrize(("a", "b"), SAMPLES.values(), ids=SAMPLES.keys())
def test_statistic_and_p_value_are_scipy_s(a, b):
    expected = stats.ks_2samp(a, b, method="asymp")
    for first, second, reference in ((a, b, expected), (b, a, stats.ks_2samp(b, a, method="asymp"))):
        statistic, p_value = drift.kolmogorov_smirnov(np.sort(first), np.sort(second))
        assert statistic == float(reference.statistic)
        assert np.signbit(statistic) == np.signbit(reference.statistic)
        assert p_value == float(reference.pvalue)


THRESHOLDS = SimpleNamespace(p_value=0.01, psi=0.1)


def with_missing(values: np.ndarray, every: int) -> np.ndarray:
    values = values.copy()
    values[::every] = np.nan
    return values


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (with_missing(RNG.standard_normal(5000), 10), with_missing(RNG.standard_normal(4000) + 0.05, 7)),
        (with_missing(np.round(RNG.standard_normal(5000), 1), 3), RNG.standard_normal(4000)),
        (RNG.standard_normal(5000), with_missing(RNG.standard_normal(4000), 50)),
    ],
    ids=["both missing some", "reference missing a third, with ties", "current missing a few"],
)
def test_missing_values_are_left_out_of_ks_and_their_share_tested_beside_it(reference, current):
    """KS on the present values (scipy's, NaN dropped) and the chi-square test of the missing shares (scipy's,
    without Yates' correction), Bonferroni-corrected."""
    result = drift.compare_column("x", reference, current, THRESHOLDS)
    present = [values[~np.isnan(values)] for values in (reference, current)]
    ks = stats.ks_2samp(*present, method="asymp")
    missing = [[len(p), len(v) - len(p)] for p, v in zip(present, (reference, current), strict=True)]
    chi2 = stats.chi2_contingency(np.array(missing), correction=False)
    assert result.statistic == round(float(ks.statistic), 6)
    assert result.p_value == float(f"{min(1.0, 2 * min(ks.pvalue, chi2.pvalue)):.6g}")


def test_a_column_missing_everywhere_in_one_sample_differs_completely():
    result = drift.compare_column("x", np.full(100, np.nan), RNG.standard_normal(100), THRESHOLDS)
    assert result.statistic == 1.0
    assert result.p_value == 0.0
    assert drift.compare_column("x", np.full(10, np.nan), np.full(20, np.nan), THRESHOLDS).statistic == 0.0


@pytest.mark.parametrize("block", [1, 2, 3, 64])
@pytest.mark.parametrize("seed", range(300))
def test_small_samples_with_ties_across_and_within_give_scipy_s_numbers(seed, block, monkeypatch):
    """Few distinct values, samples of 1 to 40 rows either way round: every kind of tie, first and last copies;
    blocks of a few values, so that some are skipped."""
    monkeypatch.setattr(drift, "BLOCK", block)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, rng.integers(1, 8), rng.integers(1, 41)).astype(float)
    b = rng.integers(0, rng.integers(1, 8), rng.integers(1, 41)).astype(float) + rng.choice([0, 0.5, -1])
    for first, second in ((a, b), (b, a)):
        expected = stats.ks_2samp(first, second, method="asymp")
        statistic, p_value = drift.kolmogorov_smirnov(np.sort(first), np.sort(second))
        assert (statistic, p_value) == (float(expected.statistic), float(expected.pvalue))


def test_the_threaded_check_gives_each_column_s_own_comparison():
    """compare_numeric sorts in per-thread buffers reused from column to column (of other lengths and NaNs)."""
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({f"x{i}": RNG.standard_normal(3000) + 0.05 * i for i in range(6)})
    current = pd.DataFrame({f"x{i}": RNG.standard_normal(2000) for i in range(6)})
    reference.iloc[rng.integers(0, 3000, 200), 2] = np.nan
    current.iloc[:, 4] = np.round(current.iloc[:, 4], 1)
    before = reference.copy(), current.copy()
    found = drift.compare_numeric(reference, current, THRESHOLDS)
    expected = [
        drift.compare_column(c, reference[c].to_numpy(), current[c].to_numpy(), THRESHOLDS) for c in reference
    ]
    assert found == expected
    pd.testing.assert_frame_equal(reference, before[0])  # the caller's data is left unsorted
    pd.testing.assert_frame_equal(current, before[1])
