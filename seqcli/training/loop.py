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
from seqcli.data.batching import Batch, PlannedBatches, batch_plan, make_batches
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
from seqcli.training.state import TrainState
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
    tokens_per_s: float  # real target tokens per wall second of the steps, reading batches included
    valid: dict[str, float] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    precision: str = "fp32"  # what the steps ran in

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


@dataclass(frozen=True)
class _Plan:
    """When things happen, worked out once before the first step."""

    limit: int | None  # the step to stop at; None: only the time budget stops training
    eval_every: int  # validate every this many steps
    save_every: int | None  # checkpoint every this many steps; None: about once a minute


@dataclass(frozen=True)
class _Engine:
    """The model the optimizer steps, and the forward pass training calls on it."""

    model: Seq2Seq[Any, Any]
    optimizer: torch.optim.Optimizer
    ddp: torch.nn.Module | None  # the DistributedDataParallel wrapper, with several processes only
    forward: Callable[..., torch.Tensor]  # the model, through DDP and --compile where asked


def _loop(s: Setup, ctx: dist.Context, report: Silent, stop: _Stop, reset_optimizer: bool,
          evaluate_test: bool) -> TrainResult:
    """Start or resume, step until a stop reason, validate and save on the way; then test."""
    torch.manual_seed(s.config.seed)  # the initial weights, and the dropout of a fresh run
    model = build_model(s.arch, s.model_config).to(s.device)
    optimizer = make_optimizer(model)
    state = _start_or_resume(s, model, optimizer, reset_optimizer, report)
    engine = _engine(s, ctx, model, optimizer, state.step)
    plan = _plan(s, ctx)
    report.start(plan.limit, s.config.time_budget, state.step)
    state.start_clock()
    feed = _Feed(s, ctx, state.epoch)
    while not (stopped := _stop_reason(s.config, state, plan, stop, ctx)):
        _step(s, ctx, engine, state, feed)
        _report_step(s, state, engine.optimizer, report, ctx)
        if _should_validate(state, plan):
            _validate(s, model, state, report, ctx)
            if _patience_ran_out(s.config, state, ctx):
                stopped = "early stopping"
                break
        if _should_save(state, plan):
            _checkpoint(s, engine, state, ctx)
    if stopped != "interrupted" and state.step > 0 and not _should_validate(state, plan):
        _validate(s, model, state, report, ctx)  # the last step, unless it was just validated
    _checkpoint(s, engine, state, ctx)
    report.stop()
    return _finish(s, ctx, model, state, stopped, report, evaluate_test)


# ---- before the first step ------------------------------------------------------------


def _start_or_resume(s: Setup, model: Seq2Seq[Any, Any], optimizer: torch.optim.Optimizer, reset_optimizer: bool,
                     report: Silent) -> TrainState:
    """A fresh state, or the last checkpoint's (which also restores weights, optimizer and RNG)."""
    state = TrainState()
    if s.resuming and not (s.run_dir / STATE).exists():  # killed before its first checkpoint
        report.message(f"resuming {s.run_dir}: no checkpoint saved yet, starting at step 0")
    elif s.resuming:
        state = TrainState.from_meta(
            load_train_state(s.run_dir / STATE, model, None if reset_optimizer else optimizer))
        state.saved_step = state.step
        report.message(f"resuming {s.run_dir} at step {state.step}"
                       + (" with a fresh optimizer" if reset_optimizer else ""))
    for change in s.changes:
        report.message(f"changed on resume: {change}")
    return state


def _engine(s: Setup, ctx: dist.Context, model: Seq2Seq[Any, Any], optimizer: torch.optim.Optimizer,
            step: int) -> _Engine:
    """Wrap the model for several processes (DDP) and --compile."""
    if ctx.world > 1:  # same weights everywhere (DDP broadcasts rank 0's), but each rank its own dropout
        torch.manual_seed(s.config.seed + 1_000_003 * ctx.rank + step)
    wrapped = dist.wrap(model, ctx)
    forward = _compiled(wrapped) if s.config.compile else wrapped
    return _Engine(model, optimizer, wrapped if ctx.world > 1 else None, forward)


def _compiled(module: torch.nn.Module) -> Callable[..., torch.Tensor]:
    """torch.compile for the training forward (--compile); every batch has its own shape, hence dynamic."""
    return torch.compile(module, dynamic=True)


