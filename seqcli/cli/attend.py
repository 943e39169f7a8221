"""`seqcli attend`: a sentence's attention as a heatmap, or attention explained step by step."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from seqcli.cli.common import Device, Json, ModelRun

MAP_HELP = "Which attention: cross | encoder-self | decoder-self (the Transformer has all three)."


def attend(
    sentence: Annotated[str | None, typer.Argument(help="English sentence (default: one line on stdin).")] = None,
    model: ModelRun = None,
    map_kind: Annotated[str, typer.Option("--map", help=MAP_HELP)] = "cross",
    layer: Annotated[int | None, typer.Option("--layer", help="Layer, from 1 (default: the last).")] = None,
    head: Annotated[int | None, typer.Option("--head", help="One head, from 1 (default: the mean of all heads).")] = None,
    heads: Annotated[str | None, typer.Option("--heads", help="'all': every head side by side. With --explain multihead: how many heads.")] = None,
    hide_special: Annotated[bool, typer.Option("--hide-special", help="Drop <bos>/<eos> rows and columns; renormalise rows.")] = False,
    values: Annotated[bool, typer.Option("--values", help="Print the weights as numbers in the cells.")] = False,
    beam: Annotated[int, typer.Option(min=1, help="Beam size for the translation (1 = greedy).")] = 1,
    json_out: Json = False,
    png: Annotated[Path | None, typer.Option("--png", help="Also draw the view into this PNG file (needs the optional 'plot' extra).")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Also draw the view into this SVG file (needs the optional 'plot' extra).")] = None,
    explain: Annotated[str | None, typer.Option("--explain", help="Walk through simplified | self | causal | multihead attention on the sentence's embeddings (--model's table, else a fresh seeded one).")] = None,
    device: Device = "auto",
) -> None:
    """Translate a sentence and show where the model looked: one row per output token."""
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
    run = load_run(model, device=resolve_device(device))
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
