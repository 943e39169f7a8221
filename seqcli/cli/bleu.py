"""`seqcli bleu`: sacreBLEU scores of files, or of a run on a corpus split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli.common import RUN, Flag, device_option, precision_option


def bleu(
    files: Annotated[list[Path] | None, typer.Argument(metavar="FILE", show_default=False, help="HYP, then one or more REF files.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="RUN", rich_help_panel=RUN, help="Translate a corpus split with RUN; score it.")] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", "-c", metavar="CORPUS", rich_help_panel=RUN, help="Its corpus (default: the run's own).")] = None,
    split: Annotated[str, typer.Option(metavar="NAME", rich_help_panel=RUN, help="test | valid | a test-set name.")] = "test",
    src_lang: Annotated[str | None, typer.Option("--src-lang", metavar="LANG", rich_help_panel=RUN, help="Source language of a Moses --corpus.")] = None,
    tgt_lang: Annotated[str | None, typer.Option("--tgt-lang", metavar="LANG", rich_help_panel=RUN, help="Target language of a Moses --corpus.")] = None,
    beam: Annotated[int, typer.Option(min=1, metavar="N", rich_help_panel=RUN, help="Beam size of the translation.")] = 1,
    device: Annotated[str, device_option(RUN)] = "auto",
    precision: Annotated[str, precision_option(RUN)] = "auto",
    ter: Annotated[bool, typer.Option("--ter", metavar=Flag, help="Also report TER.")] = False,
    by_length: Annotated[bool, typer.Option("--by-length", metavar=Flag, help="BLEU per source length (--sources, or --model).")] = False,
    sources: Annotated[Path | None, typer.Option("--sources", metavar="FILE", help="The source sentences, for --by-length.")] = None,
    old_sources: Annotated[Path | None, typer.Option("--src", "--src-file", hidden=True, help="Deprecated: --sources.")] = None,
    json_out: Annotated[bool, typer.Option("--json", metavar=Flag, help="JSON on stdout.")] = False,
) -> None:
    """Score translations with sacreBLEU: BLEU, chrF and optionally TER.

    Files hold detokenized text, one sentence per line; with --model, seqcli
    translates the run's test split (or --split) and scores that.

    Examples:
      seqcli bleu hyp.fi ref.fi --by-length --sources src.en
      seqcli bleu --model runs/transformer --beam 5
    """
    from seqcli.core.errors import SeqcliError
    from seqcli.inference.evaluate import evaluate_files, evaluate_run
    from seqcli.views.render import note

    if old_sources is not None:  # --src is a language code everywhere else (train, compare, data)
        note("bleu --src FILE is deprecated: use --sources FILE")
        sources = sources or old_sources
    if model is not None:
        if files:
            raise SeqcliError("give either HYP REF files or --model, not both")
        report = evaluate_run(model, corpus, split, src_lang, tgt_lang, beam, ter, device, precision, on_note=note)
    else:
        if not files or len(files) < 2:
            raise SeqcliError("usage: seqcli bleu HYP REF [REF...]  (or seqcli bleu --model RUN)")
        if by_length and sources is None:
            raise SeqcliError("--by-length needs --sources FILE (the source sentences)")
        report = evaluate_files(files[0], files[1:], ter, sources if by_length else None, on_note=note)
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
