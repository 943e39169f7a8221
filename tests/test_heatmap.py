"""The heatmap renderables: structure of what they print, on known matrices."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from seqcli.views.heatmap import MARK, MASKED, SHADES, Heatmap, HeatmapGrid, shade

SRC = ["Tourists", "visit", "Finland", "to", "watch", "Northern", "lights", ".", "<eos>"]
TGT = ["Turistit", "vierailevat", "Suomessa", "katsomassa", "revontulia", ".", "<eos>"]


def weights(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Random attention-like rows (each sums to 1) with a clear winner per row."""
    rng = np.random.default_rng(seed)
    w = rng.random((rows, cols)) ** 4
    return w / w.sum(axis=1, keepdims=True)


def plain_console(width: int = 80) -> Console:
    """Like stdout piped into a file: no terminal, no colour."""
    return Console(record=True, width=width, no_color=True, force_terminal=False,
                   file=io.StringIO())


def colour_console(width: int = 80) -> Console:
    """A truecolor terminal."""
    return Console(record=True, width=width, force_terminal=True, color_system="truecolor",
                   file=io.StringIO())


def grid_rows(lines: list[str], labels: list[str]) -> list[str]:
    """The grid lines: those that start with a right-aligned row label."""
    w = max(len(lab) for lab in labels)
    return [line for line in lines if line[:w].strip() in labels and line[w : w + 1] == " "]


def test_plain_output_uses_shades_and_marks_every_row_argmax() -> None:
    w = weights(len(TGT), len(SRC))
    console = plain_console(120)  # wide enough for one block with full labels
    console.print(Heatmap(w, TGT, SRC, title="cross-attention"))
    text = console.export_text()
    assert "\x1b[" not in text  # no escape codes without colour
    assert "cross-attention" in text
    for label in SRC:
        assert label in text  # full column labels at this width
    rows = grid_rows(text.splitlines(), TGT)
    assert len(rows) == len(TGT)
    for r, line in enumerate(rows):
        assert line.count(MARK) == 1
        # The mark sits in the slot before the strongest column's cell.
        label_w = max(len(t) for t in TGT) + 1
        cell_w = (len(line) - label_w) // len(SRC)
        col = (line.index(MARK) - label_w) // cell_w
        assert col == int(np.argmax(w[r]))
        cell = line[label_w + col * cell_w + 1 : label_w + (col + 1) * cell_w]
        assert set(cell) == {shade(w[r, col])}
    assert set("".join(rows)) - set(" ".join(TGT)) <= set(SHADES) | {MARK, " "}


def test_colour_output_has_no_shade_characters_but_keeps_the_marks() -> None:
    w = weights(len(TGT), len(SRC))
    console = colour_console(120)
    console.print(Heatmap(w, TGT, SRC))
    ansi = console.export_text(styles=True, clear=False)
    assert "\x1b[" in ansi and "48;2;" in ansi  # truecolor backgrounds
    text = console.export_text()
    assert not set(text) & set(SHADES[1:])
    assert text.count(MARK) == len(TGT) + 1  # one per row, one in the legend


def test_shade_levels_cover_zero_to_one_in_order() -> None:
    levels = [shade(x) for x in np.linspace(0, 1, 11)]
    assert levels[0] == SHADES[0] and levels[-1] == SHADES[-1]
    assert [SHADES.index(s) for s in levels] == sorted(SHADES.index(s) for s in levels)


def test_one_hot_rows_mark_the_hot_cell_and_legend_explains_the_scale() -> None:
    w = np.eye(4)[[2, 0, 3, 1]]
    text = Heatmap(w, list("abcd"), ["w", "x", "y", "z"]).plain(80)
    rows = [line for line in text.splitlines() if line[:1] in "abcd" and MARK in line]
    for line, hot in zip(rows, [2, 0, 3, 1], strict=True):
        cells = line[2:]
        assert cells.index(MARK) // 3 == hot  # label "a " then 3 characters per cell
        assert SHADES[-1] * 2 in cells
    legend = text.splitlines()[-1]
    assert "scale 0…1" in legend and SHADES[-1] in legend and MARK in legend


