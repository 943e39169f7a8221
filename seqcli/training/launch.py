"""`seqcli train --nproc N`: relaunch the same command under torchrun."""

from __future__ import annotations

import subprocess
import sys


def launch(nproc: int, argv: list[str]) -> int:
    """Run `torchrun --nproc_per_node N -m seqcli <argv without --nproc>`; return its exit code."""
    args: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--nproc":
            skip = True
            continue
        if arg.startswith("--nproc="):
            continue
        args.append(arg)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           "-m", "seqcli", *args]
    return subprocess.call(cmd)
