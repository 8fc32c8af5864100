"""What permutation importance costs where it is computed (run in a project's venv, in the project, with the
candidate in the working tree and its champion committed at BASE), in a fresh process each, as each place pays it:

  candidate  evaluate's: reliance.measure on the test rows, the model loaded and the rows read (evaluate needs both
             for its predictions anyway)
  reused     the report's, for the champion, when it reads the champion's own committed importance (reliance.pair)
  measured   the report's, for the champion, when it measures it (reliance.pair with the reuse turned off): the
             test rows read, the project's train module imported (the model allow-list), the model loaded, measured

usage: importance_cost.py MODE BASE  -> JSON on stdout: {"seconds": ..., "rows": ..., "note": ...}
Everything a report does before its section (its modules, both prediction files, the comparison) is not timed.
"""

import json
import os
import sys
import time

import pandas as pd

MODES = ("candidate", "reused", "measured")
REUSED = "the champion's importance as its own evaluate measured it"
MEASURED = "the champion's measured now"


def candidate() -> tuple[float, int, str]:
    from ml_gitops import project
    from ml_gitops.core import config, files, paths
    from ml_gitops.review import reliance

    settings = config.load()
    model = files.load_model(paths.MODEL, project.pipeline("train").MODEL_TYPES)
    test = pd.read_parquet(paths.TEST)
    features, target = test.drop(columns=[settings.data.target]), test[settings.data.target]
    started = time.perf_counter()
    measured = reliance.measure(
        model,
        features,
        target,
        settings.evaluate.importance_repeats,
        settings.evaluate.importance_max_rows,
        settings.seed,
    )
    return time.perf_counter() - started, measured.rows, "evaluate's measure"


def champion(mode: str, base: str) -> tuple[float, int, str]:
    from ml_gitops.core import config, paths
    from ml_gitops.review import champion as champions
    from ml_gitops.review import comparable, reliance, report  # noqa: F401 - the report's modules, as it runs

    settings = config.load()
    commit = champions.resolve(base)
    comparison = comparable.compare(
        settings, commit, champions.predictions(commit), pd.read_parquet(paths.PREDICTIONS)
    )
    if mode == "measured":
        reliance.committed = lambda *_: None  # as the report measures the champion when it cannot reuse
    started = time.perf_counter()
    paired = reliance.pair(settings, commit, comparison)
    seconds = time.perf_counter() - started
    expected = REUSED if mode == "reused" else MEASURED
    if paired.champion is None or expected not in paired.note:
        raise SystemExit(f"importance_cost.py {mode}: the report did not do that: {paired.note}")
    return seconds, paired.champion.rows, paired.note


def main(mode: str, base: str) -> None:
    if mode not in MODES:
        raise SystemExit(f"importance_cost.py: MODE must be one of {', '.join(MODES)}, got {mode!r}")
    os.environ.setdefault("ML_GITOPS_PIPELINE", "churn_model.pipeline")  # as `python -m churn_model` names it
    seconds, rows, note = candidate() if mode == "candidate" else champion(mode, base)
    print(json.dumps({"seconds": seconds, "rows": rows, "note": note}))


if __name__ == "__main__":
    main(*sys.argv[1:])
