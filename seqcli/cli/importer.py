"""`seqcli import`: a pretrained MarianMT (OPUS-MT) checkpoint as a seqcli run.

The module is not named `import` (a Python keyword); app.py registers the command
under that name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqcli.cli.common import DATA, Flag, Src, Tgt
from seqcli.runs.defaults import TrainConfig


def import_(
    source: Annotated[str, typer.Argument(metavar="DIR_OR_NAME", show_default=False, help="A save_pretrained directory, or a hub name such as Helsinki-NLP/opus-mt-en-fi.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="RUN", help="Run directory to create (default: runs/<name>).")] = None,
    corpus: Annotated[str, typer.Option("--corpus", "-c", metavar="CORPUS", show_default=False, rich_help_panel=DATA, help=f"The corpus bleu, compare and train --resume use (default {TrainConfig.corpus}).")] = TrainConfig.corpus,
    src: Src = None,
    tgt: Tgt = None,
    revision: Annotated[str | None, typer.Option("--revision", metavar="REV", help="Hub revision: a branch, tag, commit or refs/pr/N.")] = None,
    force: Annotated[bool, typer.Option("--force", metavar=Flag, help="Replace a directory already at --out.")] = False,
) -> None:
    """Import a MarianMT checkpoint (an OPUS-MT model) as a run seqcli can use.

    translate, attend (every layer and head), bleu and compare then work on
    it, and `train --resume` fine-tunes it on --corpus. Weights are read from
    safetensors only: a pickle (pytorch_model.bin) is refused. A hub name
    needs the network.

    Examples:
      seqcli import Helsinki-NLP/opus-mt-en-fi --out runs/opus-en-fi
      seqcli import ./opus-mt-en-fi --out runs/opus-en-fi
      seqcli attend -m runs/opus-en-fi --heads all "The cat is on the mat."
    """
    from seqcli.training.importing import import_marian
    from seqcli.views.render import note

    done = import_marian(source, out, corpus=corpus, src=src, tgt=tgt, revision=revision, force=force)
    note(f"imported {done.source} ({done.description}, {done.parameters:,} parameters, "
         f"{done.vocab_size:,} tokens) → {done.run_dir}")
    beams = done.generation.get("num_beams")
    hint = f" --beam {beams}" if isinstance(beams, int) and beams > 1 else ""
    note(f"try: echo \"Tourists visit Finland.\" | seqcli translate -m {done.run_dir}{hint}")
