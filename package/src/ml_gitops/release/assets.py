"""The assets of a registered version: rebuild it, check that it reproduces, describe it.

`assets` rebuilds the model of the version's tag, refuses the release when the model does not reproduce the
committed metrics, and writes the release assets: the model, its metrics, a model card and SHA-256 checksums.
Publishing them is `publish.publish_release`; production is `production.promote`.
"""

import json

import pandas as pd
import yaml

from .. import UserError, project
from ..core import config, files, paths, remote
from ..core.shell import git, show, tool
from ..review import compare
from .tags import check_on_main, check_version_tag

TOLERANCE = 1e-9


def assets(tag: str) -> None:
    check_on_main(check_version_tag(tag))
    shown = show(tag, paths.METRICS)
    if shown is None:
        raise UserError(f"{tag} has no committed {paths.METRICS}: it is not a trained version")
    committed = json.loads(shown)
    if remote.fetch_inputs() != 0:
        raise UserError(
            f"{tag}: the DVC-tracked raw data could not be pulled: check the DVC remote and its secret"
        )
    tool("dvc", "repro")
    project.pipeline("evaluate").run(
        config.load()
    )  # score the model that the tag's code and data produce, now
    measured = json.loads(paths.METRICS.read_text())
    differences = [
        f"{name} {committed.get(name)} committed, {value} reproduced"
        for name, value in measured.items()
        if committed.get(name) is None or abs(value - committed[name]) > TOLERANCE * max(1, abs(value))
    ]
    if differences:
        raise UserError(
            f"{tag} does not reproduce its metrics ({'; '.join(differences)}): the release is refused"
        )
    directory = paths.RELEASE_ASSETS
    directory.mkdir(exist_ok=True)
    (directory / paths.MODEL.name).write_bytes(paths.MODEL.read_bytes())
    (directory / paths.METRICS.name).write_text(paths.METRICS.read_text())
    (directory / "model-card.md").write_text(model_card(tag, measured), encoding="utf-8")
    assets = sorted(p for p in directory.iterdir() if p.name != "SHA256SUMS")
    (directory / "SHA256SUMS").write_text("".join(f"{files.sha256(p)}  {p.name}\n" for p in assets))
    print(
        f"{tag}: metrics reproduced; assets in {directory}/: {', '.join(p.name for p in assets)}, SHA256SUMS"
    )


def model_card(tag: str, metrics: dict) -> str:
    settings = config.load()
    params = yaml.safe_load(paths.PARAMS.read_text())
    summary = json.loads(paths.DATA_SUMMARY.read_text())
    intervals = compare.metric_intervals(settings.task, pd.read_parquet(paths.PREDICTIONS), settings.seed)
    rows = "\n".join(
        f"| {name} | {metrics[name]:.4f} | {intervals[name].low:.4f} – {intervals[name].high:.4f} |"
        for name in intervals
    )
    return f"""# Model card: {tag}

## Model
{settings.task.capitalize()} with `{settings.model.name}` (scikit-learn), parameters:

```yaml
{yaml.safe_dump(params["model"], sort_keys=False).strip()}
```

Commit: `{git("rev-list", "-n", "1", tag)}`. File: `model.skops` (skops; load it with skops' trusted types only).

## Data
Source: {summary["source"]}; {summary["rows"]:,} rows, {summary["columns"]} columns (target `{settings.data.target}`);
{summary["train_rows"]:,} rows for training, {summary["test_rows"]:,} held out for evaluation (seed {settings.seed}).
Content SHA-256: `{summary["sha256"]}`.

## Metrics on the held-out test set
| metric | value | 95% bootstrap interval |
|---|--:|:-:|
{rows}

## Intended use and limits
Scores rows shaped like the training data (the same columns and types; categories seen in training). It has not
been evaluated on data from another population or period; check drift before trusting it on new data, and read
the metrics' intervals as the uncertainty that a test set of {summary["test_rows"]:,} rows leaves.
"""
