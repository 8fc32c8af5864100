"""Release a registered version: check that it reproduces, describe it, publish it, put it in production.

`assets` rebuilds the model of the version's tag, refuses the release when the model does not reproduce the
committed metrics, and writes the release assets: the model, its metrics, a model card and SHA-256 checksums.
Publishing them is `github.publish_release` (standard library only). `promote` assigns a version to a stage with
GTO (a tag `model#prod#N`), the production deployment of a model released as GitHub Release assets.
"""

import json

import pandas as pd
import yaml

from . import UserError, compare, config, evaluate, files, paths
from .register import ARTIFACT
from .shell import git, show, tool

TOLERANCE = 1e-9


def assets(tag: str) -> None:
    shown = show(tag, paths.METRICS)
    if shown is None:
        raise UserError(f"{tag} has no committed {paths.METRICS}: it is not a trained version")
    committed = json.loads(shown)
    tool("dvc", "repro", "--quiet")
    evaluate.run(config.load())  # score the model that the tag's code and data produce, now
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


def promote(version: str, stage: str, push: bool) -> None:
    """Assign `version` to `stage` with GTO and push the tag; nothing when it already is there."""
    current = json.loads(tool("gto", "show", "--json") or "{}").get(ARTIFACT, {}).get("stage", {}).get(stage)
    if current == version:
        print(f"{ARTIFACT} {version} is already in {stage}: nothing to do")
        return
    tool("gto", "assign", ARTIFACT, "--version", version, "--stage", stage, *(["--push"] if push else []))
    print(f"{ARTIFACT} {version} assigned to {stage} (was {current or 'none'})")
