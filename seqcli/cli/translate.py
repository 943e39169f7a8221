"""`seqcli translate`: sentences in (stdin, arguments or a file), one translation per line out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqcli.cli.common import DECODING, Device, Flag, ModelRun, Precision

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from seqcli.inference.decode import Translation
    from seqcli.runs.directory import Run


def translate(
    sentences: Annotated[list[str] | None, typer.Argument(metavar="SENTENCE", show_default=False, help="Sentences (default: lines on stdin).")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", "-i", metavar="FILE", help="Read the lines of this file.")] = None,
    model: ModelRun = None,
    beam: Annotated[int, typer.Option(min=1, metavar="N", rich_help_panel=DECODING, help="Beam size; 1 = greedy.")] = 1,
    alpha: Annotated[float, typer.Option(min=0.0, metavar="A", rich_help_panel=DECODING, help="GNMT length penalty of beam search.")] = 0.6,
    n_best: Annotated[int, typer.Option("--n-best", min=1, metavar="N", rich_help_panel=DECODING, help="Print the N best and their scores.")] = 1,
    max_len: Annotated[int | None, typer.Option("--max-len", min=1, metavar="N", rich_help_panel=DECODING, help="Longest output (default: 2 × source + 10).")] = None,
    min_len: Annotated[int, typer.Option("--min-len", min=0, metavar="N", rich_help_panel=DECODING, help="No <eos> before N output tokens.")] = 0,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, metavar="N", rich_help_panel=DECODING, help="Sentences per batch (default: by tokens).")] = None,
    json_out: Annotated[bool, typer.Option("--json", metavar=Flag, help="A JSON object per line: tokens, score, attention.")] = False,
    device: Device = "auto",
    precision: Precision = "auto",
) -> None:
    """Translate sentences with a trained run, one line out per line in.

    Reads the arguments, else --input, else stdin; tab-separated text and score
    pairs with --n-best.

    Examples:
      echo "The cat is on the mat." | seqcli translate
      seqcli translate --beam 5 --input sentences.en > sentences.fi
      seqcli translate --beam 5 --batch-size 64 -i sentences.en > out.fi
    """
    from seqcli.core.device import resolve_device
    from seqcli.core.errors import SeqcliError
    from seqcli.core.textio import iter_lines, split_lines
    from seqcli.runs.directory import load_run
    from seqcli.views.render import note

    if n_best > beam:
        raise SeqcliError(f"--n-best {n_best} needs --beam of at least {n_best}")
    run = load_run(model, device=resolve_device(device), precision=precision)
    if model is None:
        note(f"using {run.path}")
    options = dict(beam=beam, alpha=alpha, n_best=n_best, max_len=max_len, min_len=min_len, batch_size=batch_size)
    if sentences:
        _emit(run, sentences, options, json_out)
    elif input_file is not None:
        try:
            data = input_file.read_bytes()
        except OSError as e:
            raise SeqcliError(f"cannot read --input {input_file}: {e.strerror}") from None
        _emit(run, split_lines(data), options, json_out, progress=True)
    elif sys.stdin.isatty():
        for line in iter_lines(sys.stdin.buffer):  # answer each line as it is typed
            _emit(run, [line], options, json_out)
    else:
        _emit(run, split_lines(sys.stdin.buffer.read()), options, json_out, progress=True)


def _emit(run: Run, lines: list[str], options: dict[str, Any], json_out: bool, progress: bool = False) -> None:
    from seqcli.core.textio import clean_line, one_line
    from seqcli.inference.decode import translate as decode_lines
    from seqcli.views.render import note

    cleaned = [clean_line(line) for line in lines]
    bar = _progress(len(cleaned)) if progress and len(cleaned) > 50 and sys.stderr.isatty() else None
    try:
        results = decode_lines(run, cleaned, on_warning=note,
                               on_batch=(lambda n: bar[0].advance(bar[1], n)) if bar else None, **options)
    finally:
        if bar:
            bar[0].stop()
    out = sys.stdout
    try:
        for source, result in zip(cleaned, results, strict=True):
            if json_out:
                out.write(json.dumps(_as_json(run, source, result), ensure_ascii=False) + "\n")
            elif result.nbest:
                out.write("\t".join(f"{one_line(text)}\t{score:.4f}" for text, score in result.nbest) + "\n")
            else:
                out.write(one_line(result.text) + "\n")
        out.flush()
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly, not click's silent exit 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # Python's flush at exit must not fail again
        raise typer.Exit(0) from None


def _progress(total: int) -> tuple[Progress, TaskID]:
    from rich.progress import Progress

    from seqcli.views.render import stderr_console

    p: Progress = Progress(console=stderr_console(), transient=True)
    p.start()
    return p, p.add_task("translating", total=total)


def _as_json(run: Run, source: str, r: Translation) -> dict[str, Any]:
    """Tokens, score and head-averaged cross-attention per layer for one sentence."""
    from seqcli.inference.decode import attention_maps

    record: dict[str, Any] = {
        "source": source, "translation": r.text, "score": round(r.score, 4),
        "src_tokens": [run.src_tok.id_to_token(i) for i in r.src_ids] + ["<eos>"],
        "tokens": [run.tgt_tok.id_to_token(i) for i in r.ids] + ["<eos>"], "attention": {}}
    if r.nbest:
        record["nbest"] = [{"translation": t, "score": round(s, 4)} for t, s in r.nbest]
    if r.src_ids and run.model.has_attention:
        _, maps = attention_maps(run.model, r.src_ids, r.ids)
        record["attention"] = {name: [[round(x, 4) for x in row] for row in m[0].float().mean(0).tolist()]
                               for name, m in maps.items() if name.startswith("cross")}
    return record
