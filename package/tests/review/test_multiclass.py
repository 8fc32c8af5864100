"""Three classes are reported as three: one curve per class under the macro average metrics.json holds, an interval
for every gate metric, and a mermaid chart (the plots once pooled every class under "Positive label: 1", ROC AUC
had no interval, and `make report REPORT_IMAGES=mermaid` crashed on a text target)."""

import numpy as np
import pandas as pd
import pytest
from fixture_model.pipeline import TASK, evaluate, plots
from sklearn.linear_model import LogisticRegression

from ml_gitops import metrics
from ml_gitops.review import compare, report

pytestmark = pytest.mark.skipif(TASK != "classification", reason="a classification project's report")
COLOURS = ("blue", "green", "red")


@pytest.fixture
def three_classes() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    target = pd.Series(rng.choice(COLOURS, 900), name="target")
    features = pd.DataFrame(
        {"x": target.map({"blue": 0, "green": 1, "red": 2}) + rng.normal(scale=0.9, size=900)}
    )
    model = LogisticRegression().fit(features, target)
    return evaluate.predict(model, features, target, metrics.positive_label(target, ""))


def test_each_class_gets_its_curve_under_the_reported_average(three_classes):
    scores = metrics.compute("classification", three_classes)
    figure = plots.classification(three_classes)["roc"]
    (axes,) = figure.axes
    assert [text.get_text().split(" (")[0] for text in axes.get_legend().get_texts()] == list(COLOURS)
    assert axes.get_title() == (
        f"ROC, each class against the rest: macro-average ROC AUC {scores['roc_auc']:.3f}"
    )
    assert "Positive label" not in " ".join(text.get_text() for text in axes.get_legend().get_texts())


def test_every_gate_metric_gets_an_interval_around_its_value(three_classes):
    scores = metrics.compute("classification", three_classes)
    intervals = compare.metric_intervals("classification", three_classes)
    assert set(intervals) == set(metrics.DIRECTIONS["classification"])
    for name, interval in intervals.items():
        assert interval.low - 0.01 <= scores[name] <= interval.high + 0.01, name
        assert interval.high - interval.low < 0.2, name


def test_mermaid_charts_show_how_often_the_model_is_right_as_it_grows_sure(params, three_classes):
    section = report._plots_section(params, three_classes.sample(frac=1, random_state=0), three_classes)
    assert 'title "Share correct by decile of confidence"' in section
    lines = [line for line in section.splitlines() if line.strip().startswith("line [")]
    assert len(lines) == 2  # the candidate and the champion
    shares = [float(value) for value in lines[0].split("[")[1].rstrip("]").split(", ")]
    assert len(shares) == 10
    assert all(0 <= share <= 1 for share in shares)
    assert shares[-1] > shares[0], "the surest decile is right more often than the least sure"


def test_binary_curves_name_the_positive_class(three_classes):
    binary = three_classes[three_classes["y_true"] != "green"].drop(columns=["proba_green"])
    binary = binary.assign(y_pred=binary["y_pred"].replace("green", "blue"))
    (axes,) = plots.classification(binary)["precision_recall"].axes
    assert axes.get_title() == f"Precision-recall, positive class {binary.columns[-1].removeprefix('proba_')}"


def test_the_stages_evaluate_a_text_target_of_three_classes(params, tmp_path):
    """ "blue", the rarest class, sorts first: evaluate once wrote its column last and scikit-learn refused it."""
    import json
    from dataclasses import replace

    from fixture_model.pipeline import prepare, train

    from ml_gitops.core import paths

    rng = np.random.default_rng(6)
    target = rng.choice(COLOURS, 600, p=[0.2, 0.4, 0.4])
    x = pd.Series(target).map({"blue": 0, "green": 1, "red": 2}) + rng.normal(scale=0.9, size=600)
    pd.DataFrame({"x": x, "colour": target}).to_csv(tmp_path / "colours.csv", index=False)
    params = replace(params, data=replace(params.data, path=str(tmp_path / "colours.csv"), target="colour"))
    prepare.run(params)
    train.run(params)
    evaluate.run(params)
    scores = json.loads(paths.METRICS.read_text())
    assert 0.5 < scores["roc_auc"] <= 1
    assert list(pd.read_parquet(paths.PREDICTIONS).columns[-3:]) == [f"proba_{colour}" for colour in COLOURS]


def test_the_metrics_table_says_how_each_multiclass_metric_averages(params, three_classes):
    """Multiclass f1 and roc_auc are averages over the classes: the table says which, so nobody reads them as the
    binary metrics of one class."""
    scores = metrics.compute("classification", three_classes)
    diff = {name: {"old": value, "new": value} for name, value in scores.items()}
    table = report._metrics_table(params, diff, {}, multiclass=True)
    assert "| **roc_auc** (gate) (one-vs-rest, macro) |" in table
    assert "| f1 (macro) |" in table
    assert "| balanced_accuracy (macro recall) |" in table
    assert "(macro)" not in report._metrics_table(params, diff, {}, multiclass=False)
