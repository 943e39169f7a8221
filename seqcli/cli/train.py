"""`seqcli train`: train one architecture on a corpus into a run directory."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from seqcli.cli.common import Device, Src, TestSet, Tgt


def train(
    arch: Annotated[str | None, typer.Option("--arch", "-a", help="Architecture (see `seqcli archs`). Default: transformer.")] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", "-c", help="aurora (default), a TSV file, a Moses directory, or a `data get` name.")] = None,
    src: Src = None,
    tgt: Tgt = None,
    test_set: TestSet = None,
    out: Annotated[str | None, typer.Option("--out", "-o", help="Run directory (default: runs/<arch>).")] = None,
    steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps (total, also on resume).")] = None,
    epochs: Annotated[float | None, typer.Option(help="Stop after this many passes over the training data.")] = None,
    time_budget: Annotated[str | None, typer.Option("--time-budget", help="Stop after this much wall time, e.g. 90s, 5m.")] = None,
    batch_tokens: Annotated[int | None, typer.Option(help="Tokens per batch (padding included).")] = None,
    accumulate: Annotated[int | None, typer.Option(help="Batches per optimizer step (gradient accumulation; default 1).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (Noam: the scale factor).")] = None,
    schedule: Annotated[str | None, typer.Option(help="noam | inverse_sqrt | constant.")] = None,
    warmup: Annotated[int | None, typer.Option(help="Warmup steps.")] = None,
    label_smoothing: Annotated[float | None, typer.Option(help="Label smoothing ε (default 0.1).")] = None,
    clip: Annotated[float | None, typer.Option(help="Gradient norm clipping (0 = off).")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout (default: the size preset).")] = None,
    size: Annotated[str | None, typer.Option(help="tiny | small | base.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a model field, e.g. --set heads=8 (repeatable).")] = None,
    attention: Annotated[str | None, typer.Option("--attention", help="soft | hard (bahdanau): shortcut for --set attention=...")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 1).")] = None,
    device: Device = "auto",
    save_every: Annotated[int | None, typer.Option(help="Checkpoint every N steps (default: about once a minute).")] = None,
    eval_every: Annotated[int | None, typer.Option(help="Validate every N steps.")] = None,
    patience: Annotated[int | None, typer.Option(help="Stop after N validations without BLEU gain (0 = never).")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="bpe | word.")] = None,
    vocab_size: Annotated[int | None, typer.Option(help="Subword vocabulary size per side.")] = None,
    joint_vocab: Annotated[bool | None, typer.Option("--joint-vocab/--separate-vocab", help="One vocabulary for both sides.")] = None,
    config: Annotated[str | None, typer.Option("--config", help="TOML file; flags override it.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the run already in --out.")] = False,
    reset_optimizer: Annotated[bool, typer.Option("--reset-optimizer", help="On --resume, start a fresh optimizer.")] = False,
    nproc: Annotated[int | None, typer.Option("--nproc", help="Train with N processes (launches torchrun, DDP).")] = None,
    compile_: Annotated[bool | None, typer.Option("--compile/--no-compile", help="torch.compile the training forward (off by default; pays on GPUs).")] = None,
) -> None:
    """Train an architecture; with no options, the Transformer on the embedded aurora corpus."""
    from seqcli.runs.config import load_toml, parse_duration, parse_sets
    from seqcli.training.loop import train as run_training
    from seqcli.views.progress import reporter
    from seqcli.views.render import note

    if nproc and nproc > 1:
        from seqcli.training.launch import launch

        raise typer.Exit(launch(nproc, sys.argv[1:]))
    model = parse_sets(set_)
    if attention:
        model["attention"] = attention
    flags = dict(arch=arch, corpus=corpus, src=src, tgt=tgt, test_set=test_set, out=out, steps=steps,
                 epochs=epochs, time_budget=parse_duration(time_budget) if time_budget else None,
                 batch_tokens=batch_tokens, accumulate=accumulate, compile=compile_, lr=lr, schedule=schedule, warmup=warmup,
                 label_smoothing=label_smoothing, clip=clip, dropout=dropout, size=size, seed=seed,
                 device=None if device == "auto" else device, save_every=save_every, eval_every=eval_every,
                 patience=patience, tokenizer=tokenizer, vocab_size=vocab_size, joint_vocab=joint_vocab,
                 model=model or None)
    toml = load_toml(config) if config else {}
    result = run_training(flags, toml, resume=resume, force=force, reset_optimizer=reset_optimizer,
                          report=reporter())
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        raise typer.Exit(130 if result.interrupted else 0)
    if result.interrupted:
        note(f"interrupted at step {result.step}; saved. Resume with: seqcli train --out {result.run_dir} --resume")
        raise typer.Exit(130)
    _summary(result)


def _summary(result: object) -> None:
    from seqcli.views.render import note

    r = result  # TrainResult
    note(f"done: {r.step} steps in {r.elapsed:.0f}s ({r.stopped}), {r.tokens_per_s:,.0f} tokens/s → {r.run_dir}")  # type: ignore[attr-defined]
    if r.valid:  # type: ignore[attr-defined]
        v = r.valid  # type: ignore[attr-defined]
        note(f"validation: loss {v['loss']:.3f}, perplexity {v['ppl']:.2f}, greedy BLEU {v['bleu']:.2f}")
    if r.test:  # type: ignore[attr-defined]
        t = r.test  # type: ignore[attr-defined]
        note(f"test ({t['set']}, {t['sentences']} sentences, greedy): BLEU {t['bleu']:.2f}  chrF {t['chrf']:.2f}")
        note(f"  {t['signature']}")