def _plan(s: Setup, ctx: dist.Context) -> _Plan:
    """The step limit and how often to validate and save."""
    c = s.config
    per_rank = len(batch_plan(s.train_data, c.batch_tokens, shuffle=False, batch_sents=c.batch_sents)) // ctx.world
    if per_rank < c.accumulate:
        raise SeqcliError(f"each of the {ctx.world} process(es) gets {per_rank} batch(es) per epoch, fewer than "
                          f"--accumulate {c.accumulate}; lower --batch-tokens, --accumulate or --nproc")
    limit = _step_limit(c, s.default_steps, per_rank // c.accumulate)
    return _Plan(limit, c.eval_every or max(50, (limit or 2000) // 6), c.save_every)


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


# ---- each step ------------------------------------------------------------------------


STOP_REASONS = ("", "interrupted", "time", "steps", "epochs")  # across ranks, the later one wins


def _stop_reason(c: TrainConfig, state: TrainState, plan: _Plan, stop: _Stop, ctx: dist.Context) -> str:
    """Why to stop before the next step ("" = go on), the same on every rank."""
    reason = ""
    if plan.limit is not None and state.step >= plan.limit:
        reason = "epochs" if c.epochs and not c.steps else "steps"
    elif c.time_budget and state.seconds() >= c.time_budget:
        reason = "time"
    elif stop.signal is not None:
        reason = "interrupted"
    return STOP_REASONS[dist.agree(STOP_REASONS.index(reason), ctx)]


class _Feed:
    """This rank's batches, epoch after epoch; each step takes the next --accumulate of them."""

    def __init__(self, s: Setup, ctx: dist.Context, epoch: int) -> None:
        self.s, self.ctx = s, ctx
        self.batches = _epoch(s, ctx, epoch)

    def next(self, state: TrainState) -> list[Batch]:
        """The next step's batches; a new epoch begins when this one has too few left."""
        k = self.s.config.accumulate
        if state.position + k > len(self.batches):
            state.epoch, state.position = state.epoch + 1, 0
            self.batches = _epoch(self.s, self.ctx, state.epoch)
        return [self.batches[state.position + i] for i in range(k)]


def _epoch(s: Setup, ctx: dist.Context, epoch: int) -> PlannedBatches:
    """This rank's batches for an epoch: a pure function of (seed, epoch), so resume can skip ahead.

    Collated as they are read, so a large (prepared, memory-mapped) corpus never sits in memory.
    """
    c = s.config
    plan = batch_plan(s.train_data, c.batch_tokens, shuffle=True, seed=c.seed, epoch=epoch, batch_sents=c.batch_sents)
    return PlannedBatches(s.train_data, dist.shard(plan, ctx))


def _step(s: Setup, ctx: dist.Context, engine: _Engine, state: TrainState, feed: _Feed) -> None:
    """One optimizer step at the scheduled learning rate; a non-finite loss ends training.

    Its clock (for tokens/s) starts before the batches are read: data loading counts.
    """
    c, t0 = s.config, time.monotonic()
    micro = feed.next(state)
    for group in engine.optimizer.param_groups:
        group["lr"] = learning_rate(state.step + 1, s.schedule, s.lr, s.warmup, s.model_config.d_model)
    try:
        done = train_step(engine.forward, engine.model, engine.optimizer, micro, smoothing=c.label_smoothing,
                          clip=c.clip, ctx=ctx, ddp=engine.ddp, precision=s.precision)
    except FloatingPointError as e:
        kept = (f"the last checkpoint (step {state.saved_step}) is kept" if state.saved_step is not None
                else "no checkpoint was saved")
        raise SeqcliError(f"loss became {e} at step {state.step + 1}; stopped, {kept} in {s.run_dir}; "
                          "try a lower --lr") from None
    state.step += 1
    state.position += c.accumulate
    state.tokens += done.tgt_tokens
    state.step_tokens += done.tgt_tokens
    state.step_seconds += time.monotonic() - t0
    state.last_loss = done.loss


def _report_step(s: Setup, state: TrainState, optimizer: torch.optim.Optimizer, report: Silent,
                 ctx: dist.Context) -> None:
    """Show the step's loss, perplexity, learning rate and speed; log them every 50 steps."""
    fields = {"loss": state.last_loss, "ppl": math.exp(min(state.last_loss, 50)),
              "lr": optimizer.param_groups[0]["lr"], "tgt_tok_s": state.tokens_per_s}
    report.update(state.step, **fields)
    if state.step % 50 == 0 and ctx.is_main:
        append_metrics(s.run_dir, {"kind": "train", "step": state.step, **fields,
                                   "elapsed": round(state.seconds(), 2)})


# ---- validation and checkpoints -------------------------------------------------------


def _should_validate(state: TrainState, plan: _Plan) -> bool:
    return state.step % plan.eval_every == 0


def _patience_ran_out(c: TrainConfig, state: TrainState, ctx: dist.Context) -> bool:
    """--patience validations in a row without a new best, as rank 0 (which validates) sees it."""
    out = bool(c.patience) and state.bad_evals >= c.patience
    return dist.from_main(out, ctx)  # the other ranks wait here while rank 0 validates


def _should_save(state: TrainState, plan: _Plan) -> bool:
    if plan.save_every:
        return state.step % plan.save_every == 0
    return state.seconds_since_save() >= 60


def _checkpoint(s: Setup, engine: _Engine, state: TrainState, ctx: dist.Context) -> None:
    """Write the latest weights and everything a resume needs (rank 0 writes)."""
    state.elapsed = state.seconds()
    if ctx.is_main:
        write_tensors(s.run_dir / MODEL, engine.model.state_dict(), {"step": state.step})
        save_train_state(s.run_dir / STATE, engine.model, engine.optimizer, state.to_meta())
    state.mark_saved()


@torch.no_grad()
def _validate(s: Setup, model: Seq2Seq[Any, Any], state: TrainState, report: Silent, ctx: dist.Context) -> None:
    """Validation loss, perplexity and greedy BLEU (rank 0); keeps the best weights."""
    if not ctx.is_main:
        return
    model.eval()
    try:
        loss = _valid_loss(s, model)
        bleu = _greedy_bleu(s, model, s.valid_pairs[: s.config.valid_bleu_sentences])
    finally:
        model.train()
    record = {"loss": round(loss, 4), "ppl": round(math.exp(min(loss, 50)), 3), "bleu": round(bleu, 2)}
    append_metrics(s.run_dir, {"kind": "valid", "step": state.step, **record})
    improved = state.note_validation(record, bleu, loss)
    if improved:
        write_tensors(s.run_dir / BEST, model.state_dict(), {"step": state.step, "bleu": bleu})
    report.message(f"step {state.step}: valid loss {record['loss']:.3f}  ppl {record['ppl']:.2f}  "
                   f"BLEU {bleu:.2f}" + ("  (best)" if improved else ""))


# ---- after the last step --------------------------------------------------------------


def _finish(s: Setup, ctx: dist.Context, model: Seq2Seq[Any, Any], state: TrainState, stopped: str, report: Silent,
            evaluate_test: bool) -> TrainResult:
    """The result; unless interrupted, test BLEU with the best weights and the summary (rank 0)."""
    result = TrainResult(s.run_dir, state.step, stopped, state.elapsed, state.tokens_per_s,
                         valid=dict(state.last_valid or {}), changes=s.changes, precision=s.precision)
    if stopped == "interrupted" or not ctx.is_main:
        return result
    if evaluate_test:
        result.test = _test(s, model, report)
    append_metrics(s.run_dir, {"kind": "summary", "step": state.step, "stopped": stopped,
                               "elapsed": round(result.elapsed, 2), "tgt_tok_s": round(result.tokens_per_s, 1),
                               "precision": s.precision,
                               "train_loss": None if math.isnan(state.last_loss) else state.last_loss,
                               "valid": result.valid, "test": result.test})
    return result


def _valid_loss(s: Setup, model: Seq2Seq[Any, Any]) -> float:
    total, count = 0.0, 0
    for batch in make_batches(s.valid_data, s.config.batch_tokens, shuffle=False):
        batch = batch.to(s.device)
        with autocast(s.device, s.precision):
            logits = model(batch.src, batch.src_mask, batch.tgt_in)
        _, nll, n = sequence_loss(logits, batch.tgt_out, 0.0)
        total, count = total + nll.item(), count + n
    return total / max(count, 1)


def _as_run(s: Setup, model: Seq2Seq[Any, Any]) -> Run:
    return Run(s.run_dir, s.arch, s.config, s.model_config, model, s.src_tok, s.tgt_tok, {}, s.precision)


def _greedy_bleu(s: Setup, model: Seq2Seq[Any, Any], pairs: list[tuple[str, str]]) -> float:
    """Greedy validation BLEU, by the same path as the test set, `seqcli bleu` and compare."""
    return evaluate(_as_run(s, model), pairs, by_length=False).bleu.score if pairs else 0.0


def _test(s: Setup, model: Seq2Seq[Any, Any], report: Silent) -> dict[str, Any]:
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
