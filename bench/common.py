"""What every benchmark shares: the machine header, side-by-side timing, data, tables.

Benchmarks compare seqcli with a reference *in the same process, interleaved*: each
repeat times every contender once, in turn, so a load spike on a shared machine
hits all of them alike. Reported figures are medians over repeats after warm-up,
and ratios are medians of the per-repeat ratios.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
CACHE = Path(os.environ.get("SEQCLI_BENCH_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seqcli-bench")
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


def set_threads(n: int) -> int:
    """Pin torch's intra-op threads (the targets are stated for 2) and return the count."""
    torch.set_num_threads(n)
    return torch.get_num_threads()


def header(title: str) -> dict[str, Any]:
    """Print (and return) the machine, versions, thread count and load average."""
    import tokenizers

    from seqcli.core.device import cpu_name, native_bf16

    info = {
        "bench": title, "cpu": cpu_name(), "cpu_bf16": native_bf16(torch.device("cpu")),
        "cores": os.cpu_count(), "threads": torch.get_num_threads(),
        "load_avg": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
        "torch": torch.__version__, "tokenizers": tokenizers.__version__,
        "device": "cuda: " + torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }
    print(f"# {title}")
    print(f"machine: {info['cpu']} ({info['cores']} cores, native bf16: {'yes' if info['cpu_bf16'] else 'no'}), "
          f"device {info['device']}, "
          f"torch threads {info['threads']}, load average {info['load_avg']}")
    print(f"versions: python {info['python']}, torch {info['torch']}, tokenizers {info['tokenizers']}")
    return info


def interleaved(contenders: dict[str, Callable[[], float]], repeats: int,
                warmup: int = 1) -> dict[str, list[float]]:
    """Call each contender once per repeat, in turn; each returns its own rate (bigger = better)."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(repeats):
        names = list(contenders) if r % 2 == 0 else list(reversed(contenders))  # no fixed order bias
        for name in names:
            rates[name].append(contenders[name]())
    return rates


def median(values: list[float]) -> float:
    return statistics.median(values)


def ratio(rates: dict[str, list[float]], a: str, b: str) -> float:
    """Median over repeats of rate(a) / rate(b): how many times faster a is than b."""
    return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of fn takes."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def table(rows: list[list[str]], head: list[str]) -> None:
    """Print a Markdown table (pastes straight into bench/README.md)."""
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def tokenizers_for(name: str, pairs: list[tuple[str, str]], vocab: int) -> tuple[Any, Any]:
    """Tokenizers trained on pairs, cached under CACHE/name (training them takes a while)."""
    from seqcli.data.tokenizers import Tokenizer, train_tokenizers

    where = CACHE / f"{name}-{vocab}"
    if (where / "src.json").exists():
        return Tokenizer.load(where / "src.json"), Tokenizer.load(where / "tgt.json")
    src, tgt = train_tokenizers(pairs, "bpe", vocab)
    where.mkdir(parents=True, exist_ok=True)
    src.save(where / "src.json")
    tgt.save(where / "tgt.json")
    return src, tgt


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matmul FLOP/s on this machine with the current threads (best of repeats).

    The best, not the median: on a shared machine the peak is what the cores give
    when nobody else is using them. Benchmarks take it several times and keep the
    highest, so a busy moment does not inflate utilisation.
    """
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best
