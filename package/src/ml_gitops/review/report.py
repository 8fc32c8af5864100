"""The pull-request report: metric deltas with bootstrap intervals, params and data changes, plots, the gate.

Writes reports/report.md (what the reviewer reads) and reports/report.json (the verdict and the pull request it
belongs to, for the workflow that posts the comment).
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import yaml

from ..core import files, paths, split
from ..core.config import Config
from ..core.shell import git, show
from ..metrics import DIRECTIONS, probability_columns
from . import champion, comparable, compare, gate, inputs, reliance, segments
from .markdown import inert
from .verdict import WHAT_TO_DO

PLOT_TITLES = {
    "roc": "ROC curve",
    "precision_recall": "Precision-recall",
    "confusion_matrix": "Confusion matrix",
    "predicted_vs_actual": "Predicted vs actual",
    "residuals": "Residuals",
    "feature_importance": "Feature importance",
}

MIN_TEST_ROWS = 100  # below these, the report warns that the test set is too small to trust its metrics
MIN_CLASS_ROWS = 10


def run(config: Config, base: str, images: str, pull_request: int | None, head_sha: str | None) -> None:
    commit = champion.resolve(base)
    changed = inputs.changed_since(commit)
    if not inputs.model_inputs(changed):
        write_unchanged(base, commit, changed, pull_request, head_sha)
        return
    candidate = pd.read_parquet(paths.PREDICTIONS)
    baseline = champion.predictions(commit)
    own = gate.metrics_diff(commit)
    comparison = comparable.compare(config, commit, baseline, candidate) if baseline is not None else None
    # the importance and the segments on the other core; leaving the block waits for both, even on a failure
    with ThreadPoolExecutor(max_workers=2) as alongside:
        # what the models rely on (the champion's importance read, or loaded and measured) on the other core
        importance = alongside.submit(reliance.pair, config, commit, comparison)
        diff, judged = own, candidate
        if comparison is not None and comparison.comparable:
            baseline = comparison.champion
            if comparison.candidate is not None:  # both judged on the rows the champion did not train on
                judged = comparison.candidate
            judged_scores = comparison.candidate_scores
            diff = {
                name: {
                    "old": comparison.scores.get(name),
                    "new": values["new"] if judged_scores is None else judged_scores.get(name),
                }
                for name, values in own.items()
            }
        comparable_champion = baseline if comparison is None or comparison.comparable else None
        # the segments' numbers on the other core too, while the overall intervals are drawn
        per_segment = alongside.submit(_segments, config, judged, comparable_champion, commit)
        intervals = (
            compare.delta_intervals(config.task, baseline, judged, config.seed)
            if baseline is not None and (comparison is None or comparison.comparable)
            else {}
        )
        interval = intervals.get(config.gate.metric)
        plots = _plots_section(config, baseline, candidate)  # before waiting for the others, as they run
        measured = per_segment.result()
        judgement = segments.judge(config.task, config.gate.metric, measured, config.segments, config.gate)
        verdict = gate.verdict(config, diff, comparison, interval, len(judged), judgement)
        sections = [
            _headline(config, intervals, verdict),
            _not_comparable(comparison),
            _context(base, commit, baseline, judged, intervals, comparison),
            _uncommitted_results(),
            small_test_set_warning(config, candidate),
            positive_class_note(config, candidate),
            _metrics_table(config, diff, intervals, len(probability_columns(candidate)) > 2),
            segments.markdown(judgement),
            reliance.section(config, commit, comparison, importance),
            _params_section(commit),
            _data_section(commit, config),
            plots,
            _images_section() if images == "publish" else "",
            _reproduce_section(head_sha),
        ]
        files.write_text("\n\n".join(section for section in sections if section) + "\n", paths.REPORT)
        summary = {
            "pull_request": pull_request,
            "head_sha": head_sha,
            "base_sha": commit,
            "model_inputs_changed": True,
            "gate": "pass" if verdict.passed else "fail" if verdict.comparable else "not comparable",
            "outcome": verdict.state,
            "gate_reason": verdict.reason,
            "metrics": gate.candidate_metrics(own),
            "gate_settings": gate.settings(config),
        }
        if measured:
            summary["segments"] = segments.to_summary(config.gate.metric, measured)
        if interval is not None:
            summary["interval"] = {"metric": config.gate.metric, "low": interval.low, "high": interval.high}
            summary["judged_rows"] = len(judged)
        if comparison is not None:
            summary["comparison"] = comparison.how
            if comparison.comparable:
                summary["champion_metrics"] = _numbers(diff, "old")
                summary["compared_metrics"] = _numbers(diff, "new")
                # which champion these numbers are of: the trusted side checks it is still the default branch's
                summary["champion_model"] = champion.output_md5(champion.lock(commit), paths.MODEL)
        files.write_json(summary, paths.REPORT_SUMMARY)


def _segments(
    config: Config, judged: pd.DataFrame, champion: pd.DataFrame | None, commit: str | None
) -> list[segments.Segment]:
    """The gate metric per segment of segments.columns, on the rows both models are judged on, with an interval
    for every segment either this params.yaml or the base's judges (the trusted side judges by the default
    branch's segments.min_rows, which a pull request may have raised here)."""
    if not config.segments.columns:
        return []
    minimum = min(config.segments.min_rows, _base_min_rows(commit) or config.segments.min_rows)
    measured_with = replace(config, segments=replace(config.segments, min_rows=minimum))
    return segments.measure(measured_with, judged, champion, segments.read_labels(config, judged.index))


