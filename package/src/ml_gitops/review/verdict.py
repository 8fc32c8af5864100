"""The model-gate verdict, decided on the trusted side (model-report.yml, the default branch's code) from the checked
artifact, the model-pr run's conclusion and the pull request's files as GitHub lists them.

The pull request's own code wrote the artifact, so nothing it concludes is taken: the gate is computed again here,
from the candidate's number for the gate metric, the champion's number committed on the default branch, and the
gate settings of the default branch's params.yaml (never the pull request's). A run that did not succeed never
gets success. What this cannot check (that the candidate's numbers are what its code really computes) is the
reviewers' job, which CODEOWNERS makes a code owner's, and the release's, which reproduces them.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import artifact, comment, inputs

if TYPE_CHECKING:
    from .segments import Judgement, Segment

NO_STATUS = ""  # a verdict that sets no model-gate status (unjudged)
INCONCLUSIVE = "inconclusive"  # review/gate.py's, named here so the module needs only the standard library

WHAT_TO_DO = (
    "Judge the candidate on its own metrics and intervals in the report. To make it the champion that later pull "
    "requests are compared with, a repository admin merges it past the model-gate check by adding themselves to the "
    "main ruleset's bypass list (Settings, Rules), which GitHub records."
)


@dataclass(frozen=True)
class Verdict:
    pull_request: int
    head_sha: str
    state: str  # success or failure: the model-gate status
    description: str  # at most 140 characters, GitHub's limit for a status
    comment: bool  # whether the report is posted (or an earlier one updated)
    detail: str = ""  # the verdict's reasons, written above the report
    outcome: str = ""  # the gate's: passed, failed, inconclusive (review/gate.py); "" when no gate was judged


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
    passed, detail, outcome = judge_again(summary)
    if passed is None:
        description = f"Not comparable with the champion: {summary['comparison']}"
        return Verdict(number, head_sha, "failure", description, True, detail)
    if not passed:
        description = (
            "The gate is inconclusive, which blocks the merge (gate.inconclusive: block)"
            if outcome == INCONCLUSIVE
            else "The candidate model failed the gate"
        )
        return Verdict(number, head_sha, "failure", description, True, detail, outcome)
    if run_conclusion != "success":
        return Verdict(
            number, head_sha, "failure", "The model-pr run failed", True, f"The model-pr run failed. {detail}"
        )
    description = (
        "The gate is inconclusive, which passes (gate.inconclusive: pass)"
        if outcome == INCONCLUSIVE
        else "The candidate model passed the gate"
    )
    return Verdict(number, head_sha, "success", description, True, detail, outcome)


def unjudged(head_sha: str, reason: str) -> Verdict:
    """The verdict on a pull request the gate does not judge (not into the default branch): no status, no comment."""
    return Verdict(0, head_sha, NO_STATUS, reason[:140], False)


def refused(head_sha: str, reason: str) -> Verdict:
    """The verdict on an artifact the checks refused: a failure, with the reason, and no comment."""
    return Verdict(0, head_sha, "failure", f"The report was refused: {reason}"[:140], False)


def gate_again(summary: dict) -> tuple[bool | None, str]:
    """judge_again's verdict and reasons (None: not comparable)."""
    passed, detail, _ = judge_again(summary)
    return passed, detail


