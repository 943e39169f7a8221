"""Heatmaps for the terminal: pure renderables over plain data (labels + a 2-D array).

Nothing here knows about models. `Heatmap` draws one matrix (one row per row label,
one column per column label) and adapts to the console it is printed on: a colour
ramp when the console has colour, shade characters ` ░▒▓█` when it has none
(NO_COLOR, piped output). The strongest cell of each row is marked with `▸` in both
modes, so the mark survives without colour. `HeatmapGrid` lays several maps side by
side (small multiples, e.g. one per attention head) that share their labels.

A grid never wraps mid-row: when the columns do not fit the width, the labels are
abbreviated first, and then the columns are split into blocks; the map says which.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.color import Color
from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text

SHADES = " ░▒▓█"  # low to high; equal-width bins over [vmin, vmax]
MARK = "▸"  # drawn just before the strongest cell of a row
MASKED = "·"  # a NaN cell: masked out (e.g. the future in causal attention)
ELLIPSIS = "…"
MAX_ROW_LABEL = 14  # longer row labels are abbreviated
MAX_COL_LABEL = 10  # a column is never wider than this, even for a long label
MIN_ABBREV = 5  # abbreviate column labels down to this many characters, then wrap
PANEL_GAP = 3  # spaces between small multiples
# A perceptually even ramp (viridis stops): dark = little attention, bright = much.
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def abbreviate(label: str, width: int) -> str:
    """Cut a label to `width` characters, ending in an ellipsis when cut."""
    if len(label) <= width:
        return label
    return label[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def ramp_rgb(x: float) -> tuple[int, int, int]:
    """Colour of a normalised value x in [0, 1], interpolated between the RAMP stops."""
    x = min(max(x, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(x), len(RAMP) - 2)
    frac = x - i
    lo, hi = RAMP[i], RAMP[i + 1]
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(lo, hi, strict=True))
    return r, g, b


def shade(x: float) -> str:
    """Shade character of a normalised value x in [0, 1]."""
    level = int(min(max(x, 0.0), 1.0) * len(SHADES))
    return SHADES[min(level, len(SHADES) - 1)]


def _cell_style(x: float) -> Style:
    r, g, b = ramp_rgb(x)
    # Dark text on the bright end of the ramp, light text on the dark end.
    fg = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"
    return Style(bgcolor=Color.from_rgb(r, g, b), color=fg)


@dataclass(frozen=True)
class Layout:
    """How a grid fits a width: label column, cell body width, column blocks."""

    row_width: int  # characters for the row labels
    body: int  # characters per cell, after the one-character mark slot
    blocks: list[list[int]]  # column indices of each block, left to right
    abbreviated: bool  # some column label was cut to fit


class Heatmap:
    """One labelled matrix as a terminal heatmap (a rich renderable).

    weights: 2-D array-like [rows, cols]; NaN marks a masked cell. Values are mapped
    linearly from [vmin, vmax] onto the ramp; by default [0, 1] when every value lies
    there (attention weights), else the data's own range (raw scores).
    """

    def __init__(
        self,
        weights: object,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        title: str = "",
        *,
        show_values: bool = False,
        mark_max: bool = True,
        vmin: float | None = None,
        vmax: float | None = None,
        notes: Sequence[str] = (),
    ) -> None:
        w = np.asarray(weights, dtype=float)
        if w.ndim != 2:
            raise ValueError(f"a heatmap needs a 2-D array, got shape {w.shape}")
        if w.shape != (len(row_labels), len(col_labels)):
            raise ValueError(
                f"weights {w.shape} do not match {len(row_labels)} row and "
                f"{len(col_labels)} column labels"
            )
        self.weights = w
        self.row_labels = [str(r) for r in row_labels]
        self.col_labels = [str(c) for c in col_labels]
        self.title = title
        self.show_values = show_values
        self.mark_max = mark_max
        self.notes = list(notes)
        finite = w[np.isfinite(w)]
        probabilities = finite.size == 0 or (finite.min() >= 0 and finite.max() <= 1)
        lo, hi = (0.0, 1.0) if probabilities else (float(finite.min()), float(finite.max()))
        self.vmin = lo if vmin is None else vmin
        self.vmax = hi if vmax is None else vmax
        self._probabilities = probabilities and self.vmin == 0 and self.vmax == 1
        biggest = float(np.abs(finite).max()) if finite.size else 0.0
        self._decimals = 2 if biggest < 10 else 1 if biggest < 100 else 0

    # ---- values -------------------------------------------------------------------

    def normalised(self, value: float) -> float:
        """Map a value onto [0, 1] for the ramp."""
        span = self.vmax - self.vmin
        return 0.0 if span <= 0 else (value - self.vmin) / span

    def format_value(self, value: float) -> str:
        """The number shown in a cell with show_values: '.42' for weights, '-3.1' else."""
        if math.isnan(value):
            return MASKED
        if self._probabilities:
            text = f"{value:.2f}"
            return text[1:] if text.startswith("0") else text
        text = f"{value:.{self._decimals}f}"
        return "0" if float(text) == 0 else text  # no "-0.00"

    def row_argmax(self) -> list[int | None]:
        """Column of the strongest cell of each row (None for a row with nothing)."""
        out: list[int | None] = []
        for row in self.weights:
            finite = np.where(np.isfinite(row), row, -np.inf)
            best = int(np.argmax(finite))
            out.append(best if np.isfinite(finite[best]) and self.mark_max else None)
        return out

    # ---- layout -------------------------------------------------------------------

    def min_body(self) -> int:
        """Narrowest cell body that still shows the cell (its number, with values)."""
        if not self.show_values:
            return 2
        return max(len(self.format_value(v)) for v in self.weights.flat) if self.weights.size else 2

    def layout(self, width: int) -> Layout:
        """Fit the columns into `width`: full labels, else abbreviated, else wrapped."""
        n = len(self.col_labels)
        row_width = min(max((len(r) for r in self.row_labels), default=0), MAX_ROW_LABEL)
        floor = self.min_body()
        natural = max(floor, min(max((len(c) for c in self.col_labels), default=0), MAX_COL_LABEL))
        avail = max(width - row_width - 1, 1)  # one space after the row labels
        fit = avail // max(n, 1) - 1  # widest body for all columns in one block
        if fit >= natural:
            body, per_block = natural, n
        elif fit >= max(floor, MIN_ABBREV):
            body, per_block = fit, n
        else:
            body = max(floor, min(natural, MIN_ABBREV + 2))
            per_block = max(avail // (body + 1), 1)
        blocks = [list(range(i, min(i + per_block, n))) for i in range(0, n, per_block)] or [[]]
        cut = any(len(c) > body for c in self.col_labels)
        return Layout(row_width, body, blocks, cut)

    # ---- drawing ------------------------------------------------------------------

    def cell(self, r: int, c: int, body: int, colour: bool, marked: bool) -> Text:
        """One cell: the mark slot, then the body (colour block, shade or number)."""
        value = self.weights[r, c]
        mark = MARK if marked else " "
        if math.isnan(value):
            return Text(mark + MASKED.center(body))
        style = _cell_style(self.normalised(value)) if colour else ""
        if self.show_values:
            # The mark sits right against its number, however wide the column.
            number = self.format_value(value)
            return Text((mark + number).rjust(body + 1), style=style)
        if colour:
            return Text(mark).append(" " * body, style=style)
        return Text(mark + shade(self.normalised(value)) * body)

    def grid_lines(
        self,
        cols: Sequence[int],
        layout: Layout,
        colour: bool,
        headers: Sequence[str] | None = None,
        row_labels: bool = True,
    ) -> list[Text]:
        """The header line and one line per row for the given columns; equal widths."""
        label_w = layout.row_width + 1 if row_labels else 0
        heads = headers if headers is not None else [self.col_labels[c] for c in cols]
        header = Text(" " * label_w, no_wrap=True, overflow="crop")
        for h in heads:
            header.append(" " + abbreviate(h, layout.body).ljust(layout.body), style="bold")
        lines = [header]
        marks = self.row_argmax()
        for r, label in enumerate(self.row_labels):
            line = Text(no_wrap=True, overflow="crop")
            if row_labels:
                line.append(abbreviate(label, layout.row_width).rjust(layout.row_width) + " ",
                            style="bold")
            for c in cols:
                line.append_text(self.cell(r, c, layout.body, colour, marks[r] == c))
            lines.append(line)
        return lines

    def legend(self, colour: bool) -> Text:
        """The scale: what each shade or colour means, and what the mark means."""
        lo, hi = self.vmin, self.vmax
        text = Text(f"scale {lo:.3g}…{hi:.3g}: ")
        if colour:
            text.append(f"{lo:.3g} ")
            for i in range(10):
                text.append(" ", style=_cell_style(i / 9))
            text.append(f" {hi:.3g}")
        else:
            step = (hi - lo) / len(SHADES)
            bounds = [f"<{lo + step * (i + 1):.2g}" for i in range(len(SHADES) - 1)]
            bounds.append(f"≥{lo + step * (len(SHADES) - 1):.2g}")
            shades = ["' '"] + list(SHADES[1:])  # the blank shade needs quotes to be seen
            text.append(" ".join(f"{s}{b}" for s, b in zip(shades, bounds, strict=True)))
        if self.mark_max:
            text.append(f"  {MARK} row's strongest", style="dim")
        if np.isnan(self.weights).any():
            text.append(f"  {MASKED} masked", style="dim")
        return text

    def lines(self, width: int, colour: bool) -> list[Text]:
        """Everything the heatmap prints at this width: title, notes, grid, legend."""
        layout = self.layout(width)
        out: list[Text] = []
        if self.title:
            out.append(Text(self.title, style="bold"))
        notes = list(self.notes)
        if layout.abbreviated:
            notes.append(f"column labels abbreviated to {layout.body} characters to fit")
        if any(len(r) > layout.row_width for r in self.row_labels):
            notes.append(f"row labels abbreviated to {layout.row_width} characters")
        if len(layout.blocks) > 1:
            notes.append(f"{len(self.col_labels)} columns wrapped into "
                         f"{len(layout.blocks)} blocks to fit {width} characters")
        out.extend(Text(n, style="dim") for n in notes)
        full = layout.row_width + 1 + len(layout.blocks[0]) * (layout.body + 1)
        for i, cols in enumerate(layout.blocks):
            if len(layout.blocks) > 1:
                out.append(Text(f"columns {cols[0] + 1}–{cols[-1] + 1} of {len(self.col_labels)}",
                                style="dim"))
            for line in self.grid_lines(cols, layout, colour):
                line.pad_right(full - line.cell_len)  # the last block: same width as the rest
                out.append(line)
            if i + 1 < len(layout.blocks):
                out.append(Text(""))
        out.append(self.legend(colour))
        return out

    def plain(self, width: int = 80) -> str:
        """Plain-text fallback: shade characters, no colour, no escape codes."""
        return to_plain(self, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render for this console: colour ramp when it has colour, shades otherwise."""
        yield from self.lines(options.max_width, colour=has_colour(console))


