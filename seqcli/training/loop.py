"""The training loop: one loop, top to bottom, for every architecture.

setup (config, run directory, corpus, tokenizers, model) -> steps (forward,
label-smoothed loss, backward, clip, optimizer, schedule) -> validation (loss,
perplexity, greedy BLEU, early stopping) -> checkpoints (atomic) -> test BLEU.
The loop only calls `model(src, src_mask, tgt_in)`; it never asks which model it is.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqcli.core.device import autocast
from seqcli.core.errors import SeqcliError
from seqcli.core.files import write_tensors
from seqcli.data.batching import PlannedBatches, batch_plan, make_batches
from seqcli.inference.evaluate import evaluate
from seqcli.models.base import Seq2Seq
from seqcli.runs.config import TrainConfig
from seqcli.runs.directory import (
    BEST,
    MODEL,
    STATE,
    Run,
    RunLock,
    append_metrics,
    build_model,
    load_weights,
)
from seqcli.training import distributed as dist
from seqcli.training.checkpoint import load_train_state, save_train_state
from seqcli.training.prepare import Setup, prepare
from seqcli.training.step import learning_rate, make_optimizer, sequence_loss, train_step
from seqcli.views.progress import Silent

# ---- the result ------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What a training produced, for the CLI's summary and for compare."""

    run_dir: Path
    step: int
    stopped: str  # why it stopped: "steps", "time", "epochs", "early stopping", "interrupted"
    elapsed: float
    tokens_per_s: float
    valid: dict[str, float] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return self.stopped == "interrupted"


