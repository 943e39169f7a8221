"""Device and precision: --device auto picks CUDA, then MPS, then CPU; --precision auto
picks bf16 where the hardware computes it natively, fp32 elsewhere.

bf16 here is autocast: weights, optimizer state and checkpoints stay fp32; matrix
products run in bf16 and reductions (softmax, layer norm, the loss) in fp32. On a
CPU it pays only where the CPU has bf16 instructions (AVX512_BF16 or AMX: AMD Zen 4
and later, Intel Cooper Lake / Sapphire Rapids and later): on the 2-core EPYC of
bench/README.md a bf16 matrix product runs about 4x faster than fp32. Elsewhere
oneDNN emulates bf16 and is several times *slower* than fp32, so auto keeps fp32.
"""

from __future__ import annotations

import torch

from seqcli.core.errors import SeqcliError, unknown

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic


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


def _cpuinfo(key: str) -> str | None:
    """The first `key : value` of /proc/cpuinfo (None off Linux or when absent)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere)."""
    return set((_cpuinfo("flags") or "").split())


def cpu_name() -> str:
    """The CPU model as Linux names it, else what the platform module says."""
    import platform

    return _cpuinfo("model name") or platform.processor() or platform.machine()


def native_bf16(device: torch.device) -> bool:
    """Whether the device computes bf16 natively (not emulated)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        return bool(cpu_flags() & set(_BF16_FLAGS))
    return False


# On a CPU, bf16 autocast pays only where the matrices are wide: it adds a cast per
# matmul and, for every new shape, oneDNN builds a new kernel (fp32 goes to MKL, which
# does not). Measured on an AMD EPYC with avx512_bf16 (bench/README.md, "Precision by
# width"): at d_model 256 bf16 trained 1.55x and decoded 1.25-1.5x as fast as fp32; at the
# small preset's 96 training was level within noise and decoding the aurora test set
# 2.4x slower.
CPU_BF16_MIN_WIDTH = 256


def resolve_precision(name: str, device: torch.device, d_model: int | None = None) -> str:
    """Turn a --precision value into "fp32" or "bf16" for this device and model width.

    auto: bf16 on a GPU that has it; on a CPU with native bf16 only for models at
    least CPU_BF16_MIN_WIDTH wide (d_model; None = unknown, taken as wide enough);
    fp32 elsewhere.
    """
    if name not in PRECISIONS:
        raise unknown("precision", name, PRECISIONS)
    if name == "auto":
        narrow = device.type == "cpu" and d_model is not None and d_model < CPU_BF16_MIN_WIDTH
        return "bf16" if native_bf16(device) and not narrow else "fp32"
    return name


def autocast(device: torch.device, precision: str = "fp32") -> torch.autocast:
    """The context a forward pass runs in: bf16 autocast, or a disabled one for fp32."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
