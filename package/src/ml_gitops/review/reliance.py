"""What the model relies on: permutation importance, one score drop per feature and shuffle.

evaluate measures the candidate on a sample of its test rows and writes reports/importance.json. The report measures
the champion on the same rows with the same shuffles (the same seed draws the same sample, and scikit-learn shuffles
every column with the same seed), on the rows the comparison judged on when it left some out (then the candidate is
measured again there too). When the champion's own evaluate provably measured it so (the same test file byte for
byte, settings, code and locked environment, as its dvc.lock records them), its committed reports/importance.json is
those numbers: the report reads it instead of loading the champion's model. The section shows the features whose
importance moved most, each with a 95% interval from the paired shuffles, and warns of a feature that may leak the
target. Feature names are data: they reach the Markdown only through review/markdown.py.
"""

import hashlib
import json
import math
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import UserError, project
from ..core import files, paths
from ..core.config import Config
from ..core.shell import show
from . import markdown
from .artifact import RESCORED, SAME_ROWS

PATH = Path("reports/importance.json")
UV_LOCK = Path("uv.lock")  # the project's locked environment: the same one measures the same numbers
SHOWN = 10  # features in the section's table and chart
LEAK_DROP = 0.05  # a feature dwarfs the others when its drop is at least this and
LEAK_RATIO = 5  # this many times the next feature's
CHART = ("What the model relies on", "feature by rank", "score drop when shuffled")  # review/charts.py KNOWN


@dataclass(frozen=True)
class Importance:
    score: str  # what drops when a feature is shuffled: accuracy (classifiers) or r2 (regressors)
    rows: int  # the test rows sampled
    seed: int
    drops: dict[str, list[float]]  # per feature, the score's drop on each shuffle

    def means(self) -> pd.Series:
        return pd.Series({name: float(np.mean(values)) for name, values in self.drops.items()}, dtype=float)


def measure(
    model, features: pd.DataFrame, target: pd.Series, repeats: int, max_rows: int, seed: int
) -> Importance:
    """The score's drop when each feature is shuffled, `repeats` times, on at most `max_rows` rows drawn with `seed`.
    The same rows, seed and order give every model the same sample and the same shuffles.

    The numbers are scikit-learn's `permutation_importance(model, X, y, n_repeats=repeats, random_state=seed)`
    (its shuffles, its scorer), but each shuffle's copies of the rows, one per feature, are predicted together in
    calls of at most STACKED_ROWS rows: one call per feature and shuffle cost more than the rows themselves."""
    from sklearn.base import is_classifier

    rows = sample(len(features), max_rows, seed)
    x, y = features.iloc[rows], target.iloc[rows]
    score = _scorer(model)
    baseline = score(y, model.predict(x))
    drops: dict[str, list[float]] = {str(name): [] for name in x.columns}
    for order in _shuffles(len(x), repeats, seed):
        for names, predictions in _predicted_with_each_column_shuffled(model, x, order):
            for name, predicted in zip(names, np.split(predictions, len(names)), strict=True):
                drops[str(name)].append(round(float(baseline - score(y, predicted)), 6))
    return Importance("accuracy" if is_classifier(model) else "r2", len(rows), seed, drops)


STACKED_ROWS = 200_000  # rows predicted in one call when measuring importance


def _scorer(model):
    """What `model.score` computes (scikit-learn's default scorer): accuracy for a classifier, r2 otherwise."""
    from sklearn.base import is_classifier
    from sklearn.metrics import accuracy_score, r2_score

    return accuracy_score if is_classifier(model) else r2_score


def _shuffles(rows: int, repeats: int, seed: int) -> list[np.ndarray]:
    """Each repeat's row order, as scikit-learn's permutation_importance shuffles every column: one RandomState
    seeded from `seed`, one in-place shuffle per repeat, each applied to the column as the last one left it."""
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    state, shuffling, order = np.random.RandomState(column_seed), np.arange(rows), np.arange(rows)
    orders = []
    for _ in range(repeats):
        state.shuffle(shuffling)
        order = order[shuffling]
        orders.append(order)
    return orders


def _predicted_with_each_column_shuffled(model, x: pd.DataFrame, order: np.ndarray):
    """(columns, predictions) per call: the rows once per column, that column in `order`, predicted together."""
    per_call = max(1, STACKED_ROWS // max(len(x), 1))
    for start in range(0, x.shape[1], per_call):
        names = list(x.columns[start : start + per_call])
        copies = []
        for name in names:
            copy = x.copy()
            copy[name] = x[name].iloc[order].set_axis(x.index)
            copies.append(copy)
        yield names, np.asarray(model.predict(pd.concat(copies, ignore_index=True)))


def sample(count: int, max_rows: int, seed: int) -> np.ndarray:
    """Positions of at most `max_rows` of `count` rows, in order, the same for the same seed."""
    if count <= max_rows:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=max_rows, replace=False))


