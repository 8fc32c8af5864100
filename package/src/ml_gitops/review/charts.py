"""The report's mermaid charts (REPORT_IMAGES=mermaid), read as numbers and drawn again by trusted code.

The report's code blocks were written by pull-request code, so none is posted as written: a chart is taken only when
it is exactly one the report draws (review/report.py: a known title and axes, then one or two lines of numbers),
and the comment draws it again from those numbers. Anything else stays in the report shown as text. Standard
library only.
"""

import math
import re

# (title, x-axis, y-axis) of each chart the report draws
KNOWN = {
    ("ROC curve", "false positive rate", "true positive rate"),
    ("Share correct by decile of confidence", "decile", "share correct"),
    ("Mean actual by decile of prediction", "decile", "mean actual"),
    ("What the model relies on", "feature by rank", "score drop when shuffled"),  # review/reliance.py
}
NUMBERS = r"\[([-0-9., e+]{0,600})\]"
CHART = re.compile(
    r"^```mermaid\nxychart-beta\n"
    r'    title "(?P<title>[A-Za-z ]{1,60})"\n'
    r'    x-axis "(?P<x>[a-z ]{1,40})" \[(?P<grid>[-0-9., e+]{0,600})\]\n'
    r'    y-axis "(?P<y>[a-z ]{1,40})"\n'
    rf"(?P<lines>(?:    line {NUMBERS}\n){{1,2}})```$",
    re.MULTILINE,
)
LINE = re.compile(rf"    line {NUMBERS}")
MAX_POINTS = 50
LEGEND = {1: "Line 1: the candidate.", 2: "Line 1: the candidate; line 2: the champion."}


def redraw(report: str) -> list[str]:
    """The report's charts that are exactly ones it draws, drawn again from their numbers, each with its legend."""
    charts = []
    for match in CHART.finditer(report):
        if (match["title"], match["x"], match["y"]) not in KNOWN:
            continue
        grid = _numbers(match["grid"])
        lines = [_numbers(values) for values in LINE.findall(match["lines"])]
        if grid is None or any(line is None or len(line) != len(grid) for line in lines):
            continue
        charts.append(_draw(match["title"], match["x"], match["y"], grid, lines))
    return charts


def _numbers(values: str) -> list[float] | None:
    """Comma-separated finite numbers (at most MAX_POINTS), or None."""
    try:
        numbers = [float(value) for value in values.split(",")]
    except ValueError:
        return None
    return numbers if 0 < len(numbers) <= MAX_POINTS and all(map(math.isfinite, numbers)) else None


def _draw(title: str, x: str, y: str, grid: list[float], lines: list[list[float]]) -> str:
    drawn = "\n".join(f"    line [{', '.join(f'{value:.3f}' for value in line)}]" for line in lines)
    return (
        f'```mermaid\nxychart-beta\n    title "{title}"\n    x-axis "{x}" [{", ".join(f"{g:g}" for g in grid)}]\n'
        f'    y-axis "{y}"\n{drawn}\n```\n\n{LEGEND[len(lines)]}'
    )
