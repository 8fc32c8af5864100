"""Every command that loads a model skips skops' scans of scikit-learn, numpy and scipy (issue 29: half a second to
a second per process, issue 30: the champion's importance) and decides exactly as skops does: the lists it builds
are skops' own but the scanned three, it claims no estimator that all_estimators() does not list, a type only
those lists could trust goes to skops' complete lists, and a file carrying code is still refused before it runs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fixture_model.pipeline import TASK, train

from ml_gitops.core import canonical, paths, skops_reader


def fresh_process(script: str, *arguments: str) -> dict:
    """`script` run by a new interpreter (no skops.io imported yet); its last line of output, as JSON."""
    ran = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.splitlines()[-1])


LOAD_THEN_COMPARE = """
import json, sys
from pathlib import Path
import numpy as np
import pandas as pd
from fixture_model.pipeline.train import MODEL_TYPES
from ml_gitops.core import files

def one_thread(model):  # a forest's threads add up its trees in any order: the same model, other last bits
    return model.set_params(**{name: 1 for name in model.get_params() if name.endswith("n_jobs")})

paths = [Path(path) for path in sys.argv[1:]]
loaded = [files.load_model(path, MODEL_TYPES) for path in paths]
scanned = "sklearn.utils._testing" in sys.modules  # all_estimators() imports it to walk scikit-learn
left = sorted(name for name in sys.modules if name.startswith("skops.io"))
import skops.io
from skops.io import _trusted_types
print(json.dumps({
    "scanned": scanned,
    "left": left,
    "types": [type(model).__name__ for model in loaded],
    "same": [
        repr(model) == repr(own) and np.array_equal(one_thread(model).predict(rows), one_thread(own).predict(rows))
        for model, path in zip(loaded, paths)
        for own in [skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))]
        for rows in [pd.read_parquet(path.with_suffix(".parquet"))]
    ],
    "complete": len(_trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES) > 100,
}))
"""


@pytest.fixture(scope="module")
def every_pipeline(tmp_path_factory) -> list[Path]:
    """A model file of every estimator of MODELS for this task, with and without category and date columns."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd
    from conftest import ROOT

    from ml_gitops.core import config

    folder, rng, written = tmp_path_factory.mktemp("pipelines"), np.random.default_rng(0), []
    settings = config.load(ROOT / "params.yaml")
    for name in train.MODELS[TASK]:
        for categorical in ((), ("c",)):
            features = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
            if categorical:
                features["c"] = rng.choice(["x", "y", "z"], 80)
                features["d"] = pd.date_range("2024-01-01", periods=80, freq="D")
            target = pd.Series(rng.integers(0, 2, 80) if TASK == "classification" else rng.normal(size=80))
            chosen = replace(
                settings,
                model=replace(settings.model, name=name, params={}),
                data=replace(settings.data, categorical=categorical),
            )
            path = folder / f"{name}-{len(categorical)}.skops"
            canonical.save_model(train.build(chosen, features).fit(features, target), path)
            features.to_parquet(path.with_suffix(".parquet"))
            written.append(path)
    return written


def test_every_pipeline_loads_without_the_scans_as_skops_loads_it(every_pipeline):
    loaded = fresh_process(LOAD_THEN_COMPARE, *map(str, every_pipeline))
    assert loaded["scanned"] is False
    assert loaded["left"] == [], "the short path's skops.io modules are forgotten"
    assert set(loaded["types"]) == {"Pipeline"}
    assert loaded["same"] == [True] * len(every_pipeline)
    assert loaded["complete"] is True, "the next import of skops.io builds every list"


LISTS = """
import json, sys
from ml_gitops.core import skops_reader

with skops_reader._unscanned_skops():
    short = {name: [str(item) for item in value] for name, value in vars(sys.modules[skops_reader.TRUST_LISTS]).items() if name.isupper()}
from skops.io import _trusted_types
complete = {name: [str(item) for item in value] for name, value in vars(_trusted_types).items() if name.isupper()}
print(json.dumps({"short": short, "complete": complete}))
"""


@pytest.mark.any_task
def test_the_lists_it_builds_are_skops_own_but_the_scanned_three_which_are_empty():
    lists = fresh_process(LISTS)
    short, complete = lists["short"], lists["complete"]
    assert set(short) == set(complete)
    for name in skops_reader.SCANNED:
        assert short[name] == [], name
        assert len(complete[name]) > 50, name
    assert {name: value for name, value in short.items() if name not in skops_reader.SCANNED} == {
        name: value for name, value in complete.items() if name not in skops_reader.SCANNED
    }


