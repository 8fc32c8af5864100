"""One pull request end to end under act: model-pr (train, evaluate, report) then model-report (comment, status),
the harness of the PR review tests. Its time is compared with the work it wraps: the default project's repro."""

import math
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .common import TEMPLATE, Figure, run

TEST = "tests/e2e/test_pr_review.py::test_a_worse_candidate_fails_the_gate_and_its_status"


def act_pull_request(workdir: Path, repro_seconds: float) -> list[Figure]:
    """Run the e2e test and take the time of its call phase (setup bakes and trains the champion). A failed test
    is a figure that says so: the other benchmarks' figures are kept."""
    junit = workdir / "act-junit.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o"]
    command += ["junit_duration_report=call", f"--junitxml={junit}", TEST]
    try:
        run(command, TEMPLATE)
    except SystemExit as failure:
        print(failure, file=sys.stderr)
        seconds, target = float("nan"), "(the test failed: see the bench's output)"
    else:
        seconds, target = (
            float(ElementTree.parse(junit).getroot().find(".//testcase").get("time")),
            "(reported)",
        )
    return [
        Figure(
            "one pull request under act: model-pr + model-report",
            seconds,
            "the default project's fresh `dvc repro`",
            repro_seconds,
            target,
            not math.isnan(seconds),
        )
    ]
