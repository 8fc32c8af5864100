"""The trusted side (model-report.yml, the default branch's code and params.yaml) judges the segments again: the
columns, tolerances, minimum rows, gate.segments and the Bonferroni correction are the default branch's, never the
pull request's; a report without a segment the default branch names fails closed; the comment's segment table is
the judged one, every value inert."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from fixture_model.pipeline import TASK
from rendered import render
from test_segments import HOSTILE, two_models, with_segments

from ml_gitops import metrics
from ml_gitops.core import config, paths
from ml_gitops.review import comment, segments, verdict
from ml_gitops.review.verdict import Verdict

HEAD = "a" * 40


def summary_of(settings, old, new, values) -> dict:
    """report.json as the pull request's run writes it, the champion's metrics committed as main holds them."""
    paths.METRICS.parent.mkdir(parents=True, exist_ok=True)
    paths.METRICS.write_text(json.dumps(metrics.compute(settings.task, old)))
    lock = {"stages": {"train": {"outs": [{"path": str(paths.MODEL), "md5": "c" * 32}]}}}
    Path("dvc.lock").write_text(json.dumps(lock))
    measured = segments.measure(settings, new, old, segments.labels(settings, values))
    return {
        "pull_request": 7,
        "head_sha": HEAD,
        "gate": "pass",  # what the pull request's code concluded: never taken
        "metrics": metrics.compute(settings.task, new),
        "segments": segments.to_summary(settings.gate.metric, measured),
        "champion_model": "c" * 32,  # the champion it scored: the one dvc.lock records on the default branch
    }


def test_the_default_branch_s_segments_fail_a_candidate_better_overall(params):
    settings = with_segments(params, {"region": {}})
    summary = summary_of(settings, *two_models(params.task))
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert detail.startswith(f"segment region = north is worse: {settings.gate.metric} ")
    assert "Bonferroni over 4 segments" in detail
    assert detail.endswith("(gate.segments: block)")


def test_the_pull_request_cannot_turn_the_segment_gate_off_by_leaving_them_out(params):
    settings = with_segments(params, {"region": {}})
    summary = summary_of(settings, *two_models(params.task))
    del summary["segments"]
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert detail.startswith(
        "The report gives no segments of 'region', which params.yaml on the default branch names under "
        "segments.columns: the gate fails closed."
    )


def test_a_segment_the_default_branch_judges_without_an_interval_fails_closed(params):
    """A report without an interval for a segment the default branch's segments.min_rows says to judge (that
    branch lowered it since the pull request's base): north was passed as "no interval"."""
    measured_with = with_segments(params, {"region": {}}, min_rows=10_000)
    summary = summary_of(measured_with, *two_models(params.task))
    with_segments(params, {"region": {}}, min_rows=100)
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert detail.startswith("The report gives no interval for the segment region = ")
    assert (
        "which segments.min_rows on the default branch (100) says must be judged: the gate fails closed"
        in detail
    )
    # with gate.segments: report no segment can fail the gate, so there is nothing to close
    with_segments(params, {"region": {}}, min_rows=100, mode="report")
    assert "The report gives no interval" not in verdict.gate_again(summary)[1]


