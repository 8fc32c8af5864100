"""Stage train: fit the preprocessing and the estimator on the training set, save them with skops."""

import importlib
import inspect

import numpy as np
import pandas as pd
from ml_gitops import UserError
from ml_gitops.core import canonical, paths
from ml_gitops.core.config import Config, ModelConfig
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from . import TASK, columns
from .features import AsCategories, DateParts

MODELS = {
    "classification": {
        "random_forest": "sklearn.ensemble:RandomForestClassifier",
        "hist_gradient_boosting": "sklearn.ensemble:HistGradientBoostingClassifier",
        "logistic_regression": "sklearn.linear_model:LogisticRegression",
    },
    "regression": {
        "random_forest": "sklearn.ensemble:RandomForestRegressor",
        "hist_gradient_boosting": "sklearn.ensemble:HistGradientBoostingRegressor",
        "ridge": "sklearn.linear_model:Ridge",
    },
}
SCALED_MODELS = {"logistic_regression", "ridge"}
# Estimators that split on categories themselves: each category column is one column of codes (the most frequent
# NATIVE_LEVELS - 1 categories keep their own code, the rest share one), not one column per category.
NATIVE_CATEGORICAL_MODELS = {"hist_gradient_boosting"}
NATIVE_LEVELS = 255  # the most a histogram-based estimator takes per feature (its max_bins)
# Given n_jobs=-1 (every core) unless model.params sets it; the others use every core already
# (hist_gradient_boosting) or gain nothing from it (the linear models).
PARALLEL_MODELS = {"random_forest"}
# model.params that may be `auto`: a value that adapts to the training rows (the train stage says which it chose)
AUTO = {"min_samples_leaf": lambda rows: max(1, min(20, rows // 10))}
AUTO_FOR_CHECKS = 1000  # the rows `auto` assumes when params are checked without data
DEGENERATE_SAMPLE_ROWS = 10_000  # rows predicted first when checking that the model learned something
TRIAL_ROWS = 500  # check-params --data fits the pipeline on this many training rows before any stage runs
# The types a fitted pipeline of MODELS holds that skops does not trust by default: a model file is loaded only
# when it holds no other (tests/pipeline/test_model_types.py derives them by saving every pipeline this file builds).
MODEL_TYPES = frozenset(
    {
        "numpy.dtype",
        # gradient boosting with categories checks its input with partial(check_array, ...): skops names (and this
        # list must trust) the wrapped function on its own, so a partial of anything else is still refused
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        f"{AsCategories.__module__}.AsCategories",
        f"{DateParts.__module__}.DateParts",
    }
)


def run(config: Config) -> None:
    train = pd.read_parquet(paths.TRAIN)
    features, target = train.drop(columns=[config.data.target]), train[config.data.target]
    model = build(config, features)
    for line in chosen_automatically(config.model, len(features)):
        print(line)
    model.fit(features, target)
    refuse_a_degenerate_model(model, features, config)
    canonical.save_model(model, paths.MODEL)  # the same bytes for the same model, whoever runs the stage


def chosen_automatically(model: ModelConfig, rows: int) -> list[str]:
    """What each `auto` value of model.params became on this many training rows."""
    return [
        f"model.params.{name} auto: {choose(rows)} for {rows:,} training rows"
        for name, choose in AUTO.items()
        if model.params.get(name) == "auto"
    ]


def refuse_a_degenerate_model(model: Pipeline, features: pd.DataFrame, config: Config) -> None:
    """A model that gives every training row the same answer learned nothing: refuse it, say why and what to
    change, rather than score it. Rows spread over the set are predicted first: if their answers differ, so do the
    whole set's; only when they agree are all rows predicted."""
    step = max(1, len(features) // DEGENERATE_SAMPLE_ROWS)
    if step > 1 and _answers_differ(pd.Series(model.predict(features.iloc[::step]))):
        return
    predicted = pd.Series(model.predict(features))
    if _answers_differ(predicted):
        return
    answer = f"class '{predicted.iloc[0]}'" if TASK == "classification" else f"{predicted.iloc[0]:g}"
    rows = len(features)
    leaf = model.named_steps["model"].get_params().get("min_samples_leaf")
    if isinstance(leaf, int) and not isinstance(leaf, bool) and 2 * leaf > rows:
        why = f"min_samples_leaf {leaf} leaves no split on {rows:,} training rows"
        change = f"set model.params.min_samples_leaf to auto (here {AUTO['min_samples_leaf'](rows)}) or lower, or add rows"
    else:
        why = "the features as given do not tell the rows apart for this estimator"
        change = "check the features and data.drop, try another model.name, or add rows"
    raise UserError(
        f"model.name {config.model.name} predicts {answer} for all {rows:,} training rows, so it learned "
        f"nothing: {why}. Refusing to score it: {change}"
    )


def _answers_differ(predicted: pd.Series) -> bool:
    if TASK == "classification":
        return bool((predicted.astype(str) != str(predicted.iloc[0])).any())
    return bool(np.ptp(predicted.to_numpy(float)) > 1e-9 * max(1.0, abs(predicted.iloc[0])))


def build(config: Config, features: pd.DataFrame) -> Pipeline:
    """Impute and encode the features by role (numbers, categories, dates), then the estimator of params.yaml."""
    roles = columns.of(features, config.data)
    scaled = [StandardScaler()] if config.model.name in SCALED_MODELS else []
    native = config.model.name in NATIVE_CATEGORICAL_MODELS
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), *scaled), list(roles.numeric)),
            ("categorical", category_steps(native), list(roles.categorical)),
            (
                "datetime",
                make_pipeline(DateParts(), SimpleImputer(strategy="median"), *scaled),
                list(roles.datetime),
            ),
        ],
        verbose_feature_names_out=False,
    )
    model = estimator(config.model, config.seed, len(features))
    if native and roles.categorical:  # the codes come right after the numeric columns
        start = len(roles.numeric)
        model.set_params(categorical_features=list(range(start, start + len(roles.categorical))))
    return Pipeline([("preprocess", preprocess), ("model", model)])