def write(importance: Importance, path: Path = PATH) -> None:
    files.write_json(
        {
            "score": importance.score,
            "rows": importance.rows,
            "seed": importance.seed,
            "drops": importance.drops,
        },
        path,
    )


def read(path: Path = PATH) -> Importance | None:
    """reports/importance.json, or None when evaluate has not written it."""
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), path)


def parse(text: str, source: Path | str = PATH) -> Importance:
    """An importance file's text, or a UserError naming `source` when it is not what evaluate writes."""
    try:
        data = json.loads(text)
        drops = {str(name): [float(v) for v in values] for name, values in data["drops"].items()}
        return Importance(str(data["score"]), int(data["rows"]), int(data["seed"]), drops)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError(f"{source} is not what evaluate writes: run dvc repro") from None


@dataclass(frozen=True)
class Paired:
    candidate: Importance
    champion: Importance | None  # None: no champion, or it could not be measured
    new: frozenset[str]  # the candidate's features the champion does not take
    note: str  # said to the reviewer: how both were measured, or why the champion was not


def pair(config: Config, commit: str | None, comparison) -> Paired:
    """The candidate's importance and the champion's on the same rows with the same shuffles (see the module): the
    champion's as its own evaluate measured it when that is provably what measuring it here would give (committed()),
    else measured now."""
    from . import champion  # the report's modules: evaluate, which writes the file, needs none of them

    candidate = read()
    if candidate is None:
        raise UserError(f"{PATH} is missing: run dvc repro (evaluate writes it)")
    if commit is None or comparison is None:
        return Paired(candidate, None, frozenset(), "")
    if not comparison.comparable:
        return Paired(
            candidate, None, frozenset(), "the champion is not shown: it cannot judge this candidate"
        )
    reused = committed(config, commit, comparison, candidate)
    if reused is not None:
        note = f"{_same_rows(candidate, config)}; the champion's importance as its own evaluate measured it"
        return Paired(candidate, reused, frozenset(candidate.drops) - set(reused.drops), note)
    test = pd.read_parquet(paths.TEST)
    judged = comparison.candidate
    if comparison.how == RESCORED and judged is not None:
        test = _judged_rows(test, judged.index)
        candidate = measure(_own_model(), *_split(test, config), *_settings(config))
    note = _same_rows(candidate, config)
    if comparison.how == RESCORED:
        note += ", among the rows the champion did not train on"
    note += "; the champion's measured now"
    try:
        model = files.load_model(champion.model_file(commit), project.pipeline("train").MODEL_TYPES)
        features, target = _champion_rows(config, commit, comparison, model, test)
        measured = measure(model, features, target, *_settings(config))
    except (UserError, ValueError, KeyError, OSError) as error:
        problem = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        return Paired(
            candidate, None, frozenset(), f"the champion's importance could not be measured: {problem}"
        )
    return Paired(candidate, measured, frozenset(candidate.drops) - set(measured.drops), note)


def _judged_rows(test: pd.DataFrame, judged: pd.Index) -> pd.DataFrame:
    """The rows of `test` whose ids `judged` lists, each once, by position: data.id may repeat, so the n-th time
    an id comes in `judged` is the n-th row of that id in `test` (a comparison keying rows by id judges every row
    of an id or none)."""
    within, wanted = (
        pd.MultiIndex.from_arrays([ids, ids.to_series().groupby(level=0, dropna=False).cumcount()])
        for ids in (test.index, judged)
    )
    positions = within.get_indexer(wanted)
    if (positions < 0).any():
        raise UserError(f"{paths.PREDICTIONS} is not of {paths.TEST}: run dvc repro")
    return test.iloc[positions]


def committed(config: Config, commit: str, comparison, candidate: Importance) -> Importance | None:
    """The champion's reports/importance.json as its own evaluate wrote it, when that is provably what measuring it
    here would give: the comparison judged the same rows (not rescored), its evaluate ran as it would here but for
    the model (_evaluated_as_here: the same test file byte for byte, code and locked environment), and it records
    the sample and shuffles the settings here draw, as the candidate's does. None, to measure it, on any doubt."""
    import pyarrow.parquet as pq

    text = show(commit, PATH)
    if comparison.how != SAME_ROWS or text is None or not _evaluated_as_here(commit, text):
        return None
    try:
        found = parse(text)
    except UserError:
        return None
    repeats, max_rows, seed = _settings(config)
    drawn = (min(pq.read_metadata(paths.TEST).num_rows, max_rows), seed, repeats)
    return found if _drawn(found) == _drawn(candidate) == drawn else None


