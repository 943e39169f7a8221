"""A terminal line chart: one line per series over categorical x positions.

`seqcli compare` draws BLEU against source-length bucket with it, one line per
architecture: Bahdanau et al. 2014, fig. 2, redrawn from our own runs. The chart
is a pure renderable over plain data (x labels + one list of values per series),
so it is testable without a model and has a plain-text form for report.md.

Each series has its own marker glyph, so the lines stay apart without colour
(NO_COLOR, piped output); colour is added when the console has it. Where two
series put a point on the same cell, a shared mark says so instead of one series
silently hiding the other. Line segments between points are drawn with dots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from seqcli.core.errors import SeqcliError

MARKERS = "●■▲◆○□△◇"  # one per series, cycled when there are more
ASCII_MARKERS = "ox+#*@%&"
SHARED, ASCII_SHARED = "✱", "$"  # two or more series meet on one cell
DOT, ASCII_DOT = "·", "."  # line segments between points
COLORS = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")
AXIS_WIDTH = 7  # characters for the y tick labels, e.g. " 32.5 "

Cell = tuple[str, int | None]  # (character, series index or None for axis/shared)


@dataclass(frozen=True)
class Geometry:
    """Where things go: plot size, the column of each x label, the y range."""

    height: int  # rows of the plot area
    slot: int  # columns per x category
    top: float  # y value of the top row (the bottom row is 0)

    def col(self, i: int) -> int:
        """Column of the i-th x category: the middle of its slot."""
        return i * self.slot + self.slot // 2

    def row(self, value: float) -> int:
        """Row of a y value; row 0 is the top."""
        frac = min(max(value / self.top, 0.0), 1.0) if self.top > 0 else 0.0
        return round((1.0 - frac) * (self.height - 1))


def nice_top(value: float) -> float:
    """A round upper bound for the y axis: 1, 2, 2.5, 5 or 10 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power: float = 10 ** math.floor(math.log10(value))  # int ** int is typed Any (a float when n < 0)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return step * power
    return 10 * power  # unreachable: 10 * power >= value always


