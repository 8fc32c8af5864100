"""Release a registered version: check that it reproduces, describe it, publish it, put it in production.

`assets` rebuilds the model of the version's tag, refuses the release when the model does not reproduce the
committed metrics, and writes the release assets: the model, its metrics, a model card and SHA-256 checksums.
Publishing them is `github.publish_release` (standard library only). `promote` assigns a version to a stage with
GTO (a tag `model#prod#N`), the production deployment of a model released as GitHub Release assets.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from . import UserError, compare, config, paths
from .register import ARTIFACT, git

ASSETS = Path("dist")
TOLERANCE = 1e-9


def assets(tag: str) -> None:
    committed = json.loads(git("show", f"{tag}:{paths.METRICS}"))
    run_python("-m", "dvc", "repro", "--quiet")
    run_python("-m", __package__, "evaluate")  # score the model the tag's code and data produce, now
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
    ASSETS.mkdir(exist_ok=True)
    (ASSETS / paths.MODEL.name).write_bytes(paths.MODEL.read_bytes())
    (ASSETS / paths.METRICS.name).write_text(paths.METRICS.read_text())
    (ASSETS / "model-card.md").write_text(model_card(tag, measured), encoding="utf-8")
    files = sorted(p for p in ASSETS.iterdir() if p.name != "SHA256SUMS")
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in files)
    (ASSETS / "SHA256SUMS").write_text(sums)
    print(
        f"{tag}: metrics reproduced; assets in {ASSETS}/: {', '.join(p.name for p in sorted(ASSETS.iterdir()))}"
    )


def run_python(*args: str) -> None:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(
            f"{' '.join(args[1:3])} failed: {(result.stderr or result.stdout).strip().splitlines()[-1]}"
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
    gto = str(Path(sys.executable).parent / "gto")
    shown = subprocess.run([gto, "show", "--json"], capture_output=True, text=True)
    current = json.loads(shown.stdout or "{}").get(ARTIFACT, {}).get("stage", {}).get(stage)
    if current == version:
        print(f"{ARTIFACT} {version} is already in {stage}: nothing to do")
        return
    command = [gto, "assign", ARTIFACT, "--version", version, "--stage", stage, *(["--push"] if push else [])]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"gto assign failed: {(result.stderr or result.stdout).strip().splitlines()[-1]}")
    print(f"{ARTIFACT} {version} assigned to {stage} (was {current or 'none'})")