def judge_again(summary: dict) -> tuple[bool | None, str, str]:
    """The gate of the default branch's params.yaml, on the candidate's number and the champion's: the number
    committed on the default branch, or, when the report scored the champion again on a changed test set, both
    models' numbers on the rows both were judged on (as much the pull request's word as the candidate's own), with
    the report's interval of the delta when it gives a valid one. None: not comparable. Also the gate's outcome."""
    from ..core import config, paths
    from . import gate, segments

    settings = config.load()
    metric = settings.gate.metric
    rule = f"{metric} may drop by at most {settings.gate.describe()} (params.yaml on the default branch)"
    new = summary["metrics"].get(metric)
    if new is None:
        return False, f"The report gives no {metric}, the gate's metric: {rule}.", gate.FAILED
    committed = json.loads(paths.METRICS.read_text(encoding="utf-8")) if paths.METRICS.exists() else {}
    if committed.get(metric) is None:
        return (
            True,
            f"No champion {metric} on the default branch: the first model passes. {rule}.",
            gate.PASSED,
        )
    comparison = summary.get("comparison", artifact.SAME_ROWS)
    if comparison in artifact.NOT_COMPARABLE:
        return (
            None,
            f"The champion's numbers cannot judge this candidate ({comparison}). {WHAT_TO_DO}",
            gate.NOT_COMPARABLE,
        )
    old = committed[metric]
    judges_segments = bool(settings.segments.columns) and settings.segments.blocks
    # where the report's own numbers of the champion decide, they must be of the default branch's champion
    if (comparison == artifact.RESCORED or judges_segments) and (stale := _another_champion(summary)):
        return False, stale, gate.FAILED
    if comparison == artifact.RESCORED:
        old = summary["champion_metrics"].get(metric, old)
        new = _number(summary.get("compared_metrics", {}), metric, new)
    interval, rows = _interval(summary, metric)
    measured_against = _number(summary.get("champion_metrics"), metric, math.nan)
    stale = comparison != artifact.RESCORED and interval is not None and measured_against != old
    if stale:  # another champion merged since the pull request's base: its interval is not of this delta
        interval, rows = None, 0
    outcome, _ = gate.judge(settings, old, new, interval, rows)
    judgement, missing = segments_again(settings, summary)
    if missing:
        return False, missing, gate.FAILED
    outcome, by_segment = gate.with_segments(outcome, "", judgement, settings.segments.blocks)
    passed = outcome == gate.PASSED or (outcome == INCONCLUSIVE and not settings.gate.blocks_inconclusive)
    compared = f", the {comparison}" if comparison == artifact.RESCORED else ""
    if stale:
        against = (
            f"another champion ({metric} {measured_against:.4f})"
            if math.isfinite(measured_against)
            else "a champion it does not name"
        )
        compared = f"; the report's interval was measured against {against}, so the point estimate decides"
    judged = f" on {rows:,} rows" if rows else ""
    spread = f", 95% interval {interval.low:+.4f} to {interval.high:+.4f}" if interval else ""
    change = f"{metric} {old:.4f} -> {new:.4f} ({new - old:+.4f}{spread}{judged}{compared})"
    word = {gate.PASSED: "passes", gate.FAILED: "fails", INCONCLUSIVE: "is inconclusive"}[outcome]
    blocks = (
        (" and blocks the merge" if not passed else " and passes (gate.inconclusive: pass)")
        if outcome == INCONCLUSIVE
        else ""
    )
    overall = f"{change} {word}{blocks}: {rule}."
    if by_segment and outcome == gate.FAILED and judgement is not None and judgement.failures:
        reason = segments.failure_reason(judgement, overall, shown=str)  # comment.headline escapes it all
        return passed, f"{reason} (gate.segments: block)", outcome
    return passed, overall, outcome


def segments_again(settings, summary: dict) -> tuple["Judgement | None", str]:
    """The report's segments of the columns the default branch's params.yaml names, judged with its settings
    (tolerances, segments.min_rows, gate.segments, and the Bonferroni correction over its own count); and why
    the gate fails closed when the report lacks one of them ("" when it does not)."""
    from . import segments

    names = [column.name for column in settings.segments.columns]
    if not names:
        return None, ""
    metric, found = segments.from_summary(summary)
    given = {segment.column for segment in found}
    absent = [name for name in names if name not in given]
    if metric != settings.gate.metric or absent:
        what = f"no {settings.gate.metric} per segment" if found else "no segments"
        return None, (
            f"The report gives {what} of {', '.join(repr(name) for name in (absent or names))}, which params.yaml on "
            "the default branch names under segments.columns: the gate fails closed. Merge the default branch into "
            "the pull request, so its run measures them."
        )
    kept = [segment for segment in found if segment.column in names]
    if foreign := _cut_with_other_bins(settings.segments.columns, kept):
        return None, (
            f"The report cuts {foreign.column!r} into a segment {foreign.value!r} that the bins params.yaml on the "
            "default branch sets do not make: the gate fails closed. Merge the default branch into the pull request, "
            "so its run measures the segments the default branch names."
        )
    unmeasured = _without_interval(kept, settings.segments.min_rows) if settings.segments.blocks else None
    if unmeasured:  # the comment's headline makes the whole detail inert text
        return None, (
            f"The report gives no interval for the segment {unmeasured.column} = {unmeasured.value} "
            f"({unmeasured.rows:,} rows), which segments.min_rows on the default branch "
            f"({settings.segments.min_rows:,}) says must be judged: the gate fails closed. Merge the default branch "
            "into the pull request, so its run measures it."
        )
    return segments.judge(settings.task, metric, kept, settings.segments, settings.gate), ""