def category_steps(native: bool) -> Pipeline:
    """Category texts, then one column of codes per feature (native) or one column per category (one-hot)."""
    if native:  # a missing or unseen category is a missing code, which the estimator handles itself
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=NATIVE_LEVELS - 1,
        )
        return make_pipeline(AsCategories(), encoder)
    return make_pipeline(
        AsCategories(), SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )


def trial_fit(config: Config, train: pd.DataFrame) -> None:
    """Fit the pipeline on a few training rows (every class among them), so that data the estimator cannot take
    is refused before DVC clears the champion's outputs."""
    target = config.data.target
    sample = train.sample(n=min(len(train), TRIAL_ROWS), random_state=config.seed)
    if config.task == "classification":
        sample = pd.concat([train.groupby(target, observed=True).head(1), sample])
    features = sample.drop(columns=[target])
    try:
        build(config, features).fit(features, sample[target])
    except (TypeError, ValueError) as error:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UserError(f"model.name {config.model.name} cannot train on this data: {problem}") from None


def estimator(model: ModelConfig, seed: int, rows: int = AUTO_FOR_CHECKS) -> BaseEstimator:
    """The estimator model.name names, with model.params checked by scikit-learn before any training; an `auto`
    value (AUTO) is chosen for `rows` training rows."""
    choices = MODELS[TASK]
    if model.name not in choices:
        raise UserError(f"params.yaml: model.name '{model.name}' is not one of {', '.join(choices)}")
    module_name, class_name = choices[model.name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(model.params) - set(accepted))
    if unknown:
        raise UserError(
            f"params.yaml: model.params {', '.join(unknown)} not accepted by {model.name} ({class_name}); "
            f"accepted: {', '.join(accepted)}"
        )
    params = {
        name: AUTO[name](rows) if value == "auto" and name in AUTO else value
        for name, value in model.params.items()
    }
    if "random_state" in accepted:
        params.setdefault("random_state", seed)
    if model.name in PARALLEL_MODELS:
        params.setdefault("n_jobs", -1)
    instance = cls(**params)
    try:
        instance._validate_params()  # scikit-learn's own type and range checks, before any training
    except (TypeError, ValueError) as error:
        raise UserError(f"params.yaml: model.params are invalid for {model.name}: {error}") from None
    return instance
