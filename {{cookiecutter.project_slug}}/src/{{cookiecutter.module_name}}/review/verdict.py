"""The model-gate verdict, decided on the trusted side (model-report.yml) from the checked artifact, the model-pr
run's conclusion and the pull request's files as GitHub lists them. Standard library only."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from . import artifact, comment, inputs


@dataclass(frozen=True)
class Verdict:
    pull_request: int
    head_sha: str
    state: str  # success or failure: the model-gate status
    description: str  # at most 140 characters, GitHub's limit for a status
    comment: bool  # whether the report is posted (or an earlier one updated)


def decide(directory: Path, head_sha: str, run_conclusion: str) -> Verdict:
    if not directory.exists() and run_conclusion == "failure":
        return Verdict(0, head_sha, "failure", "The model-pr run failed before writing its report", False)
    summary = artifact.check_artifact(directory, head_sha)
    number = summary["pull_request"]
    changed = inputs.model_inputs(inputs.changed_in_pull_request(number))
    claimed = summary.get("model_inputs_changed", True)
    if changed and not claimed:
        return Verdict(
            number, head_sha, "failure", f"Model inputs changed ({changed[0]}), but nothing was trained", True
        )
    if not changed:
        earlier = comment.existing_report(number) is not None
        return Verdict(
            number, head_sha, "success", "No model input changed: nothing to train or gate", earlier
        )
    if run_conclusion != "success":
        reason = (
            "The candidate model failed the gate" if summary["gate"] == "fail" else "The model-pr run failed"
        )
        return Verdict(number, head_sha, "failure", reason, True)
    if summary["gate"] != "pass":
        return Verdict(number, head_sha, "failure", "The candidate model failed the gate", True)
    return Verdict(number, head_sha, "success", "The candidate model passed the gate", True)


def write(verdict: Verdict, path: Path) -> None:
    path.write_text(json.dumps(asdict(verdict)), encoding="utf-8")


def read(path: Path) -> Verdict:
    return Verdict(**json.loads(path.read_text(encoding="utf-8")))
