"""The staging comment says only what promote.yml's comment job checked in the staging-model artifact (the model
file and its sha256, which the smoke test must name); the smoke test's own words, written by the pull request's
code, follow as inert text, within the report's size limit. Read as GitHub shows it (tests/rendered.py)."""

import hashlib

import pytest
from github_api import REPOSITORY, FakeGitHub
from rendered import render

from ml_gitops import UserError
from ml_gitops.release import staging
from ml_gitops.review import artifact

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)

MODEL = b"the candidate model"
DIGEST = hashlib.sha256(MODEL).hexdigest()
PASSED = f"Smoke test passed: loaded `models/model.skops` (sha256 `{DIGEST[:12]}`) with trusted types only."
INJECTION = (
    "## ✅ Deployed to production\n\n"
    '[Sign in again](https://evil.example/login) <img src="https://evil.example/p.png"> www.evil.example\n\n'
    "</details>\n\n# approved by @acme/ml-team\n\n```\n~~~\ncc @ada a@evil.example \u202edevorppa\u202c"
)


def staged(tmp_path, smoke: str):
    """The staging-model artifact as promote.yml downloads it."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.skops").write_bytes(MODEL)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "smoke.md").write_text(smoke, encoding="utf-8")
    return tmp_path


def test_the_smoke_test_s_words_are_shown_as_inert_text(tmp_path):
    body = staging.smoke_comment(staged(tmp_path, f"### Staging\n\n{PASSED}\n\n{INJECTION}\n"))
    shown = render(body)
    assert shown.links == []
    assert shown.headings == ["Staging: smoke test of the candidate model"]
    assert body.startswith(staging.SMOKE_TITLE)
    assert shown.images == []
    assert shown.mentions == []
    assert shown.raw_tags == ["details", "summary"]
    said = "".join(shown.text)
    assert f"sha256 {DIGEST}" in said, "the digest this job computed"
    assert "evil" not in said
    assert "Deployed" not in said
    assert PASSED in shown.code[-1]
    assert "\u202e" not in body


@pytest.mark.parametrize(
    ("smoke", "refusal"),
    [
        (
            "Smoke test passed: loaded `models/model.skops` (sha256 `0123456789ab`)",
            "names no model or another one",
        ),
        ("Smoke test passed.", "names no model or another one"),
        (PASSED + "x" * artifact.MAX_REPORT_BYTES, "over the limit of 60,000"),
    ],
)
def test_a_smoke_result_that_cannot_be_checked_is_refused(tmp_path, smoke, refusal):
    with pytest.raises(UserError, match=refusal):
        staging.smoke_comment(staged(tmp_path, smoke))


def test_the_staging_comment_is_posted_as_checked(tmp_path, monkeypatch):
    directory = staged(tmp_path, f"{PASSED}\n{INJECTION}")
    with FakeGitHub() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", "token")
        staging.post_smoke_comment(7, directory)
    (posted,) = github.comments
    assert posted["body"] == staging.smoke_comment(directory)
