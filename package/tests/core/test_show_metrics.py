"""`make repro` ends with `show-metrics`: the metrics file as a table, in place of `dvc metrics show`."""

import json

import pytest

from ml_gitops import cli
from ml_gitops.core import paths

pytestmark = pytest.mark.any_task  # run in the classification pass only (tests/conftest.py)


def test_every_metric_evaluate_wrote_is_printed_with_its_value(trained, capsys):
    assert cli.main(["show-metrics"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(paths.METRICS)
    printed = dict(line.split() for line in lines[1:])
    written = json.loads(paths.METRICS.read_text())
    assert printed.keys() == written.keys()
    for name, value in written.items():
        assert float(printed[name]) == pytest.approx(value, abs=5e-6), name


@pytest.mark.parametrize("content", [None, "{not json", "{}", "[1, 2]"])
def test_no_metrics_is_one_line_saying_to_run_the_pipeline(workdir, capsys, content):
    if content is not None:
        paths.METRICS.parent.mkdir(parents=True, exist_ok=True)
        paths.METRICS.write_text(content)
    assert cli.main(["show-metrics"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: {paths.METRICS}")
    assert "run dvc repro" in captured.err
