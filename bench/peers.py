#!/usr/bin/env python3
"""seqcli's side of ../shared/peers/ after the package moved into layers (issue 13).

The shared runner `run_seqcli.py` drives seqcli through four names of the old flat
package: `seqcli.cli.main`, `seqcli.train.train_step` (wrapped to time every step),
`seqcli.data.load_corpus`, `seqcli.runs.load_run` and `seqcli.decode.translate`. Rather
than copy its 200 lines of protocol (and let the two drift apart), this script points
those names at where they live now and runs the shared runner itself, unchanged, so the
JSON it writes is the same. The step is still wrapped where the loop looks it up
(`seqcli.training.loop.train_step`, a module global).

One round, seqcli beside HF Marian and OpenNMT-py (nothing else running on the machine):

    ../shared/peers/setup.sh base hf onmt
    SEQCLI_PY=$(command -v python) SEQCLI_RUNNER=bench/peers.py PLAN=a ../shared/peers/run_round.sh
    python3 ../shared/peers/summarize.py      # the table, with ratios to seqcli's median

Arguments are the shared runner's (`--arch transformer|bahdanau`, `--corpus`, `--tag`, ...).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import seqcli.cli
import seqcli.data
import seqcli.runs
from seqcli.cli.app import main
from seqcli.data.corpus import load_corpus
from seqcli.inference import decode
from seqcli.runs.directory import load_run
from seqcli.training import loop

PEERS = Path(os.environ.get("PEERS_DIR", Path(__file__).resolve().parents[2] / "shared" / "peers"))


def alias_old_names() -> None:
    """Make the flat names the shared runner imports resolve to the layered modules."""
    seqcli.cli.main = main  # type: ignore[attr-defined]  # the old `seqcli.cli:main`
    seqcli.data.load_corpus = load_corpus  # type: ignore[attr-defined]
    seqcli.runs.load_run = load_run  # type: ignore[attr-defined]
    sys.modules["seqcli.train"] = loop  # `T.train_step = timed` then patches the loop's global
    sys.modules["seqcli.decode"] = decode


if __name__ == "__main__":
    runner = PEERS / "run_seqcli.py"
    if not runner.is_file():
        sys.exit(f"bench/peers.py: {runner} not found (set PEERS_DIR to the shared peers folder)")
    alias_old_names()
    sys.argv[0] = str(runner)
    runpy.run_path(str(runner), run_name="__main__")