class LineChart:
    """A line chart as a rich renderable; `plain()` gives the same chart as text.

    x_labels name the categories left to right; series maps a name to one value per
    category (None = no point there, e.g. a bucket a run did not score).
    """

    def __init__(self, x_labels: Sequence[str], series: dict[str, Sequence[float | None]],
                 title: str = "", y_label: str = "", x_label: str = "", height: int = 11,
                 errors: dict[str, Sequence[float | None]] | None = None) -> None:
        for name, values in {**series, **(errors or {})}.items():
            if len(values) != len(x_labels):
                raise ValueError(f"series {name!r} has {len(values)} values for {len(x_labels)} x labels")
        self.x_labels = list(x_labels)
        self.series = {name: list(values) for name, values in series.items()}
        self.errors = {name: list(values) for name, values in (errors or {}).items()}  # ± per point, PNG only
        self.title, self.y_label, self.x_label = title, y_label, x_label
        self.height = max(height, 3) | 1  # odd, so the middle tick sits at exactly half the top

    def geometry(self) -> Geometry:
        """Plot size and scale: slots wide enough for the longest x label."""
        slot = max([len(x) for x in self.x_labels] + [5]) + 2
        values = [v for vs in self.series.values() for v in vs if v is not None]
        return Geometry(self.height, slot, nice_top(max(values, default=0.0)))

    def points(self, g: Geometry) -> list[list[tuple[int, int]]]:
        """Each series' points as (column, row) cells, left to right."""
        return [[(g.col(i), g.row(v)) for i, v in enumerate(values) if v is not None]
                for values in self.series.values()]

    def plot_width(self, g: Geometry) -> int:
        """Columns of the plot area."""
        return g.slot * len(self.x_labels)

    def grid(self, ascii_only: bool = False) -> list[list[Cell]]:
        """The plot area as rows of cells: segments first, then markers on top."""
        g = self.geometry()
        return draw(self.points(g), self.plot_width(g), g.height, ascii_only)

    def lines(self, ascii_only: bool = False) -> list[list[tuple[str, int | None]]]:
        """The whole chart as lines of (text, series index) runs; index None = no colour."""
        g = self.geometry()
        out: list[list[tuple[str, int | None]]] = []
        if self.title:
            out.append([(self.title, None)])
        if self.y_label:
            out.append([(self.y_label, None)])
        ticks = {0: g.top, (g.height - 1) // 2: g.top / 2}
        vbar, tick = ("|", "+") if ascii_only else ("│", "┤")
        grid = self.grid(ascii_only)
        for r, row in enumerate(grid):
            label = f"{ticks[r]:>{AXIS_WIDTH - 2}.4g} {tick}" if r in ticks else " " * (AXIS_WIDTH - 1) + vbar
            out.append([(label, None), *_runs(row)])
        out.append([(self._x_axis(g, ascii_only), None)])
        out.append([(" " * AXIS_WIDTH + self.tick_labels(g), None)])
        if self.x_label:
            out.append([(" " * AXIS_WIDTH + self.x_label.center(self.plot_width(g)).rstrip(), None)])
        shared_used = any(ch in (SHARED, ASCII_SHARED) and s is None for row in grid for ch, s in row)
        out.append(self._legend(ascii_only, shared_used))
        return out

    def tick_columns(self, g: Geometry) -> list[int]:
        """Columns of the x axis that get a tick mark."""
        return [g.col(i) for i in range(len(self.x_labels))]

    def tick_labels(self, g: Geometry) -> str:
        """The line under the x axis: each label centred under its tick."""
        return "".join(x.center(g.slot) for x in self.x_labels)

    def _x_axis(self, g: Geometry, ascii_only: bool) -> str:
        corner, rule, mark = ("0 +", "-", "+") if ascii_only else ("0 ┼", "─", "┬")
        axis = [rule] * self.plot_width(g)
        for c in self.tick_columns(g):
            axis[c] = mark
        return f"{corner:>{AXIS_WIDTH}}" + "".join(axis)

    def _legend(self, ascii_only: bool, shared: bool) -> list[tuple[str, int | None]]:
        markers = ASCII_MARKERS if ascii_only else MARKERS
        runs: list[tuple[str, int | None]] = [(" " * AXIS_WIDTH, None)]
        for s, name in enumerate(self.series):
            runs += [(markers[s % len(markers)], s), (f" {name}   ", None)]
        if shared:
            runs.append((f"{ASCII_SHARED if ascii_only else SHARED} several", None))
        return runs

    def plain(self, ascii_only: bool = False) -> str:
        """The chart as plain text, lines stripped of trailing spaces."""
        return "\n".join("".join(text for text, _ in line).rstrip() for line in self.lines(ascii_only))

    def draw_png(self, ax: Any) -> None:
        """Draw the lines onto matplotlib axes, with error bars where `errors` gives them."""
        xs = list(range(len(self.x_labels)))
        for name, values in self.series.items():
            spread = self.errors.get(name, [None] * len(values))
            points = [(x, v, e or 0.0) for x, v, e in zip(xs, values, spread, strict=True) if v is not None]
            ax.errorbar([p[0] for p in points], [p[1] for p in points],
                        yerr=[p[2] for p in points] if name in self.errors else None,
                        marker="o", capsize=3, label=name)
        ax.set_xticks(xs, self.x_labels)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        colour = console.color_system is not None and not console.no_color
        for line in self.lines(options.ascii_only):
            text = Text(no_wrap=True, overflow="crop")
            for chunk, s in line:
                text.append(chunk, style=COLORS[s % len(COLORS)] if colour and s is not None else "")
            yield text


@dataclass(frozen=True)
class NumericGeometry(Geometry):
    """A numeric x axis: x from 0 to `right` over `width` columns, ticks every `step`."""

    width: int = 60
    right: float = 1.0
    step: float = 1.0

    def col(self, x: float) -> int:  # an x value, not a category index (float takes ints too)
        """Column of an x value."""
        return round(min(max(x / self.right, 0.0), 1.0) * (self.width - 1)) if self.right > 0 else 0


TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)  # seconds: round ones