class _Stop:
    """Set by SIGINT/SIGTERM so the loop can save before leaving."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: object) -> None:
        self.signal = signum


# ---- the loop -----------------------------------------------------------------------


def train(flags: dict[str, Any] | None = None, toml: dict[str, Any] | None = None, *, resume: bool = False,
          force: bool = False, reset_optimizer: bool = False, report: Silent | None = None,
          evaluate_test: bool = True) -> TrainResult:
    """Train one architecture as configured; see the module docstring for the flow."""
    report = report or Silent()
    ctx = dist.init()
    if not ctx.is_main:
        report = Silent()
    s = prepare(flags or {}, toml or {}, resume=resume, force=force, report=report, is_main=ctx.is_main)
    lock = RunLock(s.run_dir)  # taken by prepare, before it wrote anything
    stop = _Stop()
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if _main_thread() else {}
    try:
        return _loop(s, ctx, report, stop, reset_optimizer, evaluate_test)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if ctx.is_main:
            lock.release()
        dist.shutdown(ctx)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _loop(s: Setup, ctx: dist.Context, report: Silent, stop: _Stop, reset_optimizer: bool,
          evaluate_test: bool) -> TrainResult:
    c, device = s.config, s.device
    torch.manual_seed(c.seed)
    model = build_model(s.arch, s.model_config).to(device)
    optimizer = make_optimizer(model)
    meta: dict[str, Any] = {"step": 0, "epoch": 0, "position": 0, "elapsed": 0.0, "best": None,
                            "best_step": 0, "bad_evals": 0, "tokens": 0}
    saved: int | None = None  # step of the last checkpoint on disk
    if s.resuming and not (s.run_dir / STATE).exists():  # killed before its first checkpoint
        report.message(f"resuming {s.run_dir}: no checkpoint saved yet, starting at step 0")
    elif s.resuming:
        meta.update(load_train_state(s.run_dir / STATE, model, None if reset_optimizer else optimizer))
        saved = meta["step"]
        report.message(f"resuming {s.run_dir} at step {meta['step']}"
                       + (" with a fresh optimizer" if reset_optimizer else ""))
    for change in s.changes:
        report.message(f"changed on resume: {change}")
    if ctx.world > 1:  # same weights everywhere (DDP broadcasts rank 0's), but each rank its own dropout
        torch.manual_seed(c.seed + 1_000_003 * ctx.rank + meta["step"])
    wrapped = dist.wrap(model, ctx)
    forward = _compiled(wrapped) if c.compile else wrapped
    lr, schedule, warmup = s.lr, s.schedule, s.warmup
    per_rank = len(batch_plan(s.train_data, c.batch_tokens, shuffle=False)) // ctx.world
    if per_rank < c.accumulate:
        raise SeqcliError(f"each of the {ctx.world} process(es) gets {per_rank} batch(es) per epoch, fewer than "
                          f"--accumulate {c.accumulate}; lower --batch-tokens, --accumulate or --nproc")
    steps_per_epoch = per_rank // c.accumulate
    limit = _step_limit(c, s.default_steps, steps_per_epoch)
    save_every, eval_every = c.save_every, c.eval_every or max(50, (limit or 2000) // 6)
    report.start(limit, c.time_budget, meta["step"])
    t_start, t_saved = time.monotonic() - meta["elapsed"], time.monotonic()
    tok_count, tok_time, last_loss = 0, 0.0, float("nan")
    stopped, step = "steps", meta["step"]
    batches = _epoch(s, ctx, meta["epoch"])
    while True:
        reason = _stop_reason(c, step, limit, t_start, stop, ctx)
        if reason:
            stopped = reason
            break
        if meta["position"] + c.accumulate > len(batches):
            meta["epoch"], meta["position"] = meta["epoch"] + 1, 0
            batches = _epoch(s, ctx, meta["epoch"])
        micro = [batches[meta["position"] + i] for i in range(c.accumulate)]
        t0 = time.monotonic()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step + 1, schedule, lr, warmup, s.model_config.d_model)
        try:
            done = train_step(forward, model, optimizer, micro, smoothing=c.label_smoothing, clip=c.clip, ctx=ctx,
                              ddp=wrapped if ctx.world > 1 else None)
        except FloatingPointError as e:
            kept = f"the last checkpoint (step {saved}) is kept" if saved is not None else "no checkpoint was saved"
            raise SeqcliError(f"loss became {e} at step {step + 1}; stopped, {kept} in {s.run_dir}; "
                              "try a lower --lr") from None
        step += 1
        meta.update(step=step, position=meta["position"] + c.accumulate)
        tok_count += done.tokens
        tok_time += time.monotonic() - t0
        last_loss = done.loss
        meta["tokens"] += done.tgt_tokens
        fields = {"loss": last_loss, "ppl": math.exp(min(last_loss, 50)),
                  "lr": optimizer.param_groups[0]["lr"], "tok_s": tok_count / max(tok_time, 1e-9)}
        report.update(step, **fields)
        if step % 50 == 0 and ctx.is_main:
            append_metrics(s.run_dir, {"kind": "train", "step": step, **fields,
                                       "elapsed": round(time.monotonic() - t_start, 2)})
        if step % eval_every == 0:
            patience_out = _validate(s, model, meta, report, ctx) and c.patience and meta["bad_evals"] >= c.patience
            if dist.from_main(bool(patience_out), ctx):  # the other ranks wait here while rank 0 validates
                stopped = "early stopping"
                break
        due = step % save_every == 0 if save_every else time.monotonic() - t_saved >= 60
        if due:
            meta["elapsed"] = time.monotonic() - t_start
            _save(s, model, optimizer, meta, ctx)
            saved, t_saved = step, time.monotonic()
    if step % eval_every != 0 and stopped != "interrupted" and step > 0:
        _validate(s, model, meta, report, ctx)
    meta["elapsed"] = time.monotonic() - t_start
    _save(s, model, optimizer, meta, ctx)
    result = TrainResult(s.run_dir, step, stopped, meta["elapsed"], tok_count / max(tok_time, 1e-9),
                         changes=s.changes)
    result.valid = dict(meta.get("last_valid") or {})
    report.stop()
    if stopped == "interrupted":
        return result
    if evaluate_test and ctx.is_main:
        result.test = _test(s, model, report)
    if ctx.is_main:
        append_metrics(s.run_dir, {"kind": "summary", "step": step, "stopped": stopped,
                                   "elapsed": round(result.elapsed, 2), "tok_s": round(result.tokens_per_s, 1),
                                   "train_loss": None if math.isnan(last_loss) else last_loss,
                                   "valid": result.valid, "test": result.test})
    return result


def _step_limit(c: TrainConfig, default_steps: int, steps_per_epoch: int) -> int | None:
    """The step at which to stop: --steps, --epochs, or the preset when no budget is given."""
    limits = []
    if c.steps:
        limits.append(c.steps)
    if c.epochs:
        limits.append(math.ceil(c.epochs * steps_per_epoch))
    if not limits and not c.time_budget:
        limits.append(default_steps)
    return min(limits) if limits else None


STOP_REASONS = ("", "interrupted", "time", "steps", "epochs")  # across ranks, the later one wins


def _stop_reason(c: TrainConfig, step: int, limit: int | None, t_start: float, stop: _Stop,
                 ctx: dist.Context) -> str:
    """Why to stop before the next step ("" = go on), the same on every rank."""
    reason = ""
    if limit is not None and step >= limit:
        reason = "epochs" if c.epochs and not c.steps else "steps"
    elif c.time_budget and time.monotonic() - t_start >= c.time_budget:
        reason = "time"
    elif stop.signal is not None:
        reason = "interrupted"
    return STOP_REASONS[dist.agree(STOP_REASONS.index(reason), ctx)]


def _compiled(module: torch.nn.Module) -> Callable[..., torch.Tensor]:
    """torch.compile for the training forward (--compile); every batch has its own shape, hence dynamic."""
    return torch.compile(module, dynamic=True)  # type: ignore[return-value]


def _epoch(s: Setup, ctx: dist.Context, epoch: int) -> PlannedBatches:
    """This rank's batches for an epoch: a pure function of (seed, epoch), so resume can skip ahead.

    Collated as they are read, so a large (prepared, memory-mapped) corpus never sits in memory.
    """
    plan = batch_plan(s.train_data, s.config.batch_tokens, shuffle=True, seed=s.config.seed, epoch=epoch)
    return PlannedBatches(s.train_data, dist.shard(plan, ctx))


def _save(s: Setup, model: Seq2Seq, optimizer: torch.optim.Optimizer, meta: dict[str, Any],
          ctx: dist.Context) -> None:
    """Write the latest weights and the resume state (rank 0 only)."""
    if not ctx.is_main:
        return
    write_tensors(s.run_dir / MODEL, model.state_dict(), {"step": meta["step"]})
    save_train_state(s.run_dir / STATE, model, optimizer, meta)


@torch.no_grad()
def _validate(s: Setup, model: Seq2Seq, meta: dict[str, Any], report: Silent, ctx: dist.Context) -> bool:
    """Validation loss, perplexity and greedy BLEU; keeps the best weights. Returns True if evaluated."""
    if not ctx.is_main:
        return False
    model.eval()
    try:
        loss = _valid_loss(s, model)
        bleu = _greedy_bleu(s, model, s.valid_pairs[: s.config.valid_bleu_sentences])
    finally:
        model.train()
    record = {"loss": round(loss, 4), "ppl": round(math.exp(min(loss, 50)), 3), "bleu": round(bleu, 2)}
    meta["last_valid"] = record
    append_metrics(s.run_dir, {"kind": "valid", "step": meta["step"], **record})
    improved = meta["best"] is None or bleu > meta["best"] or (bleu == meta["best"] and loss < meta.get("best_loss", 1e9))
    if improved:
        meta.update(best=bleu, best_step=meta["step"], best_loss=loss, bad_evals=0)
        write_tensors(s.run_dir / BEST, model.state_dict(), {"step": meta["step"], "bleu": bleu})
    else:
        meta["bad_evals"] += 1
    report.message(f"step {meta['step']}: valid loss {record['loss']:.3f}  ppl {record['ppl']:.2f}  "
                   f"BLEU {bleu:.2f}" + ("  (best)" if improved else ""))
    return True


def _valid_loss(s: Setup, model: Seq2Seq) -> float:
    total, count = 0.0, 0
    for batch in make_batches(s.valid_data, s.config.batch_tokens, shuffle=False):
        batch = batch.to(s.device)
        with autocast(s.device):
            logits = model(batch.src, batch.src_mask, batch.tgt_in)
        _, nll, n = sequence_loss(logits, batch.tgt_out, 0.0)
        total, count = total + nll.item(), count + n
    return total / max(count, 1)


def _as_run(s: Setup, model: Seq2Seq) -> Run:
    return Run(s.run_dir, s.arch, s.config, s.model_config, model, s.src_tok, s.tgt_tok, {})


def _greedy_bleu(s: Setup, model: Seq2Seq, pairs: list[tuple[str, str]]) -> float:
    """Greedy validation BLEU, by the same path as the test set, `seqcli bleu` and compare."""
    return evaluate(_as_run(s, model), pairs, by_length=False).bleu.score if pairs else 0.0


def _test(s: Setup, model: Seq2Seq, report: Silent) -> dict[str, Any]:
    """Greedy test BLEU and chrF with the best weights."""

    if not s.test_pairs:
        return {}
    if (s.run_dir / BEST).exists():
        load_weights(model, s.run_dir / BEST)
    model.eval()
    result = evaluate(_as_run(s, model), s.test_pairs, by_length=False).summary(s.test_name)
    append_metrics(s.run_dir, {"kind": "test", **result})
    return result


__all__ = ["train", "TrainResult"]
