"""What the data says (class labels, column names, the target's name, an error's text) reaches report.md, which the
model-pr job appends to its summary, rendered by GitHub: it shows there as the text it is, never as a link, an
image, HTML or a mention, and never makes the artifact check refuse the whole report."""

import subprocess

import pandas as pd
import pytest
from fixture_model.pipeline import TASK
from rendered import render

from ml_gitops.review import artifact, comparable, gate, report

LABEL = "![x](https://evil.example/t.png) <img src=https://evil.example/i.png> @octocat `a` [b](c) d](e"


def assert_inert(markdown: str, tmp_path) -> None:
    """`markdown` renders no link, image, raw HTML, mention or reference, shows LABEL as written, and passes the
    artifact's link check."""
    shown = render(markdown)
    assert [shown.links, shown.images, shown.raw_tags, shown.mentions, shown.references] == [[]] * 5
    assert LABEL in "".join(shown.text).replace("\u200b", "")
    artifact._check_links(markdown, tmp_path)  # raises on anything it reads as a link or an HTML image


@pytest.mark.skipif(TASK != "classification", reason="a class label")
def test_a_rare_class_s_label_in_the_small_test_set_warning_is_inert(params, tmp_path):
    labels = ["a"] * 150 + [LABEL] * 3
    warning = report.small_test_set_warning(params, pd.DataFrame({"y_true": labels, "y_pred": labels}))
    assert_inert(warning, tmp_path)


@pytest.mark.skipif(TASK != "classification", reason="a binary classifier's positive class")
def test_the_positive_class_s_label_is_inert(params, tmp_path):
    candidate = pd.DataFrame({"y_true": ["a", LABEL], "proba_a": [0.9, 0.1], f"proba_{LABEL}": [0.1, 0.9]})
    assert_inert(report.positive_class_note(params, candidate), tmp_path)


def test_what_makes_the_champion_incomparable_is_inert_in_the_caution_and_the_headline(params, tmp_path):
    comparison = comparable.Comparison(artifact.CLASSES, f"the target's classes changed (added {LABEL})")
    verdict = gate.verdict(params, {params.gate.metric: {"old": 0.5, "new": 0.5}}, comparison)
    assert_inert(report._not_comparable(comparison), tmp_path)
    assert_inert(report._headline(params, {}, verdict), tmp_path)


def test_the_detail_of_a_champion_scored_again_is_inert(params, tmp_path):
    comparison = comparable.Comparison(artifact.RESCORED, f"scored again without {LABEL}")
    interval = report.compare.Interval(-0.1, 0.1, paired=True)
    context = report._context("main", "0" * 40, pd.DataFrame(), pd.DataFrame(), {"x": interval}, comparison)
    assert_inert(context, tmp_path)


def test_column_names_types_and_classes_of_the_data_changes_are_inert(params, workdir, tmp_path):
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", "params.yaml"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], check=True)
    before = {"column_types": {LABEL: "int64", "kept": "int64"}, "class_balance": {LABEL: 0.5}}
    after = {"column_types": {f"new {LABEL}": "int64", "kept": LABEL}, "class_balance": {LABEL: 0.25}}
    lines = report.data_changes("HEAD", before, after, params)
    assert len(lines) == 4  # columns added, removed, retyped; the class balance
    for line in lines:
        assert_inert(f"- {line}", tmp_path)
