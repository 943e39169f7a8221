"""Training throughput: seqcli against plain PyTorch of the same size, on identical batches.

    python bench/train_speed.py [--arch transformer --arch bahdanau] [--size small]
                                [--batch-tokens 4096] [--steps 3] [--repeats 5] [--threads 2]

For each architecture, three contenders train on the very same batches (aurora,
length-bucketed by seqcli): seqcli's real training step (`seqcli.training.step.train_step`:
forward, label-smoothed loss, backward, clipping, its AdamW), and a minimal
plain-PyTorch model of the same size trained the way a short script would, once
with `torch.optim.AdamW()` as it comes and once with the fused AdamW seqcli uses,
which isolates the model and loop from the optimizer. Printed: tokens/s (real
source + target tokens; medians), the ratios, and model FLOPs utilisation (FLOPs
counted by torch's FlopCounterMode, against a matmul peak measured here).
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from common import (
    header,
    interleaved,
    matmul_peak,
    median,
    ratio,
    set_threads,
    table,
    tokenizers_for,
)
from reference import ReferenceBahdanau, ReferenceTransformer
from torch.utils.flop_counter import FlopCounterMode

from seqcli.data.batching import Batch, Encoded, encode_pairs, make_batches, padding_fraction
from seqcli.data.corpus import load_corpus
from seqcli.models.registry import get_arch
from seqcli.runs.config import make_model_config
from seqcli.runs.directory import build_model
from seqcli.training.step import make_optimizer, train_step

REFERENCES = {"transformer": ReferenceTransformer, "bahdanau": ReferenceBahdanau}


def reference_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch) -> int:
    """What a plain PyTorch script does per batch: loss, backward, clip, step."""
    logits = model(batch.src, batch.src_mask, batch.tgt_in)  # [B, T, V]
    loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0,
                           label_smoothing=0.1, reduction="sum")
    n = batch.n_tgt_tokens
    optimizer.zero_grad(set_to_none=True)
    (loss / n).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return n + batch.n_src_tokens


def rate(step: Callable[[Batch], int], batches: list[Batch]) -> float:
    """Tokens per second over one pass of step over batches."""
    t0 = time.perf_counter()
    tokens = sum(step(b) for b in batches)
    return tokens / (time.perf_counter() - t0)


def flops_per_token(step: Callable[[Batch], int], batch: Batch) -> float:
    """Forward + backward FLOPs of one training step, per real token (optimizer not counted)."""
    with FlopCounterMode(display=False) as counter:
        tokens = step(batch)
    return counter.get_total_flops() / tokens


def unbucketed_padding(data: Encoded, batch_tokens: int, seed: int = 1) -> float:
    """Padding share if the same token budget were filled in random order (no length sorting)."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    lengths = data.lengths()
    real = total = longest = 0
    batch: list[int] = []

    def close() -> None:
        nonlocal real, total
        real += sum(lengths[j][0] + lengths[j][1] for j in batch)
        total += len(batch) * (max(lengths[j][0] for j in batch) + max(lengths[j][1] for j in batch))

    for i in order:  # seqcli's cutting rule, on unsorted pairs
        longest_with = max(longest, *lengths[i])
        if batch and (len(batch) + 1) * longest_with > batch_tokens:
            close()
            batch, longest_with = [], max(lengths[i])
        batch.append(i)
        longest = longest_with
    close()
    return 1 - real / total


def bench_arch(arch_name: str, args: argparse.Namespace, batches: list[Batch],
               vocab: tuple[int, int]) -> list[tuple[str, str, float, float, float]]:
    """(arch, contender, tokens/s, seqcli's speed ÷ its, model FLOP/s) per contender."""
    torch.manual_seed(0)
    config = make_model_config(arch_name, args.size, *vocab)
    model = build_model(get_arch(arch_name), config)
    optimizer = make_optimizer(model)
    for group in optimizer.param_groups:
        group["lr"] = 1e-4
    ref = REFERENCES[arch_name].like(config)
    ref_plain = torch.optim.AdamW(ref.parameters(), lr=1e-4)
    ref2 = REFERENCES[arch_name].like(config)
    ref_fused = torch.optim.AdamW(ref2.parameters(), lr=1e-4, fused=True)
    print(f"\n## {arch_name} ({args.size}): seqcli {model.num_parameters():,} parameters, "
          f"reference {sum(p.numel() for p in ref.parameters()):,}")

    def seqcli_step(b: Batch) -> int:
        return train_step(model, model, optimizer, [b], smoothing=0.1, clip=1.0).tokens

    steps = {"seqcli": seqcli_step,
             "reference": lambda b: reference_step(ref, ref_plain, b),
             "reference+fused": lambda b: reference_step(ref2, ref_fused, b)}
    # Call k of every contender trains on the same group of batches (each walks its own copy).
    groups = [batches[i * args.steps:(i + 1) * args.steps] for i in range(len(batches) // args.steps)]
    walks = {name: itertools.cycle(groups) for name in steps}
    rates = interleaved({name: (lambda name=name, s=s: rate(s, next(walks[name])))
                         for name, s in steps.items()}, repeats=args.repeats)
    flops = {name: flops_per_token(s, batches[0]) for name, s in steps.items()}
    return [(arch_name, name, median(rates[name]), ratio(rates, "seqcli", name), flops[name] * median(rates[name]))
            for name in steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", action="append", choices=sorted(REFERENCES))
    parser.add_argument("--size", default="small")
    parser.add_argument("--batch-tokens", type=int, default=4096)
    parser.add_argument("--pairs", type=int, default=40000, help="aurora training pairs to batch")
    parser.add_argument("--steps", type=int, default=3, help="training steps per contender per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    header("train_speed: training tokens/s, seqcli vs plain PyTorch")
    corpus = load_corpus("aurora")
    src_tok, tgt_tok = tokenizers_for("aurora", corpus.train, 8000)
    data = encode_pairs(corpus.train[: args.pairs], src_tok, tgt_tok, max_tokens=199)
    batches = make_batches(data, args.batch_tokens, shuffle=True, seed=1)
    print(f"data: {len(data):,} aurora pairs in {len(batches)} batches of ≤ {args.batch_tokens} tokens; padding "
          f"{100 * padding_fraction(batches):.1f}% bucketed (vs {100 * unbucketed_padding(data, args.batch_tokens):.1f}% "
          "in random order)")
    peaks, results = [matmul_peak()], []
    for arch_name in args.arch or ["transformer", "bahdanau"]:
        results += bench_arch(arch_name, args, batches, (src_tok.vocab_size, tgt_tok.vocab_size))
        peaks.append(matmul_peak())
    peak = max(peaks)
    print(f"\nmeasured float32 matmul peak: {peak / 1e9:.1f} GFLOP/s (best of {len(peaks)} measurements)\n")
    table([[arch, name, f"{tok_s:,.0f}", f"{speedup:.2f}×", f"{100 * flop_s / peak:.1f}%"]
           for arch, name, tok_s, speedup, flop_s in results],
          ["arch", "contender", "tokens/s (median)", "seqcli ÷ it", "MFU"])


if __name__ == "__main__":
    main()