def _base_min_rows(commit: str | None) -> int | None:
    """segments.min_rows in params.yaml at `commit` (None: no commit, none set, or not a positive count)."""
    if commit is None:
        return None
    try:
        raw = yaml.safe_load(show(commit, paths.PARAMS) or "") or {}
    except yaml.YAMLError:
        return None
    section = raw.get("segments") if isinstance(raw, dict) else None
    value = section.get("min_rows") if isinstance(section, dict) else None
    valid = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if valid else None


def _numbers(diff: dict, side: str) -> dict[str, float]:
    return {name: values[side] for name, values in diff.items() if isinstance(values[side], int | float)}


def _not_comparable(comparison) -> str:
    if comparison is None or comparison.comparable:
        return ""
    return f"> [!CAUTION]\n> The champion's numbers cannot judge this candidate: {inert(comparison.detail)}. {WHAT_TO_DO}"


def write_unchanged(base: str, commit: str, changed: list[str], pull_request, head_sha) -> None:
    """The report of a pull request that changes no model input: the champion stays, nothing is trained."""
    shown = ", ".join(inert(name) for name in changed[:10]) + (" and more" if len(changed) > 10 else "")
    reason = "no model input changed: the champion stays, there is nothing to train or gate"
    text = (
        f"## Model report: ✅ {reason}\n\nCompared with `{base}` (`{commit[:7]}`), this pull request changes "
        f"{shown or 'no file'}, none of them an input of the model ({', '.join(f'`{p}`' for p in inputs.MODEL_INPUTS)}).\n"
    )
    files.write_text(text, paths.REPORT)
    summary = {
        "pull_request": pull_request,
        "head_sha": head_sha,
        "base_sha": commit,
        "model_inputs_changed": False,
        "gate": "pass",
        "gate_reason": reason,
    }
    files.write_json(summary, paths.REPORT_SUMMARY)


def _headline(config: Config, intervals: dict, verdict: gate.Verdict) -> str:
    mark = {
        gate.PASSED: "✅ gate passed",
        gate.FAILED: "❌ gate failed",
        gate.NOT_COMPARABLE: "⚠️ not comparable",
        gate.INCONCLUSIVE: (
            "❔ gate inconclusive, which blocks the merge"
            if not verdict.passed
            else "❔ gate inconclusive, which passes (gate.inconclusive: pass)"
        ),
    }[verdict.state]
    interval = intervals.get(config.gate.metric)
    spread = (
        f" The 95% interval of the delta is {interval.low:+.4f} to {interval.high:+.4f}."
        if interval and "95% interval" not in verdict.reason
        else ""
    )
    return f"## Model report: {mark}\n\n**{verdict.reason}.**{spread}"


