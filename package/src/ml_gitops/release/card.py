"""The release's model card: a document a reviewer, an auditor or the people the model affects can read.

It says what the version is for (the project's description and the owner's INTENDED_USE.md), what it learned from
(source, rows, period, column roles, what was dropped and why), how well it does (overall and per segment, with
95% intervals), what it relies on, how it is watched (drift and monitoring settings), its known limitations, and
its lineage (commit, dvc.lock hashes, the pull request and its approvers). Its front matter gives the results in
Hugging Face's `model-index` schema, so other tools can read them. Text from the data (feature names, classes,
segment values, the source) and from a pull request (its title) reaches the Markdown only through
review/markdown.py.
"""

import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import yaml

from .. import UserError, project
from ..core import config, paths
from ..core.config import Config
from ..core.shell import git, show
from ..metrics import DIRECTIONS
from ..review import compare, markdown, reliance, segments

INTENDED_USE = Path("INTENDED_USE.md")  # the owner's part of the card
PYPROJECT = Path("pyproject.toml")
SHOWN_COLUMNS = 30  # names listed per column role
SHOWN_FEATURES = 10
MAX_BLOCK_CHARS = 5_000  # features in "What the model relies on"
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
HF_TASKS = {"classification": "tabular-classification", "regression": "tabular-regression"}