class HeatmapGrid:
    """Heatmaps over the same labels side by side (small multiples, e.g. one per head).

    To fit several maps in a terminal the columns are numbered instead of labelled,
    with a key underneath; only the leftmost map of each band shows the row labels.
    When not even one numbered map fits, the maps are stacked, each in full.
    """

    def __init__(self, panels: Sequence[Heatmap], title: str = "", notes: Sequence[str] = ()):
        if not panels:
            raise ValueError("a heatmap grid needs at least one panel")
        first = panels[0]
        for p in panels[1:]:
            if (p.row_labels, p.col_labels) != (first.row_labels, first.col_labels):
                raise ValueError("small multiples must share their row and column labels")
        self.panels = list(panels)
        self.title = title
        self.notes = list(notes)

    def layout(self) -> Layout:
        """The shared layout of every panel: numbered columns, one block."""
        first = self.panels[0]
        n = len(first.col_labels)
        body = max(max(p.min_body() for p in self.panels), len(str(n)))
        row_width = min(max((len(r) for r in first.row_labels), default=0), MAX_ROW_LABEL)
        return Layout(row_width, body, [list(range(n))], False)

    def per_band(self, width: int) -> int:
        """How many panels fit side by side in `width` (0: not even one)."""
        layout = self.layout()
        panel_w = len(layout.blocks[0]) * (layout.body + 1)
        room = width - layout.row_width - 1 + PANEL_GAP
        return max(room // (panel_w + PANEL_GAP), 0)

    def lines(self, width: int, colour: bool) -> list[Text]:
        """Title, notes, bands of panels (or stacked full maps), the column key, legend."""
        out = [Text(self.title, style="bold")] if self.title else []
        out.extend(Text(n, style="dim") for n in self.notes)
        k = self.per_band(width)
        if k == 0:
            out.append(Text(f"{len(self.panels)} maps stacked: side by side they do not fit "
                            f"{width} characters", style="dim"))
            for p in self.panels:
                out.extend([Text(""), *p.lines(width, colour)])
            return out
        layout = self.layout()
        cols = layout.blocks[0]
        numbers = [str(c + 1) for c in cols]
        panel_w = len(cols) * (layout.body + 1)
        for start in range(0, len(self.panels), k):
            band = self.panels[start : start + k]
            heads = Text(" " * (layout.row_width + 1), no_wrap=True, overflow="crop")
            for j, p in enumerate(band):
                gap = " " * PANEL_GAP if j else ""
                heads.append(gap + abbreviate(p.title, panel_w).ljust(panel_w), style="bold")
            rows = [p.grid_lines(cols, layout, colour, numbers, row_labels=j == 0)
                    for j, p in enumerate(band)]
            out.extend([Text(""), heads])
            for parts in zip(*rows, strict=True):
                out.append(Text(" " * PANEL_GAP).join(parts))
        key = "  ".join(f"{n} {label}" for n, label in zip(numbers, self.panels[0].col_labels,
                                                           strict=True))
        out.append(Text(f"columns: {key}", style="dim"))
        out.append(self.panels[0].legend(colour))
        return out

    def plain(self, width: int = 80) -> str:
        """Plain-text fallback: shade characters, no colour, no escape codes."""
        return to_plain(self, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Render for this console: colour ramp when it has colour, shades otherwise."""
        yield from self.lines(options.max_width, colour=has_colour(console))


def to_plain(renderable: Heatmap | HeatmapGrid, width: int = 80) -> str:
    """Render as plain text at `width`, as it prints into a pipe (prose lines wrapped)."""
    console = Console(file=io.StringIO(), width=width, color_system=None, no_color=True,
                      force_terminal=False, highlight=False)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def has_colour(console: Console) -> bool:
    """Whether the console can show the colour ramp (a 256/truecolor terminal, no NO_COLOR).

    With 8 or 16 colours the ramp would collapse into a few greys, so such terminals
    get the shade characters, which keep every level apart.
    """
    return console.color_system in ("truecolor", "256") and not console.no_color
