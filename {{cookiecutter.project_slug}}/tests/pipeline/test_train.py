"""Every model.name trains on numeric and categorical columns alike; what an estimator cannot take is refused by
check-params --data before DVC clears any output; a classification target of fractional numbers is named as such."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from ml_gitops import UserError

from {{ cookiecutter.module_name }}.pipeline import TASK, prepare, train


def mixed_table(rows: int = 120, levels: int = 3) -> pd.DataFrame:
    """Two numeric columns (one with gaps) and a categorical one, with a target that depends on all three. With
    many levels, the one-hot columns are mostly zeros and scikit-learn keeps them sparse."""
    generator = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": generator.normal(size=rows),
            "gaps": np.where(generator.random(rows) < 0.1, np.nan, generator.normal(size=rows)),
            "plan": generator.choice(
                ["basic", "plus", "pro", *(f"p{i}" for i in range(levels - 3))], size=rows
            ),
        }
    )
    score = frame["x"] + (frame["plan"] == "pro") + frame["gaps"].fillna(0)
    frame["target"] = (score > score.median()).astype(int) if TASK == "classification" else score
    return frame


@pytest.mark.parametrize("levels", [3, 40, 600])
@pytest.mark.parametrize("name", sorted(train.MODELS[TASK]))
def test_every_model_trains_on_categorical_columns(params, name, levels):
    """600 levels: more than a histogram-based estimator takes per feature (255), so the rarest share a code."""
    settings = replace(params, model=replace(params.model, name=name, params={}))
    settings = replace(settings, data=replace(settings.data, categorical=("plan",)))
    frame = mixed_table(rows=max(120, 2 * levels), levels=levels)
    train.trial_fit(settings, frame)
    model = train.build(settings, frame.drop(columns=["target"])).fit(
        frame.drop(columns=["target"]), frame["target"]
    )
    assert len(model.predict(frame.drop(columns=["target"]))) == len(frame)


def test_data_the_estimator_cannot_take_is_refused_before_training(params, monkeypatch):
    monkeypatch.setattr(train, "NATIVE_CATEGORICAL_MODELS", set())  # sparse one-hot, which it refuses
    settings = replace(params, model=replace(params.model, name="hist_gradient_boosting", params={}))
    settings = replace(settings, data=replace(settings.data, categorical=("plan",)))
    with pytest.raises(
        UserError, match=r"^model.name hist_gradient_boosting cannot train on this data: Sparse data"
    ):
        train.trial_fit(settings, mixed_table(levels=40))


def test_gradient_boosting_splits_on_categories_themselves(params):
    """One column of codes per category feature, declared categorical to the estimator: no one-hot columns."""
    settings = replace(params, model=replace(params.model, name="hist_gradient_boosting", params={}))
    frame = mixed_table(levels=40)
    features = frame.drop(columns=["target"])
    model = train.build(settings, features).fit(features, frame["target"])
    assert list(model[:-1].get_feature_names_out()) == ["x", "gaps", "plan"]
    assert list(model[-1].is_categorical_) == [False, False, True]


@pytest.mark.skipif(TASK != "classification", reason="a classification project's target")
def test_a_continuous_classification_target_is_named(params):
    frame = mixed_table()
    frame["target"] = frame["x"] / 3
    with pytest.raises(UserError, match=r"^data.target 'target' holds continuous numbers \(e.g. "):
        prepare.split(frame, params)


def test_a_model_that_learned_nothing_is_refused_with_what_to_change(params):
    """40 rows of the bundled data: min_samples_leaf 20 leaves no split, so every row gets the same answer."""
    from ml_gitops.core import paths

    from {{ cookiecutter.module_name }}.pipeline import data

    frame = data.load(params.data).sample(40, random_state=0)
    settings = replace(
        params, model=replace(params.model, params={**params.model.params, "min_samples_leaf": 20})
    )
    train_rows, _ = prepare.split(frame, settings)
    paths.TRAIN.parent.mkdir(parents=True)
    train_rows.to_parquet(paths.TRAIN)
    with pytest.raises(
        UserError, match=f"min_samples_leaf 20 leaves no split on {len(train_rows)} training rows"
    ):
        train.run(settings)
    assert not paths.MODEL.exists()
