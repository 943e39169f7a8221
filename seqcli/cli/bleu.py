"""`seqcli bleu`: sacreBLEU scores of files, or of a run on a corpus split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli.common import Device


def bleu(
    files: Annotated[list[Path] | None, typer.Argument(help="HYP REF [REF...] (detokenized text, one sentence per line).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Translate a corpus split with this run and score it.")] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", "-c", help="With --model: the corpus (default: the run's own).")] = None,
    split: Annotated[str, typer.Option(help="With --model: test | valid | a test-set name.")] = "test",
    src_lang: Annotated[str | None, typer.Option("--src-lang", help="With --model --corpus: source language (Moses directories).")] = None,
    tgt_lang: Annotated[str | None, typer.Option("--tgt-lang", help="With --model --corpus: target language.")] = None,
    beam: Annotated[int, typer.Option(min=1, help="With --model: beam size.")] = 1,
    ter: Annotated[bool, typer.Option("--ter", help="Also report TER.")] = False,
    by_length: Annotated[bool, typer.Option("--by-length", help="BLEU per source-length bucket (needs --src SRC, or --model).")] = False,
    src_file: Annotated[Path | None, typer.Option("--src", "--src-file", help="Source sentences file, for --by-length.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
    device: Device = "auto",
) -> None:
    """Score translations with sacreBLEU (BLEU, chrF, optionally TER), on detokenized text."""
    from seqcli.core.errors import SeqcliError
    from seqcli.inference.evaluate import evaluate_files, evaluate_run
    from seqcli.views.render import note

    if model is not None:
        if files:
            raise SeqcliError("give either HYP REF files or --model, not both")
        report = evaluate_run(model, corpus, split, src_lang, tgt_lang, beam, ter, device, on_note=note)
    else:
        if not files or len(files) < 2:
            raise SeqcliError("usage: seqcli bleu HYP REF [REF...]  (or seqcli bleu --model RUN)")
        if by_length and src_file is None:
            raise SeqcliError("--by-length needs --src SRC (the file of source sentences)")
        report = evaluate_files(files[0], files[1:], ter, src_file if by_length else None, on_note=note)
    if json_out:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    from seqcli.views.render import stdout_console

    console = stdout_console()
    for score in report["scores"]:
        console.print(f"{score['name']} = {score['score']:.2f}  {score['detail']}".rstrip(), markup=False)
        console.print(f"  {score['signature']}", markup=False)
    if report.get("by_length"):
        console.print("BLEU by source length (words):", markup=False)
        for bucket, (value, n) in report["by_length"].items():
            console.print(f"  {bucket:>7}  {value:6.2f}  ({n} sentences)", markup=False)
