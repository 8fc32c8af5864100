"""make bench compares each figure with the last committed results and keeps one line of history per benchmark."""

from pathlib import Path

from bench.__main__ import render
from bench.common import Figure
from bench.history import Previous, change, history_lines, parse

MACHINE = "2 cores (Test CPU), 23.5 GiB"


def figure(name: str, value: float, baseline: float | None = None, target: str = "<= 1.5x") -> Figure:
    return Figure(name, value, "a baseline" if baseline else "", baseline, target, True)


def last_run(tmp_path: Path, *figures: Figure) -> Previous:
    """Results as make bench writes them, read back as the next run reads them."""
    text = render(figures, {}, 60.0, tmp_path, Previous(MACHINE, {}, {}))
    return parse(text.replace(text.split("Machine: ", 1)[1].split(" memory,")[0], MACHINE, 1))


def test_a_ratio_worse_by_more_than_a_fifth_is_marked_and_a_smaller_change_is_not(tmp_path):
    last = last_run(tmp_path, figure("bake", 1.2, 1.0), figure("repro", 2.0, 1.0))
    assert change(figure("bake", 1.5, 1.0), last, "another machine") == "1.20x → **worse by 25%**"
    assert change(figure("repro", 2.2, 1.0), last, "another machine") == "2.00x"
    assert change(figure("status", 1.0, 1.0), last, MACHINE) == "new"


def test_a_figure_where_higher_is_better_is_marked_when_it_falls(tmp_path):
    last = last_run(tmp_path, figure("throughput", 12.0, 1.0, ">= 10x"))
    assert change(figure("throughput", 9.0, 1.0, ">= 10x"), last, MACHINE) == "12.00x → **worse by 25%**"
    assert change(figure("throughput", 15.0, 1.0, ">= 10x"), last, MACHINE) == "12.00x"


def test_an_absolute_figure_is_compared_only_on_the_same_kind_of_machine(tmp_path):
    last = last_run(tmp_path, figure("report", 1.0, target="<= 2 s"))
    assert change(figure("report", 1.5, target="<= 2 s"), last, MACHINE) == "1.00 s → **worse by 50%**"
    assert change(figure("report", 1.5, target="<= 2 s"), last, "4 cores (Other CPU), 64.0 GiB") == (
        "1.00 s (another machine: not compared)"
    )


def test_history_keeps_one_line_per_benchmark_and_drops_what_no_run_measures(tmp_path):
    earlier = Previous(
        MACHINE,
        {"bake": "1.20x", "skipped": "3.00x"},
        {"bake": ["1.30x (2026-11-30 aaa)"], "skipped": ["3.00x (2026-11-30 aaa)"], "gone": ["9.00x (old)"]},
    )
    lines = history_lines([figure("bake", 1.1, 1.0)], earlier, "2026-12-02 bbb")
    assert lines[2:] == [
        "| bake | 1.30x (2026-11-30 aaa) → 1.10x (2026-12-02 bbb) |",
        "| skipped | 3.00x (2026-11-30 aaa) |",
    ]
    text = "## History (oldest first: the figure compared, the run's commit)\n\n" + "\n".join(lines)
    assert parse(text).history["bake"] == ["1.30x (2026-11-30 aaa)", "1.10x (2026-12-02 bbb)"]
