"""metrics.compute gives scikit-learn's numbers: the same floats, ties, odd classes and edge cases included."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as reference

from ml_gitops import metrics

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


def predictions(rows, classes, seed, text=False, distinct=None, positive_first=False):
    """Test predictions with classes as numbers or text, optionally few distinct probabilities (ties)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, rows)
    proba = rng.dirichlet(np.ones(classes), rows)
    proba[np.arange(rows), truth] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    if distinct:
        proba = np.round(proba * distinct) / distinct
        proba[:, -1] = 1 - proba[:, :-1].sum(axis=1)
    names = np.array([f"class {k}" if text else str(k) for k in range(classes)])
    frame = pd.DataFrame(
        {
            "y_true": names[truth] if text else truth,
            "y_pred": names[proba.argmax(axis=1)] if text else proba.argmax(axis=1),
        }
    )
    order = [1, 0] if classes == 2 and not positive_first else range(classes)  # the positive class last
    return frame.assign(**{f"proba_{names[k]}": proba[:, k] for k in order})


def scikit_learn(frame):
    """scikit-learn's metrics on the same predictions, the classes as text, the columns in sorted order."""
    columns = metrics.probability_columns(frame)
    labels = [column.removeprefix("proba_") for column in columns]
    truth, predicted = frame["y_true"].astype(str), frame["y_pred"].astype(str)
    proba = frame[columns].to_numpy()[:, np.argsort(labels)]
    binary = len(labels) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "roc_auc": (
                reference.roc_auc_score(truth == labels[-1], frame[columns[-1]])
                if binary
                else reference.roc_auc_score(truth, proba, labels=sorted(labels), multi_class="ovr")
            ),
            "accuracy": reference.accuracy_score(truth, predicted),
            "balanced_accuracy": reference.balanced_accuracy_score(truth, predicted),
            "f1": (
                reference.f1_score(truth, predicted, pos_label=labels[-1])
                if binary
                else reference.f1_score(truth, predicted, average="macro")
            ),
            "log_loss": reference.log_loss(truth, np.clip(proba, 1e-15, 1), labels=sorted(labels)),
        }


def every_metric(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: float(score()) for name, score in metrics._classification(frame).items()}


def one_true_class(frame):
    return frame.assign(y_true=frame["y_true"].iloc[0])


def one_predicted_class(frame):
    return frame.assign(y_pred=frame["y_pred"].iloc[0])


def certain(frame):
    columns = metrics.probability_columns(frame)
    frame = frame.copy()
    frame.loc[:100, columns] = 0.0
    frame.loc[:100, columns[0]] = 1.0
    return frame


def a_class_never_predicted(frame):
    return frame.assign(y_pred=frame["y_pred"].replace("class 2", "class 1"))


CASES = {
    "binary": predictions(5_000, 2, 1),
    "binary, the positive class sorted first": predictions(5_000, 2, 2, positive_first=True),
    "binary text, tied probabilities": predictions(20_000, 2, 3, text=True, distinct=10),
    "binary, three distinct probabilities": predictions(20_000, 2, 4, distinct=2),
    "three text classes": predictions(5_000, 3, 5, text=True),
    "four classes, ties": predictions(30_000, 4, 6, distinct=20),
    "eleven classes ('10' sorts before '2')": predictions(20_000, 11, 7),
    "binary, a million rows": predictions(1_000_000, 2, 8),
    "binary, one true class": one_true_class(predictions(2_000, 2, 9)),
    "binary, one predicted class": one_predicted_class(predictions(2_000, 2, 10)),
    "binary, certain probabilities (0 and 1)": certain(predictions(2_000, 2, 11)),
    "three classes, one never predicted": a_class_never_predicted(predictions(3_000, 3, 12, text=True)),
}


@pytest.mark.parametrize("frame", CASES.values(), ids=CASES.keys())
def test_every_classification_metric_is_scikit_learn_s_float(frame):
    ours, expected = every_metric(frame), scikit_learn(frame)
    for name, value in expected.items():
        assert ours[name] == value or (np.isnan(ours[name]) and np.isnan(value)), name


@pytest.mark.parametrize(
    "change",
    [
        lambda frame: frame.assign(y_pred=frame["y_pred"].mask(frame.index < 5, "a class of no column")),
        lambda frame: frame.assign(y_true=frame["y_true"].mask(frame.index < 5, None)),
    ],
    ids=["a predicted class without a column", "missing true classes"],
)
def test_odd_classes_are_left_to_scikit_learn_itself(change):
    frame = change(predictions(3_000, 3, 13, text=True))
    classes = ["class 0", "class 1", "class 2"]
    assert any((metrics._class_codes(frame[name], classes) < 0).any() for name in ("y_true", "y_pred"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("accuracy", "balanced_accuracy", "f1"):
            ours = outcome(lambda name=name: metrics._classification(frame)[name]())
            assert ours == outcome(lambda name=name: metrics._by_scikit_learn(frame)[name]())


def outcome(score):
    """The score, or the type of the error it raises (the missing class raises, as it did before)."""
    try:
        return score()
    except Exception as error:  # noqa: BLE001 - compared, not swallowed
        return type(error)


def test_compute_rounds_the_same_numbers():
    frame = CASES["three text classes"]
    assert metrics.compute("classification", frame) == {
        name: round(value, 6) for name, value in scikit_learn(frame).items()
    }
