#!/usr/bin/env python3
"""The HF transformers peer of ../shared/peers/ under bf16 autocast: is seqcli's lead only a default?

Runs the shared `run_hf.py` unchanged (MarianMTModel from a config, its plain PyTorch
loop, `generate()`), with the whole run — training and decoding — inside
`torch.autocast("cpu", dtype=torch.bfloat16)`, the one-line change a user of HF would
make. The JSON is saved as `hf_marian_transformer_bf16` with the toolkit named so.
Run it with the hf venv's python (it does not import seqcli):

    $PEER_ROOT/hf/bin/python bench/hf_autocast.py --corpus $PEER_ROOT/corpus
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch

PEERS = Path(os.environ.get("PEERS_DIR", Path(__file__).resolve().parents[2] / "shared" / "peers"))


def main() -> None:
    sys.path.insert(0, str(PEERS))
    import peer_util  # type: ignore[import-not-found]  # the shared folder's helper
    import run_hf  # type: ignore[import-not-found]

    save = peer_util.save

    def labelled(res: dict[str, Any], name: str) -> Any:
        res["toolkit"] = "transformers (MarianMTModel, bf16 autocast)"
        res["precision"] = "bf16 autocast"
        return save(res, name + "_bf16")

    peer_util.save = labelled
    with torch.autocast("cpu", dtype=torch.bfloat16):
        run_hf.main()


if __name__ == "__main__":
    main()