def model_card(tag: str, metrics: dict) -> str:
    """The card of the version `tag`, from the working tree its pipeline just reproduced (and `metrics`)."""
    settings = config.load()
    about = _project()
    summary = json.loads(paths.DATA_SUMMARY.read_text(encoding="utf-8"))
    predictions = pd.read_parquet(paths.PREDICTIONS)
    intervals = compare.metric_intervals(settings.task, predictions, settings.seed)
    train = pd.read_parquet(paths.TRAIN)
    commit = git("rev-list", "-n", "1", tag)
    sections = [
        front_matter(tag, about, settings, summary, metrics, intervals),
        f"# Model card: {tag}",
        markdown.text(about.get("description", "")),
        intended_use(),
        _model(settings),
        data_section(settings, summary, train),
        _metrics_section(settings, metrics, intervals, len(predictions)),
        segments_section(settings, predictions),
        relies_on(),
        _monitoring(),
        limitations(settings, summary, train, predictions),
        lineage(tag, commit),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _project() -> dict:
    """pyproject.toml's [project] table (name, description, license), or nothing."""
    if not PYPROJECT.is_file():
        return {}
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8")).get("project", {})


def front_matter(
    tag: str, about: dict, settings: Config, summary: dict, metrics: dict, intervals: dict
) -> str:
    """YAML metadata in Hugging Face's model card schema: model-index holds the results (task, dataset, metrics).
    Schema: https://huggingface.co/docs/hub/model-cards#model-card-metadata and the annotated template
    https://github.com/huggingface/hub-docs/blob/main/modelcard.md (model-index: name, results: task {type, name},
    dataset {type, name, split, revision}, metrics [{type, value, name}])."""
    task = HF_TASKS[settings.task]
    source = str(summary.get("source", ""))
    results = [
        {
            "type": name,
            "value": float(metrics[name]),
            "name": f"{name} (95% interval {intervals[name].low:.4f} to {intervals[name].high:.4f})"
            if name in intervals
            else name,
        }
        for name in DIRECTIONS[settings.task]
        if isinstance(metrics.get(name), int | float)
    ]
    meta = {
        "library_name": "sklearn",
        **_license(about),
        "tags": [task, "ml-gitops"],
        "model-index": [
            {
                "name": str(about.get("name") or tag.split("@")[0]),
                "results": [
                    {
                        "task": {"type": task, "name": task.replace("-", " ").capitalize()},
                        "dataset": {
                            "type": source,
                            "name": source,
                            "split": "test",
                            "revision": str(summary.get("sha256", "")),
                        },
                        "metrics": results,
                    }
                ],
            }
        ],
    }
    return f"---\n{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---"


def _license(about: dict) -> dict:
    """The Hub's license id (lower case SPDX), or `other` with its name."""
    value = about.get("license")
    name = (
        value if isinstance(value, str) else (value or {}).get("text", "") if isinstance(value, dict) else ""
    )
    if not name:
        return {}
    if name.startswith("LicenseRef-"):
        return {"license": "other", "license_name": name.removeprefix("LicenseRef-").lower()}
    return {"license": name.lower()}


def intended_use() -> str:
    """The owner's INTENDED_USE.md (its HTML comments, the template's guidance, left out), or a note that it is
    missing. The file is the project's own, reviewed like its code."""
    text = COMMENT.sub("", INTENDED_USE.read_text(encoding="utf-8")).strip() if INTENDED_USE.is_file() else ""
    text = re.sub(r"\A#[^\n]*(\n+|\Z)", "", text)  # its own title: the card gives the heading
    if not text:
        return (
            "## Intended use\n\n**Not described yet.** The project's owner writes what the model is for, who it "
            f"affects and what it must not be used for in `{INTENDED_USE}`; this section shows it."
        )
    return f"## Intended use\n\n{text}"


def _model(settings: Config) -> str:
    params = yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")) or {}
    return (
        f"## Model\n\n{settings.task.capitalize()} with `{settings.model.name}` (scikit-learn), parameters:\n\n"
        f"{_yaml_block(params.get('model', {}))}\n\n"
        "File: `model.skops` (skops; load it with skops' trusted types only)."
    )


def data_section(settings: Config, summary: dict, train: pd.DataFrame) -> str:
    """Source, rows, period, the columns by role, and what was left out and why."""
    data = settings.data
    roles = project.pipeline("columns").of(train, data)
    lines = [
        f"- Source: {markdown.text(summary.get('source', '–'))}; content SHA-256 `{summary.get('sha256', '–')}`.",
        f"- Rows: {summary.get('rows', 0):,} ({summary.get('train_rows', 0):,} for training, "
        f"{summary.get('test_rows', 0):,} held out for evaluation, split by {markdown.text(summary.get('split', 'key'))}, "
        f"seed {settings.seed}); {_share(summary.get('duplicate_share'))} repeat another row, "
        f"{_share(summary.get('missing_share'))} of the values are missing.",
        f"- Period: {period(train, roles.datetime)}.",
        f"- Target: {markdown.text(data.target)}"
        + (
            f", classes {_balance(summary.get('class_balance'))}."
            if settings.task == "classification"
            else "."
        ),
    ]
    for role, names in (
        ("numeric", roles.numeric),
        ("categorical", roles.categorical),
        ("date", roles.datetime),
    ):
        if names:
            lines.append(f"- {role.capitalize()} features ({len(names)}): {_names(names)}.")
    if data.drop:
        lines.append(
            f"- Dropped before training (data.drop, columns the model must not see: identifiers, free text, "
            f"leaks of the target): {_names(data.drop)}."
        )
    if data.id:
        lines.append(f"- Row name: {markdown.text(data.id)} (data.id): the split's key, never a feature.")
    return "## Data\n\n" + "\n".join(lines)


def period(frame: pd.DataFrame, columns: tuple[str, ...]) -> str:
    """The first and last date of each date column of the training rows, or that the data has none."""
    if not columns:
        return "the data has no date column (data.datetime): nothing says when its rows were collected"
    spans = []
    for column in columns:
        dates = pd.to_datetime(frame[column], errors="coerce", utc=True).dropna()
        span = f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(dates) else "no valid date"
        spans.append(f"{markdown.text(column)} from {span}")
    return "training rows dated " + "; ".join(spans)


def _metrics_section(settings: Config, metrics: dict, intervals: dict, rows: int) -> str:
    lines = ["| metric | value | 95% bootstrap interval |", "|---|--:|:-:|"]
    for name in DIRECTIONS[settings.task]:
        if not isinstance(metrics.get(name), int | float):
            continue
        interval = intervals.get(name)
        span = f"{interval.low:.4f} – {interval.high:.4f}" if interval else "–"
        label = f"**{name}** (the gate's)" if name == settings.gate.metric else name
        lines.append(f"| {label} | {metrics[name]:.4f} | {span} |")
    return f"## Metrics on the held-out test set\n\nOn {rows:,} test rows.\n\n" + "\n".join(lines)


def segments_section(settings: Config, predictions: pd.DataFrame) -> str:
    """The gate metric on each segment of the test rows (segments.columns in params.yaml), with its interval; a
    segment too small to judge is shown and marked."""
    if not settings.segments.columns:
        return (
            "## Metrics per segment\n\nNo segments are named (segments.columns in params.yaml): the card cannot say "
            "how the model does for each group of the people or things it scores."
        )
    metric, minimum = settings.gate.metric, settings.segments.min_rows
    try:
        found = segments.alone(settings, predictions, segments.read_labels(settings, predictions.index))
    except UserError as error:
        return f"## Metrics per segment\n\n{markdown.text(str(error))}"
    parts = [
        f"## Metrics per segment\n\n{metric} on each segment's test rows, with its 95% bootstrap interval. A segment "
        f"of fewer than {minimum:,} rows (segments.min_rows) is too small to judge: its number is shown, marked."
    ]
    tables: dict[str, list[str]] = {}
    for segment in found:
        shown = "–" if segment.metric is None else f"{segment.metric:.4f}"
        span = "–" if segment.low is None else f"{segment.low:.4f} – {segment.high:.4f}"
        mark = "⚠️ too small to judge" if segment.rows < minimum else ""
        tables.setdefault(
            segment.column, ["| segment | rows | value | 95% interval | |", "|---|--:|--:|:-:|---|"]
        )
        tables[segment.column].append(
            f"| {markdown.text(segment.value)} | {segment.rows:,} | {shown} | {span} | {mark} |"
        )
    parts += [f"### {markdown.text(column)}\n\n" + "\n".join(rows) for column, rows in tables.items()]
    return "\n\n".join(parts)


def relies_on() -> str:
    """The features the version relies on most (reports/importance.json), each with its interval."""
    importance = reliance.read()
    if importance is None:
        return ""
    means = importance.means().sort_values(ascending=False, kind="stable").head(SHOWN_FEATURES)
    rows = ["| feature | drop when shuffled | 95% interval |", "|---|--:|:-:|"]
    for name, mean in means.items():
        bounds = reliance.interval(pd.Series(importance.drops[name]).to_numpy(float))
        span = "–" if bounds is None else f"{bounds[0]:.4f} – {bounds[1]:.4f}"
        rows.append(f"| {markdown.text(name)} | {mean:.4f} | {span} |")
    warnings = reliance.leak_warnings(importance, None, frozenset())
    intro = (
        f"Permutation importance: how much the {importance.score} drops when one feature's values are shuffled "
        f"({len(next(iter(importance.drops.values()), []))} shuffles on {importance.rows:,} test rows, seed "
        f"{importance.seed}). A model that leans on one feature fails with it."
    )
    return "\n\n".join(["## What the model relies on", *warnings, intro, "\n".join(rows)])


def _monitoring() -> str:
    """params.yaml's drift and monitoring sections, as they are."""
    params = yaml.safe_load(paths.PARAMS.read_text(encoding="utf-8")) or {}
    watched = {key: params[key] for key in ("drift", "monitoring") if key in params}
    return (
        "## Drift and monitoring\n\nretrain.yml compares new data with the training rows (drift); the monitor joins "
        "the prediction log with the labels that arrive and measures the model in production (monitoring). "
        "The settings of this version (params.yaml):\n\n" + _yaml_block(watched)
    )


def _yaml_block(value) -> str:
    """`value` as YAML in a code block nothing in it can close (column names are data)."""
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True).strip()
    return markdown.block(text, MAX_BLOCK_CHARS, "The rest is in params.yaml.")


