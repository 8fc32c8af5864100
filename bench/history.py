"""Each figure against the last committed bench/results.md, and one line of history per benchmark.

Hosts differ, so a figure is compared by its ratio to the baseline measured in the same run. A figure without a
baseline (an absolute target) is compared only when the previous run was on the same kind of machine. A figure
that got worse by more than WORSE is marked; the direction comes from its target (">=" means higher is better).
"""

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import Figure

WORSE = 0.20
KEPT = 12  # history entries kept per benchmark, newest last
HISTORY_TITLE = "History (oldest first: the figure compared, the run's commit)"


@dataclass(frozen=True)
class Previous:
    machine: str
    compared: dict[str, str]  # name -> the figure compared ("1.83x", or "0.44 s" for an absolute figure)
    history: dict[str, list[str]]


def previous(results: Path) -> Previous:
    """The last committed results; their history, or (before this page kept one) the history git holds."""
    commits = _git("log", "--format=%h %ad", "--date=short", "--", results.as_posix()).splitlines()
    if not commits:
        return Previous("", {}, {})
    last = parse(_git("show", f"{commits[0].split()[0]}:{results.as_posix()}"))
    if last.history:
        return last
    history: dict[str, list[str]] = {}
    for commit in reversed(commits[:KEPT]):
        sha, day = commit.split()
        for name, value in parse(_git("show", f"{sha}:{results.as_posix()}")).compared.items():
            history.setdefault(name, []).append(f"{value} ({day} {sha})")
    return Previous(last.machine, last.compared, history)


def stamp() -> str:
    """This run: the day and the commit measured (+dirty when the tree has changes)."""
    return f"{_git('log', '-1', '--format=%ad', '--date=short').strip()} {_git('describe', '--always', '--dirty').strip()}"


def _git(*arguments: str) -> str:
    done = subprocess.run(
        ["git", *arguments], cwd=Path(__file__).parent.parent, capture_output=True, text=True, check=False
    )
    return done.stdout if done.returncode == 0 else ""


def parse(text: str) -> Previous:
    machine, compared, history, in_history = "", {}, {}, False
    for line in text.splitlines():
        if line.startswith("Machine: "):
            machine = line.removeprefix("Machine: ").split(" memory,")[0]
        if line.startswith("## "):
            in_history = line == f"## {HISTORY_TITLE}"
            continue
        if in_history and line.startswith("| ") and not line.startswith(("| benchmark", "|---")):
            name, _, entries = line[2:].rstrip(" |").rpartition(" | ")
            history[name] = [entry for entry in entries.split(" → ") if entry]
        elif not in_history and (figure := _figure(line)):
            compared[figure[0]] = figure[1]
    return Previous(machine, compared, history)


def compared(figure: Figure) -> str:
    """What is compared across runs: the ratio, or the value when there is no baseline."""
    return f"{figure.ratio:.2f}x" if figure.ratio else f"{figure.value:,.2f} {figure.unit}"


def change(figure: Figure, last: Previous, machine: str) -> str:
    """The previous figure and, when it got worse by more than WORSE, a mark saying by how much."""
    before = last.compared.get(figure.name)
    if before is None:
        return "new"
    if not figure.ratio and last.machine != machine:
        return f"{before} (another machine: not compared)"
    old, new = _number(before), _number(compared(figure))
    if old is None or new is None or old == 0 or _unit(before) != _unit(compared(figure)):
        return before
    worse = (old - new) / old if figure.target.startswith(">=") else (new - old) / old
    return f"{before} → **worse by {worse:.0%}**" if worse > WORSE else before


def history_lines(figures: list[Figure], last: Previous, stamp: str) -> list[str]:
    """One line per benchmark: its figure in each run, the oldest first. A benchmark this run skipped keeps its
    line; one that neither this run nor the last measured is gone."""
    lines = ["| benchmark | history |", "|---|---|"]
    history = {name: entries for name, entries in last.history.items() if name in last.compared}
    for figure in figures:
        history[figure.name] = [*history.get(figure.name, []), f"{compared(figure)} ({stamp})"][-KEPT:]
    lines += [f"| {name} | {' → '.join(entries)} |" for name, entries in history.items()]
    return lines


def _figure(line: str) -> tuple[str, str] | None:
    """(name, the figure compared) from a row of the main table, or None for any other line."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    if len(cells) < 7 or not line.startswith("| ") or cells[0] == "benchmark" or _number(cells[1]) is None:
        return None
    return cells[0], cells[4] or cells[1]


def _number(text: str) -> float | None:
    found = re.match(r"[\d.,]+", text)
    return float(found[0].replace(",", "")) if found else None


def _unit(text: str) -> str:
    return text.split(" ", 1)[1] if " " in text else "x"
