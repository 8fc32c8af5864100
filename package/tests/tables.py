"""Real public tables run through the fixture project as a user runs them (issue 27): Fair's affairs survey and
Spector from statsmodels, cars from vega_datasets, each as a CSV under data/raw/ named by params.yaml.

`project(...)` writes a table and points params.yaml at it; `stages()` runs prepare, train and evaluate;
`commit_champion()` commits the result as a project does (Git for params, metrics, data.json and the CSV; the DVC
cache for the prepared tables, the model and the predictions, named by dvc.lock), so the review finds the champion.
"""

import subprocess
from pathlib import Path

import pandas as pd
import yaml
from dvc_cache import cache, cache_directory
from fixture_model.pipeline import TASK

from ml_gitops.core import config, paths


def fair() -> tuple[pd.DataFrame, str]:
    """Fair's 6,366 answers: whether the woman had an affair (classification) or how much time she spent in
    affairs (regression). 18.5% of the rows repeat another exactly (classification)."""
    import statsmodels.api as sm

    frame = sm.datasets.fair.load_pandas().data
    if TASK == "classification":
        return frame.assign(affair=(frame.pop("affairs") > 0).astype(int)), "affair"
    return frame, "affairs"


def spector() -> tuple[pd.DataFrame, str]:
    """Spector and Mazzeo's 32 students: did the grade improve (classification) or the GPA (regression)."""
    import statsmodels.api as sm

    frame = sm.datasets.spector.load_pandas().data
    return (frame, "GRADE") if TASK == "classification" else (frame, "GPA")


def cars() -> tuple[pd.DataFrame, str]:
    """vega_datasets' 406 cars (bundled, no download): miles per gallon (regression) or origin (classification)."""
    from vega_datasets import data

    frame = data.cars().drop(columns=["Name", "Year"]).dropna()
    return (frame, "Miles_per_Gallon") if TASK == "regression" else (frame, "Origin")


def project(frame: pd.DataFrame, target: str, name: str = "table", **settings) -> config.Config:
    """Write `frame` to data/raw/<name>.csv and point params.yaml at it; `settings` are dotted keys
    (model.params.min_samples_leaf=5, seed=1)."""
    path = Path("data/raw") / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    params = yaml.safe_load(paths.PARAMS.read_text())
    params["data"].update(path=str(path), target=target)
    for key, value in settings.items():
        *sections, last = key.split(".")
        node = params
        for section in sections:
            node = node[section]
        node[last] = value
    paths.PARAMS.write_text(yaml.safe_dump(params))
    return config.load()


def stages(settings: config.Config) -> None:
    from fixture_model.pipeline import evaluate, prepare, train

    prepare.run(settings)
    train.run(settings)
    evaluate.run(settings)


def commit_champion(message: str = "champion") -> str:
    """Commit the stages' results as a project does; return the commit."""
    lock = {
        "stages": {
            "prepare": {"outs": [{"path": str(paths.PREPARED), "md5": cache_directory(paths.PREPARED)}]},
            "train": {"outs": [{"path": str(paths.MODEL), "md5": cache(paths.MODEL)}]},
            "evaluate": {"outs": [{"path": str(paths.PREDICTIONS), "md5": cache(paths.PREDICTIONS)}]},
        }
    }
    Path("dvc.lock").write_text(yaml.safe_dump(lock))
    if not Path(".git").exists():
        git("init", "-q")
        Path(".gitignore").write_text(".dvc/\ndata/prepared/\nmodels/\nreports/*.parquet\nreports/plots/\n")
    git(
        "add",
        ".gitignore",
        "params.yaml",
        "dvc.lock",
        str(paths.METRICS),
        str(paths.DATA_SUMMARY),
        "data/raw",
    )
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return git("rev-parse", "HEAD").strip()


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout
