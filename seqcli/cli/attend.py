"""`seqcli attend`: a sentence's attention as a heatmap, or attention explained step by step."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from seqcli.cli.common import VIEW, Device, Flag, Json, ModelRun, Precision


def attend(
    sentence: Annotated[str | None, typer.Argument(metavar="SENTENCE", show_default=False, help="Source sentence (default: a line on stdin).")] = None,
    model: ModelRun = None,
    map_kind: Annotated[str, typer.Option("--map", metavar="KIND", rich_help_panel=VIEW, help="cross | encoder-self | decoder-self.")] = "cross",
    layer: Annotated[int | None, typer.Option("--layer", metavar="N", rich_help_panel=VIEW, help="Layer, from 1 (default: the last).")] = None,
    head: Annotated[int | None, typer.Option("--head", metavar="N", rich_help_panel=VIEW, help="One head, from 1 (default: their mean).")] = None,
    heads: Annotated[str | None, typer.Option("--heads", metavar="all|N", rich_help_panel=VIEW, help="all: each head; N: heads for --explain.")] = None,
    hide_special: Annotated[bool, typer.Option("--hide-special", metavar=Flag, rich_help_panel=VIEW, help="Drop <bos>/<eos>; renormalise the rows.")] = False,
    values: Annotated[bool, typer.Option("--values", metavar=Flag, rich_help_panel=VIEW, help="Print the weights in the cells.")] = False,
    beam: Annotated[int, typer.Option(min=1, metavar="N", help="Beam size of the translation.")] = 1,
    json_out: Json = False,
    png: Annotated[Path | None, typer.Option("--png", metavar="FILE", help="Also draw it into a PNG (plot extra).")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", metavar="FILE", help="Also draw it into an SVG (plot extra).")] = None,
    explain: Annotated[str | None, typer.Option("--explain", metavar="KIND", help="simplified | self | causal | multihead.")] = None,
    device: Device = "auto",
    precision: Precision = "auto",
) -> None:
    """Show where a model looked while translating a sentence.

    One heatmap row per output token. --explain KIND instead computes that kind
    of attention step by step on the sentence's embeddings (the --model run's
    table, else a fresh seeded one).

    Examples:
      seqcli attend "Tourists visit Finland to watch Northern lights."
      seqcli attend --map encoder-self --heads all "The cat is on the mat."
      seqcli attend --explain self "Tourists visit Finland"
    """
    text = _sentence(sentence)
    if explain is not None:
        if png or svg:
            from seqcli.core.errors import SeqcliError

            raise SeqcliError("--png/--svg draw a model's attention maps, not --explain")
        _explain(explain, text, model, heads, values, json_out)
        return
    from seqcli.core.device import resolve_device
    from seqcli.inference.attend import compute, save_image, select, to_json
    from seqcli.runs.directory import load_run
    from seqcli.views.render import note

    all_heads = _all_heads(heads)
    run = load_run(model, device=resolve_device(device), precision=precision)
    if model is None:
        note(f"using {run.path}")
    att = compute(run, text, beam=beam)
    view = select(att, map_kind, layer, head, all_heads, hide_special)
    for path, fmt in ((png, "png"), (svg, "svg")):
        if path is not None:
            note(f"wrote {save_image(view, path, fmt)}")
    if json_out:
        _print_json(to_json(att, view))
        return
    _print_view(att.sentence, att.translation, view, values)


def _sentence(sentence: str | None) -> str:
    """The sentence argument, else the first line on stdin; never empty."""
    from seqcli.core.errors import SeqcliError
    from seqcli.core.textio import clean_line

    if sentence is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise SeqcliError("give a sentence to attend to, or pipe one line on stdin")
        sentence = sys.stdin.buffer.readline().decode("utf-8", errors="replace")
    text = clean_line(sentence)
    if not text:
        raise SeqcliError("empty sentence: give one as an argument or as a line on stdin")
    return text


def _all_heads(heads: str | None) -> bool:
    from seqcli.core.errors import SeqcliError

    if heads is None or heads == "mean":
        return False
    if heads == "all":
        return True
    raise SeqcliError(f"--heads takes 'all' (or 'mean'), got {heads!r}; for one head use --head N")


def _print_view(sentence: str, translation: str, view: Any, values: bool) -> None:
    from rich.text import Text

    from seqcli.views.heatmap import Heatmap, HeatmapGrid
    from seqcli.views.render import stdout_console

    console = stdout_console()
    console.print(Text(f"{sentence}\n→ {translation}"))
    if len(view.panels) == 1:
        label, w = view.panels[0]
        title = f"{view.title} ({label})" if label and label not in view.title else view.title
        heatmap = Heatmap(w, view.rows, view.cols, title, show_values=values, notes=view.notes)
        console.print(heatmap, soft_wrap=False)  # notes wrap to the width even in a pipe
    else:
        maps = [Heatmap(w, view.rows, view.cols, label, show_values=values) for label, w in view.panels]
        console.print(HeatmapGrid(maps, view.title, view.notes), soft_wrap=False)


def _explain(kind: str, text: str, model: str | None, heads: str | None, values: bool, json_out: bool) -> None:
    from seqcli.core.errors import SeqcliError
    from seqcli.views.explain import (
        FRESH_DIM,
        explain,
        fresh_embeddings,
        render,
        to_json,
        words,
    )

    if heads is not None and not heads.isdigit():
        raise SeqcliError(f"--heads with --explain takes a number of heads, got {heads!r}")
    if model is None:  # no run named: a fresh embedding, so --explain works before any training
        tokens = words(text)
        x = fresh_embeddings(tokens)
        origin = f"a fresh random embedding, {FRESH_DIM} dimensions, seed 0"
    else:
        from seqcli.runs.directory import load_run

        run = load_run(model)
        ids = run.src_tok.encode(text)
        tokens = [run.src_tok.id_to_token(i) for i in ids]
        x = run.model.source_embedding().weight[ids]
        origin = f"the source embedding table of {run.path}"
    ex = explain(kind, tokens, x, origin=origin, heads=int(heads or 2))
    if json_out:
        _print_json(to_json(ex))
        return
    from seqcli.views.render import stdout_console

    # Prose: wrapped to the width even in a pipe, so `| less` reads like the terminal.
    stdout_console().print(render(ex, show_values=True if values else None), soft_wrap=False)


def _print_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