def limitations(settings: Config, summary: dict, train: pd.DataFrame, predictions: pd.DataFrame) -> str:
    """What the numbers above cannot promise: a small test set, small segments, dates beyond the training period,
    classes (or a range of the target) never seen."""
    roles = project.pipeline("columns").of(train, settings.data)
    lines = [
        f"- The metrics' intervals are the uncertainty a test set of {len(predictions):,} rows leaves; a population "
        "unlike the training data's (another place, time or kind of case) may fare worse, and is not measured."
    ]
    if roles.datetime:
        lines.append(
            f"- Dates beyond the training period ({period(train, roles.datetime)}) were never seen: check drift "
            "before trusting the model on newer rows."
        )
    else:
        lines.append("- The data has no dates, so nothing shows whether the world it describes still holds.")
    target = train[settings.data.target]
    if settings.task == "classification":
        classes = sorted(target.astype(str).unique())
        lines.append(
            f"- It predicts only the classes it saw in training ({_names(tuple(classes))}): a case of any other "
            "class gets one of these."
        )
    else:
        values = target.astype(float)
        lines.append(
            f"- It learned targets from {values.min():g} to {values.max():g}: predictions beyond that range are "
            "extrapolations (tree models never make them)."
        )
    if roles.categorical:
        lines.append("- A category value never seen in training is treated as unknown.")
    small = _small_segments(settings, predictions)
    if small:
        lines.append(f"- Segments too small to judge (under segments.min_rows): {small}.")
    return "## Known limitations\n\n" + "\n".join(lines)


