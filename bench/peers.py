#!/usr/bin/env python3
"""seqcli's side of ../shared/peers/, in the layered package, at a chosen precision.

The shared runner `run_seqcli.py` drives seqcli through four names of the old flat
package: `seqcli.cli.main`, `seqcli.train.train_step` (wrapped to time every step),
`seqcli.data.load_corpus`, `seqcli.runs.load_run` and `seqcli.decode.translate`. Rather
than copy its 200 lines of protocol (and let the two drift apart), this script points
those names at where they live now and runs the shared runner itself, unchanged, so the
JSON it writes is the same. The step is still wrapped where the loop looks it up
(`seqcli.training.loop.train_step`, a module global).

Two settings the shared runner has no flag for, read from the environment:

* `SEQCLI_PRECISION` (auto | fp32 | bf16, default auto): passed to `seqcli train
  --precision` and used for decoding; the result's toolkit name says which was used.
* `SEQCLI_BATCH_SENTS=N`: train on batches of N sentences (`--batch-sents N`) in
  place of the runner's token budget — the recurrent protocol's 64-sentence batches,
  which seqcli could not express when the runner was written.

One round, seqcli beside HF Marian and OpenNMT-py (nothing else running): bench/round.sh.
Single run: `SEQCLI_PRECISION=fp32 python bench/peers.py --corpus $PEER_ROOT/corpus --tag _fp32`.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import torch

import seqcli.cli
import seqcli.data
import seqcli.runs
from seqcli.cli.app import main
from seqcli.core.device import cpu_name, native_bf16, resolve_precision
from seqcli.data.corpus import load_corpus
from seqcli.inference import decode
from seqcli.runs.directory import load_run
from seqcli.training import loop

PEERS = Path(os.environ.get("PEERS_DIR", Path(__file__).resolve().parents[2] / "shared" / "peers"))
PRECISION = os.environ.get("SEQCLI_PRECISION", "auto")
BATCH_SENTS = os.environ.get("SEQCLI_BATCH_SENTS")


def train_argv(argv: list[str]) -> list[str]:
    """The runner's `seqcli train` argv with this script's precision and batch settings."""
    argv = [*argv, "--precision", PRECISION]
    if BATCH_SENTS and "--batch-tokens" in argv:
        i = argv.index("--batch-tokens")
        argv[i:i + 2] = ["--batch-sents", BATCH_SENTS]
    return argv


def main_with_settings(argv: list[str] | None = None) -> Any:
    """`seqcli.cli.main` as the runner calls it, the command line printed as it runs."""
    argv = train_argv(list(argv or []))
    print("seqcli " + " ".join(argv), flush=True)
    return main(argv)


def alias_old_names() -> None:
    """Make the flat names the shared runner imports resolve to the layered modules."""
    seqcli.cli.main = main_with_settings  # type: ignore[attr-defined]  # the old `seqcli.cli:main`
    seqcli.data.load_corpus = load_corpus  # type: ignore[attr-defined]
    seqcli.runs.load_run = functools.partial(load_run, precision=PRECISION)  # type: ignore[attr-defined]
    sys.modules["seqcli.train"] = loop  # `T.train_step = timed` then patches the loop's global
    sys.modules["seqcli.decode"] = decode


def label_results() -> None:
    """Name the precision (and CPU) in the toolkit field of the JSON the runner saves."""
    sys.path.insert(0, str(PEERS))
    import peer_util  # type: ignore[import-not-found]  # the shared folder's helper, on sys.path now

    used = resolve_precision(PRECISION, torch.device("cpu"))
    save = peer_util.save

    def labelled(res: dict[str, Any], name: str) -> Any:
        res["toolkit"] = f"seqcli ({used}{', ' + BATCH_SENTS + ' sentences/batch' if BATCH_SENTS else ''})"
        res.update(precision=used, precision_asked=PRECISION, cpu=cpu_name(),
                   cpu_bf16=native_bf16(torch.device("cpu")))
        return save(res, name)

    peer_util.save = labelled


if __name__ == "__main__":
    runner = PEERS / "run_seqcli.py"
    if not runner.is_file():
        sys.exit(f"bench/peers.py: {runner} not found (set PEERS_DIR to the shared peers folder)")
    alias_old_names()
    label_results()
    sys.argv[0] = str(runner)
    runpy.run_path(str(runner), run_name="__main__")
