"""Device choice: --device auto picks CUDA, then MPS, then CPU."""

from __future__ import annotations

import torch

from seqcli.core.errors import SeqcliError, unknown

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a --device value into a torch.device; an absent device is a clear error."""
    base = name.split(":")[0]
    if base not in DEVICES:
        raise unknown("device", name, DEVICES)
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise SeqcliError("--device cuda: no CUDA GPU is available on this machine (try --device auto)")
    if base == "mps" and not torch.backends.mps.is_available():
        raise SeqcliError("--device mps: Apple MPS is not available on this machine (try --device auto)")
    return torch.device(name)


def autocast(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA (DESIGN.md); a disabled context elsewhere."""
    enabled = device.type == "cuda"
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)