class CurveChart(LineChart):
    """Lines over a numeric x axis, such as validation BLEU against seconds of training.

    series maps a name to its (x, y) points; errors (optional, PNG only) to a ± per
    point. Same glyphs, shared marks, colours and plain form as `LineChart`; the x
    axis starts at 0 and gets about `ticks` round ticks, labelled by `x_format`.
    """

    def __init__(self, series: Mapping[str, Sequence[tuple[float, float]]], title: str = "", y_label: str = "",
                 x_label: str = "", height: int = 11, width: int = 60,
                 errors: Mapping[str, Sequence[float]] | None = None,
                 x_format: Callable[[float], str] = lambda x: f"{x:g}", ticks: int = 6) -> None:
        for name, values in (errors or {}).items():
            if len(values) != len(series.get(name, ())):
                raise ValueError(f"series {name!r}: {len(values)} errors for {len(series.get(name, ()))} points")
        super().__init__([], {}, title, y_label, x_label, height)
        self.points_xy = {name: sorted(points) for name, points in series.items()}
        self.series = {name: [y for _, y in points] for name, points in self.points_xy.items()}
        self.errors = {name: list(values) for name, values in (errors or {}).items()}
        self.width, self.x_format, self.ticks = max(width, 12), x_format, max(ticks, 1)

    def geometry(self) -> NumericGeometry:
        """Plot size and scale: y from 0 to a round top, x from 0 to a whole number of round ticks."""
        ys = [y for points in self.points_xy.values() for _, y in points]
        right = max([x for points in self.points_xy.values() for x, _ in points], default=0.0)
        step = next((t for t in TICK_STEPS if t * self.ticks >= right), nice_top(right / self.ticks))
        right = max(math.ceil(right / step - 1e-9), 1) * step
        return NumericGeometry(self.height, 0, nice_top(max(ys, default=0.0)), self.width, right, step)

    def points(self, g: Geometry) -> list[list[tuple[int, int]]]:
        assert isinstance(g, NumericGeometry)
        return [[(g.col(x), g.row(y)) for x, y in points] for points in self.points_xy.values()]

    def plot_width(self, g: Geometry) -> int:
        return self.width

    def tick_values(self, g: NumericGeometry) -> list[float]:
        """The x values that get a tick: 0, step, 2 step, ... right."""
        return [k * g.step for k in range(round(g.right / g.step) + 1)]

    def tick_columns(self, g: Geometry) -> list[int]:
        assert isinstance(g, NumericGeometry)
        return [g.col(x) for x in self.tick_values(g)]

    def tick_labels(self, g: Geometry) -> str:
        """Labels centred under their ticks; one that would touch its left neighbour is left out."""
        assert isinstance(g, NumericGeometry)
        line = [" "] * (self.width + 8)
        end = -2  # last column written
        for x in self.tick_values(g):
            label = self.x_format(x)
            start = max(g.col(x) - len(label) // 2, 0)
            if start > end + 1:
                line[start:start + len(label)] = label
                end = start + len(label) - 1
        return "".join(line).rstrip()

    def draw_png(self, ax: Any) -> None:
        """Draw the curves onto matplotlib axes, with error bars where `errors` gives them."""
        for name, points in self.points_xy.items():
            ax.errorbar([x for x, _ in points], [y for _, y in points], yerr=self.errors.get(name),
                        marker="o", markersize=3, capsize=2, label=name)
        ax.set_xlim(left=0)


def draw(series: list[list[tuple[int, int]]], width: int, height: int, ascii_only: bool = False) -> list[list[Cell]]:
    """Cells of a plot area: dotted segments between each series' points, markers on top.

    Where markers of two series land on one cell, a shared mark replaces them.
    """
    cells: list[list[Cell]] = [[(" ", None)] * width for _ in range(height)]
    dot = ASCII_DOT if ascii_only else DOT
    for s, points in enumerate(series):
        for (c0, r0), (c1, r1) in zip(points, points[1:], strict=False):
            for c, r in _segment(c0, r0, c1, r1):
                if cells[r][c][0] == " ":
                    cells[r][c] = (dot, s)
    markers = ASCII_MARKERS if ascii_only else MARKERS
    shared = ASCII_SHARED if ascii_only else SHARED
    owner: dict[tuple[int, int], int] = {}  # cell -> series whose marker is there
    for s, points in enumerate(series):
        for c, r in points:
            if (r, c) in owner and owner[(r, c)] != s:
                cells[r][c] = (shared, None)
            else:
                owner[(r, c)] = s
                cells[r][c] = (markers[s % len(markers)], s)
    return cells


def _segment(c0: int, r0: int, c1: int, r1: int) -> list[tuple[int, int]]:
    """Cells strictly between two points, sampled densely enough to leave no gap."""
    n = max(abs(c1 - c0), abs(r1 - r0))
    cells = []
    for k in range(1, n):
        t = k / n
        cells.append((round(c0 + (c1 - c0) * t), round(r0 + (r1 - r0) * t)))
    return [cell for cell in dict.fromkeys(cells) if cell not in ((c0, r0), (c1, r1))]


def _runs(row: list[Cell]) -> list[tuple[str, int | None]]:
    """Merge neighbouring cells of the same series into one run of text."""
    runs: list[tuple[str, int | None]] = []
    for ch, s in row:
        if runs and runs[-1][1] == s:
            runs[-1] = (runs[-1][0] + ch, s)
        else:
            runs.append((ch, s))
    return runs


def save_png(chart: LineChart, path: Path) -> None:
    """Draw the chart with matplotlib (the optional `plot` extra) into a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed; must precede pyplot
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqcliError("--png needs matplotlib, which is not installed: pip install 'seqcli[plot]'") from None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    chart.draw_png(ax)
    ax.set(title=chart.title, xlabel=chart.x_label, ylabel=chart.y_label)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=150)
    except OSError as e:
        raise SeqcliError(f"could not write {path}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
