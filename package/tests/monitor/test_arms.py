# ruff: noqa: F811 (the traffic fixture of test_challenger.py, taken as an argument)
"""A/B in the monitor (monitor/arms.py): each arm's model measured on the labelled requests of its own arm, with its
own 95% intervals and an unpaired interval of the delta; fallbacks counted in neither arm; the shadow comparison
left to the rows the challenger scored in shadow."""

import numpy as np
import pandas as pd
from test_challenger import CHALLENGER, Traffic, label, perfect, shadow, traffic  # noqa: F401

from ml_gitops import metrics
from ml_gitops.core import config, files, paths
from ml_gitops.monitor import arms, performance
from ml_gitops.release import prediction_log
from ml_gitops.review.compare import delta_intervals, metric_intervals

DAY = "2026-03-04"
FALLBACK = range(0, 5)  # rows of the challenger's arm production answered


def split(traffic: Traffic, answer: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A third day of keyed traffic: even rows in production's arm, odd ones in the challenger's (its answer), all
    labelled, the first odd ones answered by production (fallbacks)."""
    rows = np.arange(len(traffic.features))
    production, challenger = rows[rows % 2 == 0], rows[rows % 2 == 1]
    fallback, served = challenger[list(FALLBACK)], challenger[len(FALLBACK) :]
    ids = np.array([f"{DAY}-{row}" for row in rows])
    times = pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(rows, unit="s")
    champion = files.sha256(paths.MODEL)
    for chosen, model, digest, arm in [
        (production, traffic.champion, champion, arms.PRODUCTION),
        (fallback, traffic.champion, champion, arms.CHALLENGER),
        (served, answer, CHALLENGER, arms.CHALLENGER),
    ]:
        logged = prediction_log.log_rows(
            traffic.features.iloc[chosen],
            model.iloc[chosen],
            list(ids[chosen]),
            "v1.0.0" if digest == champion else "v1.1.0",
            digest,
            times=times[chosen],
            score_ms=2.0,
            arms=[arm] * len(chosen),
        )
        prediction_log.write_batch(logged, str(traffic.where / "log"))
    labels = pd.DataFrame({"request_id": ids, "label": traffic.truth})
    (traffic.where / "labels").mkdir(exist_ok=True)
    labels.to_csv(traffic.where / "labels" / "ab.csv", index=False)
    return production, served


def predictions(traffic: Traffic, model: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    probabilities = performance.in_the_release_s_order(traffic.champion.columns, config.load())
    part = model.iloc[rows].reset_index(drop=True)
    truth = traffic.truth[rows]
    label = (
        truth if traffic.params.task == "regression" else performance.as_texts(pd.Series(truth)).to_numpy()
    )
    return performance.as_predictions(part.assign(label=label), traffic.params.task, probabilities)


def test_each_arm_is_measured_on_its_own_labelled_requests_unpaired(traffic):
    answer = perfect(traffic)
    production, served = split(traffic, answer)
    summary = performance.run(traffic.params)
    entry = summary["ab"]
    task, seed = traffic.params.task, traffic.params.seed
    before, after = predictions(traffic, traffic.champion, production), predictions(traffic, answer, served)
    assert entry["model_sha256"] == CHALLENGER
    assert entry["fallback"] == len(FALLBACK)
    assert entry["arms"]["production"]["rows"] == entry["arms"]["production"]["labelled"] == len(production)
    assert entry["arms"]["challenger"]["rows"] == entry["arms"]["challenger"]["labelled"] == len(served)
    name = traffic.params.gate.metric
    for arm, frame in (("production", before), ("challenger", after)):
        measured = entry["arms"][arm]["metrics"][name]
        assert measured["value"] == metrics.compute(task, frame)[name]
        interval = metric_intervals(task, frame, seed)[name]
        assert (measured["low"], measured["high"]) == (round(interval.low, 6), round(interval.high, 6))
    unpaired = delta_intervals(task, before, after.set_axis(after.index + len(before)), seed)[name]
    assert unpaired.paired is False
    assert entry["delta"][name] == {"low": round(unpaired.low, 6), "high": round(unpaired.high, 6)}
    shown = (paths.MONITOR / "monitor.md").read_text()
    assert "## A/B on production traffic" in shown
    assert "The arms are different requests" in shown
    assert f"{len(FALLBACK):,} requests of the challenger's arm were answered by production" in shown


def test_a_log_without_a_b_has_no_arms_and_the_shadow_ignores_a_b_rows(traffic):
    answer = perfect(traffic)
    shadow(traffic, answer)
    label(traffic)
    alone = performance.run(traffic.params, challenger=CHALLENGER)
    assert "ab" not in alone
    split(traffic, answer)
    both = performance.run(traffic.params, challenger=CHALLENGER)
    assert both["challenger"]["paired"] == alone["challenger"]["paired"], (
        "served A/B rows are not shadow rows"
    )
    assert both["challenger"]["coverage"] == alone["challenger"]["coverage"]
    assert both["ab"]["arms"]["challenger"]["labelled"] > 0
