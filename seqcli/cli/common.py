"""Options shared by several commands, declared once; the panel names that group options in --help.

Help texts stay short (one line at 80 columns) and take every default they state from
its one source: `TrainConfig` (seqcli/runs/defaults.py), the model catalog and the
campaign `Plan`, never a number typed here.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seqcli.runs.defaults import TrainConfig

# --help panels: options grouped by what they change (the unpanelled ones come first).
MODEL, DATA, BUDGET, OPTIMISATION, CHECKPOINTS = "Model", "Data", "Budget", "Optimisation", "Checkpoints and processes"
DECODING, VIEW, TRAINING, RUN = "Decoding", "View", "Training", "Scoring a run (--model)"

Flag = ""  # metavar of an on/off option: nothing to type after it

CORPUS_HELP = f"aurora, a TSV file, a Moses dir or a `data get` name (default {TrainConfig.corpus})."

Corpus = Annotated[str, typer.Option("--corpus", "-c", metavar="CORPUS", show_default=False, help=CORPUS_HELP, rich_help_panel=DATA)]
Src = Annotated[str | None, typer.Option("--src", metavar="LANG", help="Source language (Moses directories).", rich_help_panel=DATA)]
Tgt = Annotated[str | None, typer.Option("--tgt", metavar="LANG", help="Target language (Moses directories).", rich_help_panel=DATA)]
TestSet = Annotated[str | None, typer.Option("--test-set", metavar="NAME", help="Moses test set, e.g. test2016.", rich_help_panel=DATA)]


def device_option(panel: str | None = None) -> Any:
    """The --device option, in the given --help panel."""
    return typer.Option("--device", metavar="DEV", show_default=False, rich_help_panel=panel,
                        help="cpu, cuda, mps, auto (default: CUDA>MPS>CPU).")


def precision_option(panel: str | None = None) -> Any:
    """The --precision option, in the given --help panel."""
    return typer.Option("--precision", metavar="PREC", show_default=False, rich_help_panel=panel,
                        help="fp32, bf16, auto (= bf16 if native, wide).")


Device = Annotated[str, device_option()]
Precision = Annotated[str, precision_option()]
ModelRun = Annotated[str | None, typer.Option("--model", "-m", metavar="RUN", help="Run directory (default: the newest in ./runs).")]
Json = Annotated[bool, typer.Option("--json", metavar=Flag, help="Machine-readable JSON on stdout.")]


def yes(value: bool) -> str:
    """An on/off default as --help states it."""
    return "yes" if value else "no"


def either(on: bool, off: bool, on_name: str, off_name: str) -> bool | None:
    """A setting given by a flag or its (hidden) opposite; None when neither: the config decides."""
    if on and off:
        from seqcli.core.errors import SeqcliError

        raise SeqcliError(f"give {on_name} or {off_name}, not both")
    return True if on else False if off else None
