"""MODEL_TYPES (pipeline/train.py) is exactly what the pipelines can hold: every estimator of MODELS, with numeric,
categorical and date columns, is fitted on a small table and saved; the types skops does not trust by default are
collected. A new estimator whose file holds another type fails here, naming it: add it to MODEL_TYPES if, and only
if, it is a class of the library you chose or a step of pipeline/features.py."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import skops.io

from {{ cookiecutter.module_name }}.pipeline import TASK, train
from {{ cookiecutter.module_name }}.pipeline.features import DateParts


def fitted_types(params, name: str, categorical: tuple[str, ...], tmp_path) -> set[str]:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    if categorical:
        features["c"] = rng.choice(["x", "y", "z"], 80)
        features["d"] = pd.date_range("2024-01-01", periods=80, freq="D")
    target = pd.Series(rng.integers(0, 2, 80) if TASK == "classification" else rng.normal(size=80))
    settings = replace(
        params,
        model=replace(params.model, name=name, params={}),
        data=replace(params.data, categorical=categorical),
    )
    model = train.build(settings, features).fit(features, target)
    path = tmp_path / f"{name}-{len(categorical)}.skops"
    skops.io.dump(model, path)
    return set(skops.io.get_untrusted_types(file=path))


def test_model_types_are_exactly_what_the_pipelines_hold(params, tmp_path):
    found = set()
    for name in train.MODELS[TASK]:
        for categorical in ((), ("c",)):
            types = fitted_types(params, name, categorical, tmp_path)
            unknown = types - train.MODEL_TYPES
            assert not unknown, (
                f"{name} holds {sorted(unknown)}: add them to MODEL_TYPES in pipeline/train.py"
            )
            found |= types
    extra = sorted(train.MODEL_TYPES - found)
    assert not extra, f"MODEL_TYPES names {extra}, which no pipeline holds: remove them"


@pytest.mark.parametrize("name", sorted(train.MODEL_TYPES))
def test_every_model_type_is_of_scikit_learn_numpy_or_the_feature_steps(name):
    module = name.rpartition(".")[0]
    wrapper = (
        name == "functools.partial"
    )  # its function is a type of its own in the file, checked as any other
    assert name.split(".")[0] in ("sklearn", "numpy") or module == DateParts.__module__ or wrapper, name
