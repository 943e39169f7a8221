"""Options shared by several commands, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

Corpus = Annotated[str, typer.Option("--corpus", "-c", help="aurora (embedded), a TSV file, a Moses-style directory, or a name fetched with `seqcli data get`.")]
Src = Annotated[str | None, typer.Option("--src", help="Source language code (Moses directories).")]
Tgt = Annotated[str | None, typer.Option("--tgt", help="Target language code (Moses directories).")]
TestSet = Annotated[str | None, typer.Option("--test-set", help="Which test set of a Moses directory (e.g. test2016).")]
Device = Annotated[str, typer.Option("--device", help="auto | cpu | cuda | mps (auto picks CUDA, then MPS, then CPU).")]
ModelRun = Annotated[str | None, typer.Option("--model", "-m", help="Run directory (default: the most recent under ./runs).")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