def _cut_with_other_bins(columns, kept: list) -> "Segment | None":
    """The first segment of a column the default branch cuts at bins whose value is not one of the ranges those
    bins make: the pull request's own bins would hide the default branch's segments from the gate."""
    from . import segments

    for column in columns:
        if not column.bins:
            continue
        ranges = {*segments._range_names([segments._edge(edge) for edge in column.bins]), segments.MISSING}
        for segment in kept:
            if segment.column == column.name and segment.value not in ranges:
                return segment
    return None


def _another_champion(summary: dict) -> str:
    """Why the champion the report scored is not the model the default branch's dvc.lock records now ("" when it
    is): another pull request merged a model since this one's base, or the report does not say which it scored."""
    import yaml

    from ..core import paths

    lock = Path("dvc.lock")
    recorded = yaml.safe_load(lock.read_text(encoding="utf-8")) if lock.is_file() else None
    stages = recorded.get("stages") if isinstance(recorded, dict) else None
    outs = [
        entry
        for stage in (stages.values() if isinstance(stages, dict) else [])
        if isinstance(stage, dict)
        for entry in stage.get("outs") or []
        if isinstance(entry, dict) and entry.get("path") == str(paths.MODEL)
    ]
    now = str(outs[0].get("md5", "")) if outs else ""
    scored = summary.get("champion_model")
    if now and scored == now:
        return ""
    return (
        "The report compared the candidate with another champion than the one on the default branch now (a model "
        "merged since this pull request's base, or the report does not say which it scored): the gate fails "
        "closed. Merge the default branch into the pull request, so its run compares with that champion."
    )


def _without_interval(kept: list, min_rows: int):
    """The first segment large enough to judge, with both models' metric, that the report gave no interval (its run
    measures every segment its own or its base's segments.min_rows judges: the default branch changed it since),
    which judging as "no interval" passed."""
    return next(
        (
            s
            for s in kept
            if s.rows >= min_rows and None not in (s.champion, s.candidate) and None in (s.low, s.high)
        ),
        None,
    )


def _number(values: object, name: str, default: float) -> float:
    value = values.get(name) if isinstance(values, dict) else None
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return value if finite else default


def _interval(summary: dict, metric: str):
    """The report's interval of `metric`'s delta and its rows, when both are valid and it is of that metric (a pull
    request may change gate.metric: its interval is then of another); else (None, 0): the point estimate alone
    decides, as before intervals."""
    from .compare import Interval

    given, rows = summary.get("interval"), summary.get("judged_rows")
    if not isinstance(given, dict) or given.get("metric") != metric:
        return None, 0
    low, high = (_number(given, key, math.nan) for key in ("low", "high"))
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        return None, 0
    valid_rows = isinstance(rows, int) and not isinstance(rows, bool) and rows > 0
    return Interval(low, high, paired=True), rows if valid_rows else 0


def write(verdict: Verdict, path: Path) -> None:
    path.write_text(json.dumps(asdict(verdict)), encoding="utf-8")


def read(path: Path) -> Verdict:
    return Verdict(**json.loads(path.read_text(encoding="utf-8")))