def _drawn(importance: Importance) -> tuple[int, int, int | None]:
    """The sample and shuffles an importance records: its rows, its seed, its shuffles per feature (None: uneven)."""
    shuffles = {len(values) for values in importance.drops.values()}
    return importance.rows, importance.seed, shuffles.pop() if len(shuffles) == 1 else None


def _evaluated_as_here(commit: str, text: str) -> bool:
    """Whether the champion's dvc.lock shows `text` (its reports/importance.json) written by an evaluate that ran as
    one would here but for the model: from the model its train stage wrote, on the test file here byte for byte,
    with the code here (each file evaluate depends on) and the locked environment here (uv.lock)."""
    from . import champion

    lock = champion.lock(commit)
    stage = champion.stage_writing(lock, PATH)
    written = hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - DVC's content address
    if stage is None or champion.output_md5(lock, PATH) != written or not stage.get("deps"):
        return False
    for dep in stage["deps"]:
        path, digest = Path(str(dep.get("path"))), str(dep.get("md5", ""))
        if path == paths.MODEL:
            same = bool(digest) and digest == champion.output_md5(lock, paths.MODEL)
        elif path == paths.PREPARED:  # evaluate reads only the test rows of it
            same = champion.holds(paths.TEST, champion.md5_in_directory(digest, paths.TEST.name))
        else:
            same = champion.holds(path, digest)
        if not same:
            return False
    return show(commit, UV_LOCK) == (UV_LOCK.read_text(encoding="utf-8") if UV_LOCK.is_file() else None)


def _same_rows(candidate: Importance, config: Config) -> str:
    return (
        f"both measured on the same {candidate.rows:,} test rows with the same shuffles (seed {config.seed})"
    )


def _settings(config: Config) -> tuple[int, int, int]:
    return config.evaluate.importance_repeats, config.evaluate.importance_max_rows, config.seed


def _split(test: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, pd.Series]:
    return test.drop(columns=[config.data.target]), test[config.data.target]


def _own_model():
    return files.load_model(paths.MODEL, project.pipeline("train").MODEL_TYPES)


def _champion_rows(config: Config, commit: str, comparison, model, test: pd.DataFrame):
    """The rows of `test` with the columns the champion takes: the candidate's, else (same rows, a column the
    candidate dropped) the champion's own test table, in the same order."""
    from . import comparable

    features, target = _split(test, config)
    known = [str(name) for name in getattr(model, "feature_names_in_", features.columns)]
    missing = [name for name in known if name not in features.columns]
    if missing and comparison.how == SAME_ROWS:
        own = comparable.champion_prepared(commit, paths.TEST)
        if own is not None and own.index.equals(test.index):
            features, missing = own.drop(columns=[config.data.target], errors="ignore"), []
    if missing:
        raise UserError(f"it takes columns the candidate's test set lacks ({', '.join(missing[:5])})")
    return features[known], target


def section(config: Config, commit: str | None, comparison, paired: "Future[Paired] | None" = None) -> str:
    """The report's "What the model relies on": the features whose importance moved most (or, without a champion,
    the candidate's strongest), with intervals, a chart of both, and a warning of a possible leak. `paired`: `pair`
    of the same arguments already under way (the report runs it alongside its own work), else paired here."""
    try:
        paired = pair(config, commit, comparison) if paired is None else paired.result()
    except UserError as error:
        return f"### What the model relies on\n\n{markdown.text(str(error))}"
    candidate, rival = paired.candidate, paired.champion
    ranked = _ranked(candidate, rival)
    intro = (
        f"Permutation importance: how much the {candidate.score} drops when one feature's values are shuffled, "
        f"{len(next(iter(candidate.drops.values()), []))} shuffles on {candidate.rows:,} test rows"
        + (f"; {markdown.text(paired.note)}" if paired.note else "")
        + ". Intervals from the shuffles (Student's t): they leave out the uncertainty of the rows themselves."
    )
    parts = ["### What the model relies on", *leak_warnings(candidate, rival, paired.new), intro]
    parts += [_table(candidate, rival, paired.new, ranked), _chart(candidate, rival, ranked)]
    return "\n\n".join(part for part in parts if part)


def _ranked(candidate: Importance, rival: Importance | None) -> list[str]:
    """The features to show: those that moved most, or the candidate's strongest without a champion."""
    if rival is None:
        return list(candidate.means().sort_values(ascending=False, kind="stable").index[:SHOWN])
    moved = {
        name: abs(float(np.mean(_deltas(candidate, rival, name))))
        for name in {*candidate.drops, *rival.drops}
    }
    return sorted(moved, key=lambda name: (-moved[name], name))[:SHOWN]


