"""The train stage writes its model without skops' scan of scikit-learn (issue 29: half a second of every fresh
`dvc repro`), and the process's next `import skops.io` is skops' own, with every trust list built: a load after a
dump checks as much as a load alone."""

import json
import subprocess
import sys

import pytest

from ml_gitops.core.skops_writer import Unreadable

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

DUMP_THEN_LOAD = """
import json, sys
from sklearn.linear_model import LogisticRegression
from ml_gitops.core import canonical, skops_writer

model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
written = skops_writer.dumps(model)
scanned = "sklearn.utils._testing" in sys.modules  # all_estimators imports it to walk scikit-learn
left = sorted(name for name in sys.modules if name.startswith("skops.io"))
import skops.io
from skops.io import _trusted_types
print(json.dumps({
    "scanned": scanned,
    "left": left,
    "same": canonical.canonical(written) == canonical.canonical(skops.io.dumps(model)),
    "untrusted": skops.io.get_untrusted_types(data=written),
    "trusted": "sklearn.linear_model._logistic.LogisticRegression" in _trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES,
    "loaded": type(skops.io.loads(written)).__name__,
}))
"""


@pytest.fixture(scope="module")
def dump_then_load() -> dict:
    ran = subprocess.run([sys.executable, "-c", DUMP_THEN_LOAD], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.splitlines()[-1])


def test_a_model_is_written_without_scanning_scikit_learn(dump_then_load):
    assert dump_then_load["scanned"] is False
    assert dump_then_load["left"] == [], "the writer's skops.io modules are forgotten"


def test_the_bytes_are_skops_own(dump_then_load):
    assert dump_then_load["same"] is True


def test_the_next_import_of_skops_trusts_exactly_what_skops_trusts(dump_then_load):
    assert dump_then_load["trusted"] is True
    assert dump_then_load["untrusted"] == []
    assert dump_then_load["loaded"] == "LogisticRegression"


@pytest.mark.parametrize(
    "use",
    [list, len, bool, lambda names: "x" in names, lambda names: names + [], lambda names: [] + names],
)
def test_a_trust_list_not_built_refuses_to_be_read(use):
    with pytest.raises(RuntimeError, match="SKLEARN_ESTIMATOR_TYPE_NAMES was not built"):
        use(Unreadable("SKLEARN_ESTIMATOR_TYPE_NAMES"))
