"""`seqcli train`: train one architecture on a corpus into a run directory."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqcli.cli.common import (
    BUDGET,
    CHECKPOINTS,
    CORPUS_HELP,
    DATA,
    MODEL,
    OPTIMISATION,
    Device,
    Flag,
    Precision,
    Src,
    TestSet,
    Tgt,
    either,
    yes,
)
from seqcli.models.catalog import SHORTCUTS, SIZES, shortcut_sets
from seqcli.runs.defaults import SCHEDULES, TOKENIZERS
from seqcli.runs.defaults import TrainConfig as T

if TYPE_CHECKING:
    from seqcli.training.loop import TrainResult


def train(
    arch: Annotated[str | None, typer.Option("--arch", "-a", metavar="NAME", rich_help_panel=MODEL, help=f"See `seqcli archs` (default {T.arch}).")] = None,
    size: Annotated[str | None, typer.Option(metavar="SIZE", rich_help_panel=MODEL, help=f"{' | '.join(SIZES)} (default {T.size}).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", metavar="K=V", rich_help_panel=MODEL, help="A model field, e.g. heads=8 (repeatable).")] = None,
    attention: Annotated[str | None, typer.Option("--attention", metavar=SHORTCUTS["attention"].metavar, rich_help_panel=MODEL, help=SHORTCUTS["attention"].help)] = None,
    dropout: Annotated[float | None, typer.Option(metavar="P", rich_help_panel=MODEL, help="Dropout (default: the size preset's).")] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", "-c", metavar="CORPUS", rich_help_panel=DATA, help=CORPUS_HELP)] = None,
    src: Src = None,
    tgt: Tgt = None,
    test_set: TestSet = None,
    tokenizer: Annotated[str | None, typer.Option(metavar="|".join(TOKENIZERS), rich_help_panel=DATA, help=f"Tokenizer (default {T.tokenizer}).")] = None,
    vocab_size: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=DATA, help="Vocabulary per side (default: from corpus).")] = None,
    joint_vocab: Annotated[bool, typer.Option("--joint-vocab", metavar=Flag, rich_help_panel=DATA, help=f"One vocabulary for both sides (default {yes(T.joint_vocab)}).")] = False,
    separate_vocab: Annotated[bool, typer.Option("--separate-vocab", hidden=True, help="Two vocabularies (over a TOML joint_vocab).")] = False,
    steps: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=BUDGET, help="Stop at step N, in total (default: preset).")] = None,
    epochs: Annotated[float | None, typer.Option(metavar="X", rich_help_panel=BUDGET, help="Stop after X passes over the training data.")] = None,
    time_budget: Annotated[str | None, typer.Option("--time-budget", metavar="DUR", rich_help_panel=BUDGET, help="Stop after this wall time, e.g. 90s, 5m.")] = None,
    patience: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=BUDGET, help=f"Stop after N evals without gain, 0 = never (default {T.patience}).")] = None,
    eval_every: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=BUDGET, help="Validate every N steps (default: about 6 times).")] = None,
    lr: Annotated[float | None, typer.Option(metavar="X", rich_help_panel=OPTIMISATION, help="Peak LR, or Noam's scale (default: preset).")] = None,
    schedule: Annotated[str | None, typer.Option(metavar="NAME", rich_help_panel=OPTIMISATION, help=f"{'|'.join(SCHEDULES)} (default: preset).")] = None,
    warmup: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=OPTIMISATION, help="Warmup steps (default: preset).")] = None,
    batch_tokens: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=OPTIMISATION, help=f"Tokens per batch, padding too (default {T.batch_tokens}).")] = None,
    batch_sents: Annotated[int | None, typer.Option("--batch-sents", metavar="N", rich_help_panel=OPTIMISATION, help="N sentences per batch instead of a token budget.")] = None,
    accumulate: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=OPTIMISATION, help=f"Batches per optimizer step (default {T.accumulate}).")] = None,
    label_smoothing: Annotated[float | None, typer.Option(metavar="EPS", rich_help_panel=OPTIMISATION, help=f"Label smoothing ε (default {T.label_smoothing}).")] = None,
    clip: Annotated[float | None, typer.Option(metavar="X", rich_help_panel=OPTIMISATION, help=f"Gradient norm clip, 0 = off (default {T.clip}).")] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=OPTIMISATION, help=f"Random seed (default {T.seed}).")] = None,
    out: Annotated[str | None, typer.Option("--out", "-o", metavar="DIR", help="Run directory (default runs/ARCH).")] = None,
    config: Annotated[str | None, typer.Option("--config", metavar="FILE", help="TOML settings file; flags override it.")] = None,
    resume: Annotated[bool, typer.Option("--resume", metavar=Flag, help="Continue the run in --out.")] = False,
    force: Annotated[bool, typer.Option("--force", metavar=Flag, help="Replace the run in --out.")] = False,
    device: Device = T.device,
    precision: Precision = T.precision,
    save_every: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=CHECKPOINTS, help="Checkpoint every N steps (default: each minute).")] = None,
    reset_optimizer: Annotated[bool, typer.Option("--reset-optimizer", metavar=Flag, rich_help_panel=CHECKPOINTS, help="With --resume: a fresh optimizer.")] = False,
    nproc: Annotated[int | None, typer.Option("--nproc", metavar="N", rich_help_panel=CHECKPOINTS, help="Train with N processes (torchrun, DDP).")] = None,
    compile_: Annotated[bool, typer.Option("--compile", metavar=Flag, rich_help_panel=CHECKPOINTS, help=f"torch.compile the forward (default {yes(T.compile)}).")] = False,
    no_compile: Annotated[bool, typer.Option("--no-compile", hidden=True, help="No torch.compile (over a TOML compile).")] = False,
) -> None:
    """Train one architecture on a corpus into a run directory.

    With no options: the Transformer on the embedded aurora corpus, into
    runs/transformer. Settings: defaults < architecture preset < --config < flags.

    Examples:
      seqcli train --arch bahdanau --steps 200 --attention hard
      seqcli train --corpus pairs.tsv --size base --out runs/mine
    """
    options = dict(locals())  # every option by name: the first statement, so nothing else is in it
    if nproc and nproc > 1:  # torchrun starts the processes, each running this command again
        from seqcli.training.launch import launch

        raise typer.Exit(launch(nproc, sys.argv[1:]))
    from seqcli.training.loop import train as run_training
    from seqcli.views.progress import reporter

    flags, toml = _settings(options)
    result = run_training(flags, toml, resume=resume, force=force, reset_optimizer=reset_optimizer,
                          report=reporter())
    _end(result)


# The TrainConfig fields `train` sets, in the order a resume lists what the flags changed; each
# comes from the option of the same name unless _settings converts it.
_FLAGS = ("arch", "corpus", "src", "tgt", "test_set", "out", "steps", "epochs", "time_budget", "batch_tokens",
          "batch_sents", "accumulate", "compile", "lr", "schedule", "warmup", "label_smoothing", "clip", "dropout", "size", "seed",
          "device", "precision", "save_every", "eval_every", "patience", "tokenizer", "vocab_size", "joint_vocab", "model")


def _settings(o: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The training flags the options give (None: not given), and the --config TOML."""
    from seqcli.runs.config import load_toml, parse_duration, parse_sets

    model = {**parse_sets(o["set_"]), **shortcut_sets({"attention": o["attention"]})}
    joint = either(o["joint_vocab"], o["separate_vocab"], "--joint-vocab", "--separate-vocab")
    compiled = either(o["compile_"], o["no_compile"], "--compile", "--no-compile")
    converted = {"time_budget": parse_duration(o["time_budget"]) if o["time_budget"] else None,
                 "compile": compiled, "device": None if o["device"] == "auto" else o["device"],
                 "precision": None if o["precision"] == "auto" else o["precision"],
                 "joint_vocab": joint, "model": model or None}
    flags = {name: converted[name] if name in converted else o[name] for name in _FLAGS}
    return flags, load_toml(o["config"]) if o["config"] else {}


def _end(result: TrainResult) -> None:
    """Rank 0 says how training ended; an interrupted run exits 130, saying how to resume."""
    from seqcli.views.render import note

    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        raise typer.Exit(130 if result.interrupted else 0)
    if result.interrupted:
        note(f"interrupted at step {result.step}; saved. Resume with: seqcli train --out {result.run_dir} --resume")
        raise typer.Exit(130)
    _summary(result)


def _summary(r: TrainResult) -> None:
    """What training reached: steps, speed, validation and test scores."""
    from seqcli.views.render import note

    note(f"done: {r.step} steps in {r.elapsed:.0f}s ({r.stopped}), {r.tokens_per_s:,.0f} target tokens/s "
         f"({r.precision}) → {r.run_dir}")
    if r.valid:
        v = r.valid
        note(f"validation: loss {v['loss']:.3f}, perplexity {v['ppl']:.2f}, greedy BLEU {v['bleu']:.2f}")
    if r.test:
        t = r.test
        note(f"test ({t['set']}, {t['sentences']} sentences, greedy): BLEU {t['bleu']:.2f}  chrF {t['chrf']:.2f}")
        note(f"  {t['signature']}")
