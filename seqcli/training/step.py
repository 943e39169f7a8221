"""One optimisation step, shared by the training loop and the benchmarks.

The schedule (learning rate at a step), the label-smoothed loss with its one-pass
gradient, the optimizer seqcli builds, and `train_step`: forward, loss, backward,
clipping and the update over one or more micro-batches. Nothing here knows which
architecture it trains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F

from seqcli.core.device import autocast
from seqcli.core.tokens import PAD
from seqcli.data.batching import Batch
from seqcli.training import distributed as dist


def learning_rate(step: int, schedule: str, lr: float, warmup: int, d_model: int) -> float:
    """Learning rate at a 1-based step.

    noam: lr * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (Vaswani et al. 2017, 5.3);
    inverse_sqrt: linear warmup to lr, then lr * sqrt(warmup / step);
    warmup_constant: linear warmup to lr, then lr;
    constant: lr from the first step (warmup unused).
    """
    if schedule == "constant":
        return lr
    step = max(step, 1)
    warmup = max(warmup, 1)
    if schedule == "noam":
        rate: float = lr * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)  # int ** float is typed Any
        return rate
    ramp = min(1.0, step / warmup)
    if schedule == "inverse_sqrt":
        return lr * ramp * min(1.0, math.sqrt(warmup / step))
    return lr * ramp


def sequence_loss(logits: torch.Tensor, target: torch.Tensor, smoothing: float) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Label-smoothed cross-entropy summed over real tokens; also the plain NLL and token count.

    logits [B, T, V], target [B, T] with PAD where there is no token.
    """
    # Function.apply returns what forward returns; torch leaves it unannotated.
    apply = cast(Callable[[torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]],
                 _SmoothedCrossEntropy.apply)
    loss, nll = apply(logits.float(), target, smoothing)
    return loss, nll.detach(), int((target != PAD).sum())


class _SmoothedCrossEntropy(torch.autograd.Function):
    """(1 - ε) · NLL + ε · cross-entropy against the uniform distribution, with a hand-written gradient.

    d loss / d logits = softmax - ((1 - ε) · one-hot(target) + ε / V) at real positions, 0
    at padding: one pass over the saved log-probabilities, where autograd's chain
    through gather, mean and log_softmax makes several [B, T, V] passes (with a small
    vocabulary model, the loss took a sixth of a CPU training step; now half that).
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, target: torch.Tensor,
                smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
        logp = F.log_softmax(logits, dim=-1)  # [B, T, V]
        real = target != PAD  # [B, T]
        nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # [B, T]
        smooth = -logp.mean(dim=-1)  # [B, T]
        ctx.save_for_backward(logp, target, real)
        ctx.smoothing = smoothing
        loss = ((1 - smoothing) * nll + smoothing * smooth).masked_fill(~real, 0.0).sum()
        nll_sum = nll.masked_fill(~real, 0.0).sum()
        ctx.mark_non_differentiable(nll_sum)  # reported, never trained on
        return loss, nll_sum

    @staticmethod
    def backward(ctx: Any, grad_loss: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        logp, target, real = ctx.saved_tensors
        eps = ctx.smoothing
        # softmax, written over the saved log-probabilities (used once). Clamped first: the CPU's
        # exp takes a slow path 20-30x slower for arguments below about -87 (results in the
        # denormals), and a trained model puts most of its vocabulary there; e^-80 < 2e-35
        # is nothing to the gradient (bench/README.md, "Training profile").
        grad = logp.clamp_(min=-80.0).exp_()
        grad.sub_(eps / grad.size(-1))
        grad.scatter_add_(-1, target.unsqueeze(-1), grad.new_full((*target.shape, 1), eps - 1.0))
        grad.mul_((grad_loss * real).unsqueeze(-1))  # [B, T, 1]: 0 at padding
        return grad, None, None


def make_optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    """AdamW with β2 = 0.98, ε = 1e-9 (Vaswani et al. 2017, 5.3); the learning rate is set per step.

    Fused (one kernel per tensor) where PyTorch has it: on a CPU the per-operation
    loop took about a quarter of a Transformer training step (bench/README.md).
    """
    options: dict[str, Any] = {"lr": 1.0, "betas": (0.9, 0.98), "eps": 1e-9, "weight_decay": 0.0}
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **options)
    except (RuntimeError, ValueError):  # a device without the fused kernel
        return torch.optim.AdamW(model.parameters(), **options)


@dataclass
class StepStats:
    """What one optimizer step saw, summed over its batches and over every process."""

    loss: float  # mean NLL per real target token
    tokens: int  # real source + target tokens
    tgt_tokens: int  # real target tokens (what the loss averages over)


def train_step(forward: Callable[..., torch.Tensor], model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               micro: Sequence[Batch], *, smoothing: float, clip: float, ctx: dist.Context | None = None,
               ddp: Any = None, precision: str = "fp32") -> StepStats:
    """One optimizer step over this process's batches (several = gradient accumulation).

    The summed loss is divided by the real target tokens of the whole step, counted
    over every batch and every process, so k batches on each of N processes give the
    gradient one process holding all N·k batches would (DDP averages over processes,
    hence the factor N). ddp: the DistributedDataParallel module, whose gradient
    all-reduce waits for the last batch. precision "bf16": the forward runs under bf16
    autocast (the loss and the weights stay fp32). Raises FloatingPointError on a
    non-finite loss.
    """
    ctx = ctx or dist.Context()
    device = next(model.parameters()).device
    n_tgt, n_src = dist.all_sum([sum(b.n_tgt_tokens for b in micro), sum(b.n_src_tokens for b in micro)], ctx)
    per_process = max(n_tgt, 1) / ctx.world
    optimizer.zero_grad(set_to_none=True)
    nll_sum = 0.0
    for i, batch in enumerate(micro):
        batch = batch.to(device)
        with nullcontext() if ddp is None or i == len(micro) - 1 else ddp.no_sync():
            with autocast(device, precision):
                logits = forward(batch.src, batch.src_mask, batch.tgt_in)
            loss, nll, _ = sequence_loss(logits, batch.tgt_out, smoothing)
            if not torch.isfinite(loss):
                raise FloatingPointError(loss.item())
            (loss / per_process).backward()  # type: ignore[no-untyped-call]  # torch: Tensor.backward is unannotated
        nll_sum += nll.item()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    (nll_total,) = dist.all_sum([nll_sum], ctx)
    return StepStats(nll_total / max(n_tgt, 1), int(n_tgt + n_src), int(n_tgt))
