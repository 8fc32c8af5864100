"""The model-gate verdict, decided on the trusted side (model-report.yml, the default branch's code) from the checked
artifact, the model-pr run's conclusion and the pull request's files as GitHub lists them.

The pull request's own code wrote the artifact, so nothing it concludes is taken: the gate is computed again here,
from the candidate's number for the gate metric, the champion's number committed on the default branch, and the
gate settings of the default branch's params.yaml (never the pull request's). A run that did not succeed never
gets success. What this cannot check (that the candidate's numbers are what its code really computes) is the
reviewers' job, which CODEOWNERS makes a code owner's, and the release's, which reproduces them.
"""

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
    detail: str = ""  # the verdict's reasons, written above the report


def decide(directory: Path, head_sha: str, run_conclusion: str) -> Verdict:
    if not directory.exists() and run_conclusion == "failure":
        return Verdict(0, head_sha, "failure", "The model-pr run failed before writing its report", False)
    summary = artifact.check_artifact(directory, head_sha)
    number = summary["pull_request"]
    changed = inputs.model_inputs(inputs.changed_in_pull_request(number))
    if changed and not summary.get("model_inputs_changed", True):
        reason = f"Model inputs changed ({changed[0]}), but nothing was trained"
        return Verdict(number, head_sha, "failure", reason, True, reason)
    if not changed:
        earlier = comment.existing_report(number) is not None
        return Verdict(
            number, head_sha, "success", "No model input changed: nothing to train or gate", earlier
        )
    passed, detail = gate_again(summary["metrics"])
    if not passed:
        return Verdict(number, head_sha, "failure", "The candidate model failed the gate", True, detail)
    if run_conclusion != "success":
        return Verdict(
            number, head_sha, "failure", "The model-pr run failed", True, f"The model-pr run failed. {detail}"
        )
    return Verdict(number, head_sha, "success", "The candidate model passed the gate", True, detail)


def refused(head_sha: str, reason: str) -> Verdict:
    """The verdict on an artifact the checks refused: a failure, with the reason, and no comment."""
    return Verdict(0, head_sha, "failure", f"The report was refused: {reason}"[:140], False)


def gate_again(candidate: dict[str, float]) -> tuple[bool, str]:
    """The gate of the default branch's params.yaml, on the candidate's number and the committed champion's."""
    from ..core import config, paths
    from ..pipeline.metrics import DIRECTIONS

    settings = config.load()
    metric, tolerance = settings.gate.metric, settings.gate.tolerance
    rule = f"{metric} may drop by at most {tolerance} (params.yaml on the default branch)"
    new = candidate.get(metric)
    if new is None:
        return False, f"The report gives no {metric}, the gate's metric: {rule}."
    champion = json.loads(paths.METRICS.read_text(encoding="utf-8")) if paths.METRICS.exists() else {}
    old = champion.get(metric)
    if old is None:
        return True, f"No champion {metric} on the default branch: the first model passes. {rule}."
    loss = (old - new) * DIRECTIONS[settings.task][metric]
    verdict = "passes" if loss <= tolerance else "fails"
    return loss <= tolerance, f"{metric} {old:.4f} -> {new:.4f} ({new - old:+.4f}) {verdict}: {rule}."


def write(verdict: Verdict, path: Path) -> None:
    path.write_text(json.dumps(asdict(verdict)), encoding="utf-8")


def read(path: Path) -> Verdict:
    return Verdict(**json.loads(path.read_text(encoding="utf-8")))
