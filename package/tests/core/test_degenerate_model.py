"""The train stage's refusal of a model that learned nothing (issue 29): it predicts rows spread over the training
set first and all of them only when those agree, and still decides exactly as on every row: a model whose one
different answer falls between the spread rows is kept, a model with one answer for all rows is refused."""

import numpy as np
import pandas as pd
import pytest
from fixture_model.pipeline import TASK, train
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ml_gitops import UserError

ROWS = 2 * train.DEGENERATE_SAMPLE_ROWS + 1  # the spread rows are the even ones


def fitted_tree(x: np.ndarray, y: np.ndarray) -> Pipeline:
    tree = DecisionTreeClassifier if TASK == "classification" else DecisionTreeRegressor
    features = pd.DataFrame({"x": x})
    return Pipeline([("model", tree(random_state=0))]).fit(features, y)


def test_one_answer_apart_from_the_spread_rows_is_learning(params):
    x, y = np.zeros(ROWS), np.zeros(ROWS, dtype=int)
    x[1], y[1] = 1.0, 1  # an odd row: the spread rows all get the same answer
    model = fitted_tree(x, y)
    assert len(set(model.predict(pd.DataFrame({"x": x[::2]})))) == 1
    train.refuse_a_degenerate_model(model, pd.DataFrame({"x": x}), params)


def test_one_answer_for_every_row_is_refused(params):
    y = np.arange(ROWS) % 2
    model = fitted_tree(np.zeros(ROWS), y)
    with pytest.raises(UserError, match=f"for all {ROWS:,} training rows, so it learned nothing"):
        train.refuse_a_degenerate_model(model, pd.DataFrame({"x": np.zeros(ROWS)}), params)