@pytest.mark.parametrize("width", [40, 60, 80])
def test_wide_sentence_wraps_into_blocks_of_equal_width_rows(width: int) -> None:
    src = [f"token{i}" for i in range(30)]
    w = weights(len(TGT), len(src), seed=1)
    console = plain_console(width)
    console.print(Heatmap(w, TGT, src))
    lines = console.export_text().splitlines()
    assert all(len(line) <= width for line in lines)
    assert any("wrapped into" in line for line in lines)  # it says so
    rows = grid_rows(lines, TGT)
    assert len(rows) % len(TGT) == 0 and len(rows) > len(TGT)
    assert len({len(line) for line in rows}) == 1  # every grid row the same width
    assert sum(line.count(MARK) for line in rows) == len(TGT)  # each row marked once
    headers = " ".join(lines)
    for i in (0, 29):
        assert f"token{i}"[: 5] in headers


def test_medium_sentence_abbreviates_labels_and_says_so() -> None:
    text = Heatmap(weights(len(TGT), len(SRC)), TGT, SRC).plain(80)
    assert "abbreviated" in text
    assert "Touri…" in text or "Touris…" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_values_print_numbers_and_the_mark_beside_the_largest() -> None:
    w = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
    text = Heatmap(w, ["x", "y"], ["a", "b", "c"], show_values=True).plain(80)
    assert f"{MARK}.70" in text and f"{MARK}.50" in text
    assert ".10" in text and ".25" in text


def test_scores_outside_zero_one_use_their_own_range_and_masked_cells() -> None:
    w = np.array([[2.0, np.nan], [-1.0, 3.0]])
    h = Heatmap(w, ["x", "y"], ["x", "y"], show_values=True)
    assert (h.vmin, h.vmax) == (-1.0, 3.0)
    text = h.plain(80)
    assert MASKED in text and "masked" in text
    assert f"{MARK}2.00" in text and f"{MARK}3.00" in text


def test_mismatched_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="labels"):
        Heatmap(np.zeros((2, 3)), ["a", "b"], ["x", "y"])


def test_small_multiples_side_by_side_share_numbered_columns() -> None:
    panels = [Heatmap(weights(len(TGT), len(SRC), seed=h), TGT, SRC, f"head {h + 1}")
              for h in range(4)]
    console = plain_console(80)
    console.print(HeatmapGrid(panels, title="all 4 heads"))
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    titles = [line for line in lines if "head 1" in line or "head 3" in line]
    assert any("head 1" in t and "head 2" in t for t in lines)  # side by side
    assert titles
    key = " ".join(lines)
    assert "1 Tourists" in key and "9 <eos>" in key
    rows = grid_rows(lines, TGT)
    assert len({len(line) for line in rows}) == 1
    assert sum(line.count(MARK) for line in rows) == 4 * len(TGT)


def test_small_multiples_too_wide_are_stacked_in_full() -> None:
    src = [f"w{i}" for i in range(40)]
    panels = [Heatmap(weights(3, 40, seed=h), ["a", "b", "c"], src, f"head {h + 1}")
              for h in range(2)]
    text = HeatmapGrid(panels).plain(60)
    assert "stacked" in text
    assert text.count("head 1") == 1 and text.count("head 2") == 1
    assert all(len(line) <= 60 for line in text.splitlines())


def test_long_row_labels_are_cut_and_said_so() -> None:
    rows = ["a" * 30, "b"]
    text = Heatmap(np.eye(2), rows, ["x", "y"]).plain(80)
    assert "row labels abbreviated" in text and "a" * 30 not in text
    assert "a" * 13 + "…" in text


def test_sixteen_colour_terminal_gets_shades_not_a_collapsed_ramp() -> None:
    console = Console(record=True, width=80, force_terminal=True, color_system="standard",
                      file=io.StringIO())
    console.print(Heatmap(np.eye(3), list("abc"), list("xyz")))
    assert SHADES[-1] in console.export_text()