EVERY_CLASS = """
import inspect, json, sys
import skops.io
from skops.io import _trusted_types
from skops.io._utils import get_type_name
from ml_gitops.core import skops_reader

names = set(_trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES) | set(_trusted_types.SKLEARN_INTERNAL_TYPE_NAMES)
for module_name, module in list(sys.modules.items()):  # every module of scikit-learn all_estimators() imported
    if module_name.startswith("sklearn") and module is not None:
        for _, found in inspect.getmembers(module, inspect.isclass):
            names.add(get_type_name(found))
exported = {name.split("._")[0] + "." + name.rpartition(".")[2] for name in names}  # sklearn.ensemble.RandomForest...
names |= exported | {name + "Typo" for name in names} | {"sklearn.svm." + name.rpartition(".")[2] for name in names}
names |= {"sklearn.base.BaseEstimator", "sklearn.BaseEstimator", "sklearn.tests.test_base.T", "os.system"}
print(json.dumps({
    "claimed": sorted(name for name in names if skops_reader.listed_by_all_estimators(name)),
    "listed": sorted(_trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES),
    "tried": len(names),
}))
"""


@pytest.mark.any_task
def test_it_claims_exactly_the_estimators_all_estimators_lists_among_every_class_of_scikit_learn():
    found = fresh_process(EVERY_CLASS)
    assert found["tried"] > 2000
    assert set(found["claimed"]) - set(found["listed"]) == set(), "never one skops does not trust"
    assert found["claimed"] == found["listed"]


FUNCTION_TRANSFORMER = """
import json, sys
import numpy as np
from pathlib import Path
from sklearn.preprocessing import FunctionTransformer
from ml_gitops.core import canonical, files

path = Path(sys.argv[1])
canonical.save_model(FunctionTransformer(np.log1p).fit([[1.0], [2.0]]), path)
for name in [name for name in sys.modules if name.startswith("skops.io")]:
    del sys.modules[name]
loaded = files.load_model(path, frozenset())
print(json.dumps({"scanned": "sklearn.utils._testing" in sys.modules, "func": loaded.func.__name__}))
"""


@pytest.mark.any_task
def test_a_type_only_a_scanned_list_trusts_is_judged_by_skops_complete_lists(tmp_path):
    """numpy.log1p is trusted by skops' ufunc list alone: the short path cannot show it, skops' lists trust it."""
    loaded = fresh_process(FUNCTION_TRANSFORMER, str(tmp_path / "log.skops"))
    assert loaded == {"scanned": True, "func": "log1p"}


REFUSED = """
import json, sys
from pathlib import Path
from fixture_model.pipeline.train import MODEL_TYPES
from ml_gitops import UserError
from ml_gitops.core import files

said = []
for path in sys.argv[1:]:
    try:
        files.load_model(Path(path), MODEL_TYPES)
        said.append("loaded")
    except UserError as error:
        said.append(str(error))
print(json.dumps({"said": said, "left": sorted(name for name in sys.modules if name.startswith("skops.io"))}))
"""


def test_a_file_carrying_code_or_damaged_is_refused_as_before_and_nothing_runs(trained, tmp_path):
    from test_model_files import payloads, with_call

    marker = tmp_path / "ran"
    poisoned = []
    for index, (function, argument) in enumerate(payloads(marker)):
        poisoned.append(tmp_path / f"poisoned-{index}.skops")
        with_call(paths.MODEL, poisoned[-1], function, argument)
    damaged = tmp_path / "damaged.skops"
    damaged.write_bytes(paths.MODEL.read_bytes()[:200])
    said = fresh_process(REFUSED, *map(str, [*poisoned, damaged]))["said"]
    assert said[:-1] == [
        f"{path} contains untrusted types ({function}): refusing to load it"
        for path, (function, _) in zip(poisoned, payloads(marker), strict=True)
    ]
    assert said[-1].startswith(f"{damaged} is not a readable skops model (")
    assert not marker.exists(), "nothing of the payloads ran"


def test_a_process_that_imported_skops_keeps_it(trained):
    import skops.io  # noqa: F401 - the process has imported it

    from ml_gitops.core import files

    before = sys.modules["skops.io"]
    assert type(files.load_model(paths.MODEL, train.MODEL_TYPES)).__name__ == "Pipeline"
    assert sys.modules["skops.io"] is before


def test_a_load_reads_the_file_s_tree_once(trained, monkeypatch):
    """skops.io.get_untrusted_types and skops.io.load each build the whole tree, reading every array of the file:
    half of every load. The reader builds it once, audits it and constructs it as load does."""
    import skops.io

    from ml_gitops.core import files

    built = []
    get_tree = skops.io._persist.get_tree
    monkeypatch.setattr(
        skops.io._persist, "get_tree", lambda *args, **kwargs: built.append(1) or get_tree(*args, **kwargs)
    )
    assert type(files.load_model(paths.MODEL, train.MODEL_TYPES)).__name__ == "Pipeline"
    assert len(built) == 1