def _small_segments(settings: Config, predictions: pd.DataFrame) -> str:
    if not settings.segments.columns:
        return ""
    try:
        labels = segments.read_labels(settings, predictions.index)
    except UserError:
        return ""
    small = [
        f"{markdown.text(column)} = {markdown.text(str(value))} ({count:,} rows)"
        for column in labels.columns
        for value, count in labels[column].value_counts(sort=False).items()
        if 0 < count < settings.segments.min_rows
    ]
    return "; ".join(small)


def lineage(tag: str, commit: str) -> str:
    """Where the version comes from: its commit, the hashes dvc.lock records, its pull request and approvers."""
    lock = yaml.safe_load(show(tag, "dvc.lock") or "") or {}
    rows = ["| stage | path | md5 |", "|---|---|---|"]
    for stage, entry in (lock.get("stages") or {}).items():
        for kind in ("deps", "outs"):
            for item in entry.get(kind) or []:
                if item.get("md5"):
                    rows.append(
                        f"| {stage} {kind[:-1]} | {markdown.text(item.get('path', ''))} | `{item['md5']}` |"
                    )
    return f"## Lineage\n\n- Version: `{tag}`, commit `{commit}`.\n- {pull_request(commit)}\n\n" + (
        "dvc.lock at this commit:\n\n" + "\n".join(rows) if len(rows) > 2 else "No dvc.lock at this commit."
    )


def pull_request(commit: str) -> str:
    """The merged pull request that brought `commit` to main, and who approved it (GitHub's API), or why unknown."""
    from ..github import client

    try:
        pulls = [pull for pull in client.api("GET", f"commits/{commit}/pulls") if pull.get("merged_at")]
        if not pulls:
            return "Pull request: none found for this commit (pushed to main directly?)."
        pull = pulls[0]
        approvers = _approvers(client.paginate(f"pulls/{pull['number']}/reviews"))
    except UserError as error:
        return f"Pull request: not looked up ({markdown.text(str(error))})."
    merged_by = (pull.get("merged_by") or {}).get("login", "")
    return (
        f"Pull request: #{int(pull['number'])} {markdown.text(pull.get('title', ''))}, merged "
        f"{markdown.text(str(pull.get('merged_at', '')))}"
        + (f" by {markdown.text(merged_by)}" if merged_by else "")
        + f"; approved by {', '.join(markdown.text(name) for name in approvers) or 'nobody'}."
    )


def _approvers(reviews: list) -> list[str]:
    """The reviewers whose last word on the pull request was an approval."""
    last: dict[str, str] = {}
    for review in reviews:
        login = (review.get("user") or {}).get("login")
        if login and review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            last[login] = review["state"]
    return sorted(login for login, state in last.items() if state == "APPROVED")


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(markdown.text(str(name)) for name in names[:SHOWN_COLUMNS])
    return shown + (f" and {len(names) - SHOWN_COLUMNS} more" if len(names) > SHOWN_COLUMNS else "")


def _balance(balance) -> str:
    if not isinstance(balance, dict):
        return "–"
    return ", ".join(f"{markdown.text(label)} {_share(share)}" for label, share in balance.items())


def _share(value) -> str:
    return "–" if not isinstance(value, int | float) else f"{value:.1%}"