def test_the_report_measures_every_segment_its_base_judges(params):
    """A pull request that raises segments.min_rows still gives the intervals its base's judges, so the trusted
    side, which judges by the default branch's, does not fail it closed for want of them."""
    from ml_gitops.review import report

    with_segments(params, {"region": {}}, min_rows=100)
    for command in (
        ["init", "-q"],
        ["add", "params.yaml"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
    ):
        subprocess.run(["git", *command], check=True)
    base = subprocess.run(
        ["git", "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    raised = with_segments(params, {"region": {}}, min_rows=10_000)
    old, new, values = two_models(params.task)
    segments.SEGMENTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    values.to_parquet(segments.SEGMENTS_FILE)
    measured = report._segments(raised, new, old, base)
    assert all(segment.low is not None for segment in measured)
    summary = summary_of(raised, old, new, values) | {
        "segments": segments.to_summary(raised.gate.metric, measured)
    }
    with_segments(params, {"region": {}}, min_rows=100)  # the default branch's
    passed, detail = verdict.gate_again(summary)
    assert not passed
    assert detail.startswith("segment region = north is worse: ")


@pytest.mark.parametrize(("columns", "mode"), [({"region": {}}, "report"), ({}, "block")])
def test_the_default_branch_s_settings_decide_not_the_report_s(params, columns, mode):
    """The pull request's run measured region (its params.yaml names it); the default branch only reports
    segments, or names none: the trusted gate passes on the overall metric."""
    measured_with = with_segments(params, {"region": {}})
    summary = summary_of(measured_with, *two_models(params.task))
    with_segments(params, columns, mode=mode)
    passed, detail = verdict.gate_again(summary)
    assert passed, detail
    assert "segment region = north is worse" not in detail or mode == "report"


def test_a_malformed_segment_in_report_json_is_refused(params):
    settings = with_segments(params, {"region": {}})
    summary = summary_of(settings, *two_models(params.task, rows_per_region=200))
    summary["segments"]["columns"]["region"][0]["rows"] = "many"
    with pytest.raises(Exception, match="report.json has a segment whose rows are not a count"):
        verdict.gate_again(summary)


def test_the_comment_tables_the_judged_segments_and_every_value_is_inert(params, tmp_path):
    old, new, values = two_models(params.task)
    values["region"] = values["region"].replace("north", HOSTILE)
    settings = with_segments(params, {"region": {}})
    summary = summary_of(settings, old, new, values)
    directory = tmp_path / "artifact"
    (directory / "plots").mkdir(parents=True)
    (directory / "report.md").write_text("## Model report: whatever\n\nthe run's report", encoding="utf-8")
    (directory / "report.json").write_text(json.dumps(summary))
    passed, detail = verdict.gate_again(summary)
    assert not passed
    failed = Verdict(7, HEAD, "failure", "The candidate model failed the gate", True, detail, "failed")
    body = f"{comment.MARKER}\n{comment.compose(directory, 'mermaid', comment.headline(failed))}"
    shown = render(body)
    assert "Segments" in shown.headings
    assert "region" in shown.headings
    assert (shown.links, shown.images, shown.mentions, shown.references) == ([], [], [], [])
    assert shown.raw_tags == ["details", "summary"]  # the collapsed report's, nothing of the segment's
    text = "".join(shown.text).replace("\u200b", "")
    assert f"{HOSTILE} | 1,500 |" not in text  # a table cell, not a column break
    assert text.count(HOSTILE) == 2  # in the headline's reason and in the table, as it is written
    assert "❌ worse" in body
    assert "judged with the default branch's params.yaml (segments, gate.segments: block)" in body


def test_a_column_only_the_pull_request_names_is_named_not_judged(params, tmp_path):
    measured_with = with_segments(params, {"region": {}})
    summary = summary_of(measured_with, *two_models(params.task))
    raw = yaml.safe_load(paths.PARAMS.read_text())
    del raw["segments"]
    paths.PARAMS.write_text(yaml.safe_dump(raw))
    assert config.load().segments.columns == ()
    section = comment.segments_section(summary)
    assert section == (
        "### Segments\n\nThe run also measured region, which the default branch does not name: see its report below."
    )


DOCS = Path(__file__).resolve().parents[3] / "docs" / "getting-started.md"


@pytest.mark.skipif(TASK != "classification", reason="the docs show the default project, a classifier")
def test_the_getting_started_page_shows_the_comment_s_segments_as_this_code_writes_them(params):
    """docs/getting-started.md quotes the comment's segment table of the example here: regenerate it with
    `ML_GITOPS_DOCS=write` when this code changes the table."""
    old, new, values = two_models(params.task)
    values["plan"] = np.where(np.arange(len(values)) % 100 == 0, "enterprise", "standard")
    settings = with_segments(params, {"region": {}, "plan": {}})
    section = comment.segments_section(summary_of(settings, old, new, values))
    if os.environ.get("ML_GITOPS_DOCS") == "write":
        page = DOCS.read_text(encoding="utf-8")
        start, end = page.index(DOCS_START) + len(DOCS_START), page.index(DOCS_END)
        DOCS.write_text(f"{page[:start]}\n{section}\n{page[end:]}", encoding="utf-8")
    assert f"{DOCS_START}\n{section}\n{DOCS_END}" in DOCS.read_text(encoding="utf-8")


DOCS_START = "<!-- segments example: package/tests/review/test_segments_trusted.py -->"
DOCS_END = "<!-- end of the segments example -->"