def _context(base: str, commit: str, baseline, candidate: pd.DataFrame, intervals: dict, comparison) -> str:
    if baseline is None:
        return f"No champion model on `{base}` (`{commit[:7]}`): the candidate is the first model."
    if comparison is not None and not comparison.comparable:
        return f"Candidate on {len(candidate):,} test rows; champion `{base}` (`{commit[:7]}`) shown for reference only."
    paired = next(iter(intervals.values())).paired if intervals else False
    method = "paired on the same test rows" if paired else "unpaired (the test set changed)"
    rescored = (
        f" ({inert(comparison.detail)})"
        if comparison is not None and comparison.how == comparable.RESCORED
        else ""
    )
    return (
        f"Candidate vs champion `{base}` (`{commit[:7]}`) on {len(candidate):,} test rows{rescored}; intervals from "
        f"{compare.RESAMPLES:,} bootstrap resamples, {method}."
    )


def _uncommitted_results() -> str:
    """A warning when the commit does not hold what `dvc repro` produced: its merge would register nothing."""
    tracked = ["dvc.lock", str(paths.METRICS)]
    if not git("status", "--porcelain", "--", *tracked):
        return ""
    return (
        "> [!WARNING]\n> This commit's `dvc.lock` and `reports/metrics.json` are not what the pipeline reproduces: "
        "run `make repro` and commit them, or merging will not register this model."
    )


def positive_class_note(config: Config, candidate: pd.DataFrame) -> str:
    """Which class the binary metrics and plots call positive, and why."""
    columns = probability_columns(candidate)
    if config.task != "classification" or len(columns) != 2:
        return ""
    positive = columns[-1].removeprefix("proba_")
    why = (
        "`data.positive_label`"
        if config.data.positive_label
        else "the rarest class in the test set; set `data.positive_label` in params.yaml to choose"
    )
    return f"Positive class of F1, ROC and precision-recall: {inert(positive)} ({why})."


def small_test_set_warning(config: Config, candidate: pd.DataFrame) -> str:
    """A warning when the test set is too small for its metrics to mean much."""
    rows = len(candidate)
    smallest = _class_counts(candidate["y_true"]) if config.task == "classification" else None
    if rows >= MIN_TEST_ROWS and (smallest is None or smallest.min() >= MIN_CLASS_ROWS):
        return ""
    detail = (
        f"{rows} rows"
        if smallest is None
        else f"{rows} rows, {smallest.min()} of class '{inert(smallest.idxmin())}'"
    )
    return (
        f"> [!WARNING]\n> The test set is small ({detail}): these metrics and the gate are uncertain, whatever "
        "their intervals say. Add data, or raise split.test_size in params.yaml."
    )


def _class_counts(values: pd.Series) -> pd.Series:
    """Rows of each class, named as text (3 and "3" are one class), without writing every row out as text."""
    counts = values.value_counts()
    return counts.groupby(counts.index.astype(str)).sum().sort_values(ascending=False, kind="stable")


MULTICLASS_AVERAGES = {  # how a metric of one class against the rest becomes one number over three or more
    "f1": "macro",
    "roc_auc": "one-vs-rest, macro",
    "balanced_accuracy": "macro recall",
}


def _metrics_table(config: Config, diff: dict, intervals: dict, multiclass: bool = False) -> str:
    rows = [
        "| metric | better | champion | candidate | delta | 95% interval of delta |",
        "|---|:-:|--:|--:|--:|:-:|",
    ]
    for name, direction in DIRECTIONS[config.task].items():
        values = diff.get(name, {})
        old, new = values.get("old"), values.get("new")
        label = f"**{name}** (gate)" if name == config.gate.metric else name
        if multiclass and name in MULTICLASS_AVERAGES:
            label += f" ({MULTICLASS_AVERAGES[name]})"
        interval = intervals.get(name)
        rows.append(
            f"| {label} | {'↑' if direction > 0 else '↓'} | {_number(old)} | {_number(new)} | "
            f"{_signed(None if old is None or new is None else new - old)} | "
            f"{f'{interval.low:+.4f} … {interval.high:+.4f}' if interval else '–'} |"
        )
    return "### Metrics\n\n" + "\n".join(rows)