def _drops(importance: Importance, name: str) -> np.ndarray:
    """A feature's drops; a feature the model does not take drops nothing on every shuffle."""
    repeats = len(next(iter(importance.drops.values()), []))
    return np.asarray(importance.drops.get(name, [0.0] * repeats), dtype=float)


def _deltas(candidate: Importance, rival: Importance, name: str) -> np.ndarray:
    return _drops(candidate, name) - _drops(rival, name)


def interval(values: np.ndarray) -> tuple[float, float] | None:
    """95% interval of the mean of `values` (Student's t); None from fewer than two. The quantile is scipy's
    t.ppf(0.975, n - 1), which is special.stdtrit: scipy.stats alone costs a report a second or more to import."""
    if len(values) < 2:
        return None
    from scipy.special import stdtrit

    half = float(stdtrit(len(values) - 1, 0.975) * np.std(values, ddof=1) / math.sqrt(len(values)))
    return float(np.mean(values)) - half, float(np.mean(values)) + half


def _table(candidate: Importance, rival: Importance | None, new: frozenset[str], ranked: list[str]) -> str:
    if rival is None:
        rows = ["| # | feature | candidate | 95% interval |", "|--:|---|--:|:-:|"]
        for rank, name in enumerate(ranked, 1):
            values = _drops(candidate, name)
            rows.append(
                f"| {rank} | {markdown.text(name)} | {np.mean(values):.4f} | {_span(interval(values))} |"
            )
        return "\n".join(rows)
    rows = [
        "| # | feature | champion | candidate | change | 95% interval of change |",
        "|--:|---|--:|--:|--:|:-:|",
    ]
    for rank, name in enumerate(ranked, 1):
        before = (
            "new"
            if name in new
            else ("not taken" if name not in rival.drops else f"{_drops(rival, name).mean():.4f}")
        )
        after = f"{_drops(candidate, name).mean():.4f}" if name in candidate.drops else "not taken"
        deltas = _deltas(candidate, rival, name)
        rows.append(
            f"| {rank} | {markdown.text(name)} | {before} | {after} | {deltas.mean():+.4f} | {_span(interval(deltas))} |"
        )
    return "\n".join(rows)


def _span(bounds: tuple[float, float] | None) -> str:
    return "–" if bounds is None else f"{bounds[0]:+.4f} … {bounds[1]:+.4f}"


def _chart(candidate: Importance, rival: Importance | None, ranked: list[str]) -> str:
    """Both models' mean drop of the features in `ranked`, by rank, as the mermaid chart review/charts.py redraws
    (numbers only: the names are in the table)."""
    if not ranked:
        return ""
    models = [candidate, *([rival] if rival is not None else [])]
    lines = "\n".join(
        f"    line [{', '.join(f'{_drops(model, name).mean():.3f}' for name in ranked)}]" for model in models
    )
    title, x_label, y_label = CHART
    grid = ", ".join(str(rank) for rank in range(1, len(ranked) + 1))
    legend = "line 1: candidate and line 2: champion" if rival is not None else "line 1: candidate"
    return (
        f'```mermaid\nxychart-beta\n    title "{title}"\n    x-axis "{x_label}" [{grid}]\n    y-axis "{y_label}"\n'
        f"{lines}\n```\n\n{legend}; the features by their rank in the table."
    )


def leak_warnings(candidate: Importance, rival: Importance | None, new: frozenset[str]) -> list[str]:
    """A warning for the candidate's strongest feature when it dwarfs all others, or is new to the model and ranks
    first: either may carry the target itself."""
    means = candidate.means().sort_values(ascending=False, kind="stable")
    if means.empty or means.iloc[0] <= 0:
        return []
    top, drop = str(means.index[0]), float(means.iloc[0])
    runner_up = float(means.iloc[1]) if len(means) > 1 else None
    reasons = []
    if runner_up is not None and drop >= LEAK_DROP and drop >= LEAK_RATIO * max(runner_up, 0.0):
        times = f"{drop / runner_up:.0f} times" if runner_up > 0 else "far above"
        reasons.append(f"shuffling it drops the {candidate.score} by {drop:.4f}, {times} the next feature's")
    if rival is not None and top in new:
        reasons.append("it is new to the model and is what the model relies on most")
    if not reasons:
        return []
    return [
        f"> [!WARNING]\n> Possible leak of the target: {markdown.text(top)}: {'; '.join(reasons)}. Check that it is "
        "known before the outcome, and list it under data.drop in params.yaml if it is not."
    ]
