"""Training state in one pickle-free safetensors file: weights, optimizer, RNG, position.

Everything a resume needs sits in one file written atomically, so weights and
optimizer can never come from different steps. Tensors go in the tensor section;
numbers and lists (step, data position, Adam hyperparameters) in the JSON metadata.
Loading never unpickles anything (issue: untrusted run directories).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors, write_tensors
from seqcli.runs.directory import load_weights


def save_train_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     meta: dict[str, Any]) -> None:
    """Write weights + optimizer state + RNG state + meta atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    for idx, slots in opt["state"].items():
        for name, value in slots.items():
            tensors[f"optim.{idx}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    write_tensors(path, tensors, {**meta, "param_groups": opt["param_groups"]})


def load_train_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None) -> dict[str, Any]:
    """Restore what save_train_state wrote; returns the meta. optimizer=None skips it."""

    tensors, meta = read_tensors(path)
    load_weights(model, path)
    if optimizer is not None:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value
        groups = meta.get("param_groups")
        if not isinstance(groups, list):
            raise SeqcliError(f"{path}: optimizer settings missing; resume with --reset-optimizer")
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError) as e:
            raise SeqcliError(f"{path}: optimizer state does not fit the model ({e}); "
                              "resume with --reset-optimizer") from None
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return meta
