"""Which version a merge registers: the pull request's label chooses the bump."""

import pytest

from ml_gitops import UserError
from ml_gitops.release import register

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


def with_labels(monkeypatch, *labels):
    pulls = [{"number": 5, "labels": [{"name": name} for name in labels]}]
    monkeypatch.setattr(register.client, "api", lambda method, path, body=None: pulls)


@pytest.mark.parametrize(
    ("labels", "bump"), [((), "minor"), (("model:major",), "major"), (("model:patch", "docs"), "patch")]
)
def test_label_chooses_the_bump(monkeypatch, labels, bump):
    with_labels(monkeypatch, *labels)
    assert register.bump_for("a" * 40) == bump


def test_two_bump_labels_are_refused(monkeypatch):
    with_labels(monkeypatch, "model:major", "model:patch")
    with pytest.raises(UserError, match="has both model:major and model:patch: keep one"):
        register.bump_for("a" * 40)


def test_first_versions_follow_semantic_versioning():
    assert register.FIRST_VERSION == {"major": "v1.0.0", "minor": "v0.1.0", "patch": "v0.0.1"}
    assert register.VERSION_TAG.match("model@v1.2.3")
    assert not register.VERSION_TAG.match("model@v1.2.3!")