def _params_section(commit: str) -> str:
    old = _flatten(yaml.safe_load(show(commit, paths.PARAMS) or "") or {})
    new = _flatten(yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")) or {})
    changed = [name for name in sorted({*old, *new}) if old.get(name) != new.get(name)]
    if not changed:
        return "### Parameters\n\nNo parameter changed."
    rows = ["| parameter | champion | candidate |", "|---|--:|--:|"]
    rows += [f"| {inert(name)} | {_value(old.get(name))} | {_value(new.get(name))} |" for name in changed]
    return "### Parameters\n\n" + "\n".join(rows)


def _flatten(tree: dict, prefix: str = "") -> dict:
    """params.yaml as dotted names (model.params.n_estimators), as DVC names them."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        flat.update(_flatten(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return flat


def _data_section(commit: str, config: Config) -> str:
    current = json.loads(paths.DATA_SUMMARY.read_text()) if paths.DATA_SUMMARY.exists() else {}
    shown = show(commit, paths.DATA_SUMMARY)
    before = json.loads(shown) if shown else {}
    same = before.get("sha256") == current.get("sha256")
    rows = ["| | champion | candidate |", "|---|--:|--:|"]
    for key in ("source", "rows", "columns", "train_rows", "test_rows", "duplicate_rows"):
        rows.append(f"| {key} | {_value(before.get(key))} | {_value(current.get(key))} |")
    for key in ("duplicate_share", "missing_share"):
        rows.append(f"| {key} | {_share(before.get(key))} | {_share(current.get(key))} |")
    rows.append(
        f"| content sha256 | {_value(str(before.get('sha256', '–'))[:12])} | {_value(str(current.get('sha256', '–'))[:12])} |"
    )
    status = "unchanged" if same else "changed" if before else "no champion data"
    changes = [] if same or not before else data_changes(commit, before, current, config)
    return f"### Data ({status})\n\n" + "\n".join(rows) + "".join(f"\n- {line}" for line in changes)


def data_changes(commit: str, before: dict, after: dict, config: Config) -> list[str]:
    """What changed between the champion's data and the candidate's, one line each: rows added and removed (by
    key), columns added, removed or retyped, the class balance."""
    lines = []
    added, removed = _rows_added_and_removed(commit, config)
    if added is not None:
        lines.append(
            f"rows added: {added:,}; rows removed: {removed:,} (matched by key: data.id, else the features)"
        )
    old_types, new_types = before.get("column_types"), after.get("column_types")
    if isinstance(old_types, dict) and isinstance(new_types, dict):
        for label, names in (
            ("columns added", sorted(set(new_types) - set(old_types))),
            ("columns removed", sorted(set(old_types) - set(new_types))),
        ):
            if names:
                lines.append(f"{label}: {', '.join(inert(name) for name in names)}")
        retyped = [
            f"{inert(n)} {inert(old_types[n])} -> {inert(new_types[n])}"
            for n in sorted(set(old_types) & set(new_types))
            if old_types[n] != new_types[n]
        ]
        if retyped:
            lines.append(f"columns retyped: {', '.join(retyped)}")
    old_balance, new_balance = before.get("class_balance"), after.get("class_balance")
    if isinstance(old_balance, dict) and isinstance(new_balance, dict) and old_balance != new_balance:
        shares = [
            f"{inert(label)} {_share(old_balance.get(label))} -> {_share(new_balance.get(label))}"
            for label in sorted({*old_balance, *new_balance})
        ]
        lines.append(f"class balance: {', '.join(shares)}")
    return lines


def _rows_added_and_removed(commit: str, config: Config) -> tuple[int | None, int | None]:
    """How many of the candidate's rows the champion's data lacks, and the reverse, by key; None when the champion's
    prepared rows are not at hand (in the DVC cache, or its worktree)."""
    tables = [comparable.champion_prepared(commit, path) for path in (paths.TRAIN, paths.TEST)]
    if any(table is None for table in tables) or not paths.TRAIN.is_file() or not paths.TEST.is_file():
        return None, None
    trained = pd.concat(tables)
    current = pd.concat([pd.read_parquet(paths.TRAIN), pd.read_parquet(paths.TEST)])
    target, row_id = config.data.target, config.data.id
    if row_id and row_id in (trained.index.name, *trained.columns):
        old, new = (split.row_keys(frame, target, row_id) for frame in (trained, current))
    else:
        common = [column for column in current.columns if column in trained.columns and column != target]
        if not common:
            return None, None
        old, new = (split.row_keys(frame, target, columns=common) for frame in (trained, current))
    counts = pd.concat([pd.Series(old).value_counts(), pd.Series(new).value_counts()], axis=1).fillna(0)
    change = counts.iloc[:, 1] - counts.iloc[:, 0]  # rows of each key: the candidate's less the champion's
    return int(change.clip(lower=0).sum()), int((-change).clip(lower=0).sum())


def _share(value) -> str:
    return "–" if not isinstance(value, int | float) else f"{value:.1%}"


def _images_section() -> str:
    plots = sorted(paths.PLOTS.glob("*.png"))
    images = [f"![{PLOT_TITLES.get(p.stem, p.stem)}](plots/{p.name})" for p in plots]
    return "### Plots (candidate)\n\n" + "\n".join(images) if images else ""


def _plots_section(config: Config, baseline, candidate: pd.DataFrame) -> str:
    """The key curve of both models as a mermaid chart, which GitHub renders from its numbers (no image leaves the
    repository); with published images, the candidate's own plots follow (_images_section)."""
    models = {"candidate": candidate, **({"champion": baseline} if baseline is not None else {})}
    if config.task == "classification" and len(probability_columns(candidate)) == 2:
        title, x_label, y_label = "ROC curve", "false positive rate", "true positive rate"
        grid = np.linspace(0, 1, 11)
        curves = {name: _roc_points(frame, grid) for name, frame in models.items()}
    elif config.task == "classification":  # multiclass: is the model right as often as it is sure?
        title, x_label, y_label = "Share correct by decile of confidence", "decile", "share correct"
        grid = np.arange(1, 11)
        curves = {name: _decile_means(_confidence(frame)) for name, frame in models.items()}
    else:
        title, x_label, y_label = "Mean actual by decile of prediction", "decile", "mean actual"
        grid = np.arange(1, 11)
        curves = {name: _decile_means(frame) for name, frame in models.items()}
    lines = "\n".join(f"    line [{', '.join(f'{v:.3f}' for v in values)}]" for values in curves.values())
    legend = " and ".join(f"line {i + 1}: {name}" for i, name in enumerate(curves))
    chart = (
        f'```mermaid\nxychart-beta\n    title "{title}"\n    x-axis "{x_label}" [{", ".join(f"{g:g}" for g in grid)}]\n'
        f'    y-axis "{y_label}"\n{lines}\n```'
    )
    return f"### Plots\n\n{chart}\n\n{legend}. All plots are in the run's `model-report` artifact."


def _roc_points(frame: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """The ROC curve's true positive rate at each false positive rate of `grid` (as scikit-learn's roc_curve, one
    point per distinct score), in one sort: a million rows take a tenth of a second, not a second."""
    positive = probability_columns(frame)[-1]
    codes, classes = pd.factorize(frame["y_true"])
    is_positive = np.isin(
        codes, [i for i, c in enumerate(classes) if str(c) == positive.removeprefix("proba_")]
    )
    score = frame[positive].to_numpy(float)
    order = np.argsort(score)[
        ::-1
    ]  # highest first; the order within ties is irrelevant (counted at their last)
    scores, hits = score[order], is_positive[order]
    last_of_each_score = np.r_[scores[1:] != scores[:-1], True]
    true_positives = np.r_[0, np.cumsum(hits)[last_of_each_score]]
    false_positives = np.r_[0, np.cumsum(~hits)[last_of_each_score]]
    return np.interp(
        grid, false_positives / max(false_positives[-1], 1), true_positives / max(true_positives[-1], 1)
    )


def _confidence(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's top probability as the prediction, and whether the predicted class was right as the actual."""
    probabilities = frame[probability_columns(frame)]
    right = frame["y_pred"].astype(str) == frame["y_true"].astype(str)
    return pd.DataFrame({"y_pred": probabilities.max(axis=1), "y_true": right.astype(float)})


def _decile_means(frame: pd.DataFrame) -> np.ndarray:
    deciles = pd.qcut(frame["y_pred"].rank(method="first"), 10, labels=False)
    return frame.groupby(deciles)["y_true"].mean().to_numpy(float)


def _reproduce_section(head_sha: str | None) -> str:
    ref = head_sha or "<commit>"
    return (
        "<details><summary>Reproduce this run</summary>\n\n"
        f"```bash\ngit checkout {ref}\nuv sync --locked\nuv run dvc repro\n```\n</details>"
    )


def _number(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def _signed(value) -> str:
    return "–" if value is None else f"{value:+.4f}"


def _value(value) -> str:
    return "–" if value is None else inert(value)
