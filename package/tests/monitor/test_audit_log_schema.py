"""A prediction log whose files disagree on a column's type still reads: a batch whose rows all missed a feature held
it as Arrow's null type (before the log typed its features), into which no other file's values cast."""

import pandas as pd
import pytest

from ml_gitops.monitor import performance
from ml_gitops.release import prediction_log

DIGEST = "d" * 64
START, END = pd.Timestamp("2026-03-01", tz="UTC"), pd.Timestamp("2026-03-05", tz="UTC")


def batch(day: str, color, signup) -> pd.DataFrame:
    """One logged prediction, its features as the service passes them (None where the request gave null)."""
    features = pd.DataFrame({"x1": [0.3], "color": [color], "signup": [signup]})
    answer = pd.DataFrame({"prediction": [1], "proba_0": [0.2], "proba_1": [0.8]})
    return prediction_log.log_rows(
        features, answer, [f"{day}-1"], "v1", DIGEST, times=pd.Timestamp(day, tz="UTC")
    )


@pytest.mark.any_task
def test_a_log_whose_oldest_file_holds_a_feature_always_missing_reads(tmp_path):
    prediction_log.write_batch(batch("2026-03-02", None, None), str(tmp_path))  # as the log wrote it before
    prediction_log.write_batch(batch("2026-03-03", "red", pd.Timestamp("2024-01-01")), str(tmp_path))
    log = performance.Log(str(tmp_path), DIGEST)
    served = log.features(START, END, seed=0).sort_values("x1", kind="stable")
    assert served["color"].tolist()[1] == "red"
    assert served["color"].isna().tolist() == [True, False]
    assert served["signup"].tolist()[1] == pd.Timestamp("2024-01-01")
    assert log.answered().num_rows == 2


@pytest.mark.any_task
def test_a_feature_missing_in_every_file_reads_as_missing(tmp_path):
    prediction_log.write_batch(batch("2026-03-02", None, None), str(tmp_path))
    prediction_log.write_batch(batch("2026-03-03", None, None), str(tmp_path))
    served = performance.Log(str(tmp_path), DIGEST).features(START, END, seed=0)
    assert len(served) == 2
    assert served["color"].isna().all()
