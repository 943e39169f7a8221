"""Everything a training needs before its first step, resolved once.

Config (defaults < preset < TOML < flags; on --resume the saved config instead of
the defaults), the run directory (refusing to overwrite a different run), the
corpus, the tokenizers (trained, or loaded on resume) and the model config.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqcli.batching import Encoded, encode_pairs
from seqcli.config import TrainConfig, make_model_config, make_train_config
from seqcli.device import resolve_device
from seqcli.errors import SeqcliError
from seqcli.models.base import ModelConfig
from seqcli.models.registry import Arch, get_arch
from seqcli.progress import Silent
from seqcli.runs import (BEST, CONFIG, METRICS, MODEL, SRC_TOK, STATE, TGT_TOK, atomic_write, config_record,
                         model_config_from, read_config, train_config_from, write_json)

OWN_FILES = (CONFIG, MODEL, BEST, STATE, METRICS, SRC_TOK, TGT_TOK)


@dataclass
class Setup:
    """The resolved inputs of one training."""

    config: TrainConfig
    run_dir: Path
    device: torch.device
    arch: Arch
    model_config: ModelConfig
    src_tok: Any
    tgt_tok: Any
    train_data: Encoded
    valid_data: Encoded
    valid_pairs: list[tuple[str, str]]
    test_pairs: list[tuple[str, str]]
    test_name: str
    resuming: bool
    lr: float
    schedule: str
    warmup: int
    default_steps: int
    changes: list[str] = field(default_factory=list)


def _out_dir(flags: dict[str, Any], toml: dict[str, Any]) -> Path:
    out = flags.get("out") or toml.get("out")
    arch = flags.get("arch") or toml.get("arch") or TrainConfig.arch
    return Path(out) if out else Path("runs") / str(arch)


def resolve_config(flags: dict[str, Any], toml: dict[str, Any], resume: bool, force: bool) -> tuple[TrainConfig, Path, list[str]]:
    """The train config, its run directory, and (on resume) what the flags changed."""
    run_dir = _out_dir(flags, toml)
    has_run = (run_dir / CONFIG).exists()
    if resume:
        if not has_run:
            raise SeqcliError(f"--resume: {run_dir} holds no run to resume (no {CONFIG})")
        saved = train_config_from(read_config(run_dir)["train"])
        given = {k: v for k, v in {**toml, **flags}.items() if v is not None and k != "model"}
        model_given = {**(toml.get("model") or {}), **(flags.get("model") or {})}
        if model_given and any(str(saved.model.get(k)) != str(v) for k, v in model_given.items()):
            raise SeqcliError("model fields cannot change on --resume (the weights have their shape); "
                              "start a new run with --out")
        base = {k: v for k, v in dataclasses.asdict(saved).items() if k != "model"}
        config = make_train_config({**base, "model": saved.model}, given)
        changes = [f"{k}: {getattr(saved, k)} -> {getattr(config, k)}" for k in given
                   if getattr(saved, k) != getattr(config, k)]
        for fixed in ("arch", "corpus", "src", "tgt", "tokenizer", "vocab_size", "joint_vocab", "size"):
            if getattr(saved, fixed) != getattr(config, fixed):
                raise SeqcliError(f"--{fixed.replace('_', '-')} cannot change on --resume "
                                  f"(the run was trained with {getattr(saved, fixed)!r})")
        return config, run_dir, changes
    config = make_train_config(toml, flags)
    if run_dir.exists() and not run_dir.is_dir():
        raise SeqcliError(f"--out {run_dir} exists and is not a directory")
    if has_run and not force:
        raise SeqcliError(f"{run_dir} already holds a run; use --resume to continue it, "
                          "--force to replace it, or another --out")
    if run_dir.is_dir() and not has_run and any(p.name not in OWN_FILES for p in run_dir.iterdir()):
        if not force:
            raise SeqcliError(f"--out {run_dir} is a non-empty directory that is not a seqcli run; "
                              "choose another --out (or --force to write beside its files)")
    return config, run_dir, []


def _make_dir(run_dir: Path, force: bool) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise SeqcliError(f"cannot write to --out {run_dir}: {e.strerror or e}") from None
    if force:  # remove only seqcli's own files: never a user's other data
        for name in OWN_FILES:
            target = run_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)


def prepare(flags: dict[str, Any], toml: dict[str, Any], *, resume: bool, force: bool, report: Silent,
            is_main: bool = True) -> Setup:
    """Resolve config, run directory, data, tokenizers and model config."""
    from seqcli.data import load_corpus
    from seqcli.tokenize import Tokenizer, train_tokenizers

    config, run_dir, changes = resolve_config(flags, toml, resume, force)
    device = resolve_device(config.device)
    arch = get_arch(config.arch)
    if is_main and not resume:
        _make_dir(run_dir, force)
    corpus = load_corpus(config.corpus, config.src, config.tgt, config.test_set)
    report.message(f"corpus {corpus.name} ({corpus.src_lang}→{corpus.tgt_lang}): {len(corpus.train):,} train, "
                   f"{len(corpus.valid):,} valid, {len(corpus.test):,} {corpus.test_name} pairs")
    if resume:
        src_tok, tgt_tok = Tokenizer.load(run_dir / SRC_TOK), Tokenizer.load(run_dir / TGT_TOK)
        model_config = model_config_from(arch, read_config(run_dir)["model"])
    else:
        src_tok, tgt_tok = train_tokenizers(corpus.train, config.tokenizer, config.vocab_size, config.joint_vocab)
        model_config = make_model_config(config.arch, config.size, src_tok.vocab_size, tgt_tok.vocab_size,
                                         config.model, config.dropout)
        if is_main:
            atomic_write(run_dir / SRC_TOK, lambda tmp: src_tok.save(tmp))
            atomic_write(run_dir / TGT_TOK, lambda tmp: tgt_tok.save(tmp))
    if is_main:
        extra = {"corpus": {"name": corpus.name, "src": corpus.src_lang, "tgt": corpus.tgt_lang,
                            "test_set": corpus.test_name}}
        write_json(run_dir / CONFIG, config_record(config, model_config, extra))
    limit = min(config.max_tokens, model_config.max_len - 1)
    train_data = encode_pairs(corpus.train, src_tok, tgt_tok, max_tokens=limit)
    valid_data = encode_pairs(corpus.valid, src_tok, tgt_tok, max_tokens=model_config.max_len - 1)
    defaults = arch.train
    return Setup(
        config=config, run_dir=run_dir, device=device, arch=arch, model_config=model_config,
        src_tok=src_tok, tgt_tok=tgt_tok, train_data=train_data, valid_data=valid_data,
        valid_pairs=list(corpus.valid), test_pairs=list(corpus.test), test_name=corpus.test_name,
        resuming=resume, lr=config.lr if config.lr is not None else defaults.lr,
        schedule=config.schedule or defaults.schedule,
        warmup=config.warmup if config.warmup is not None else defaults.warmup,
        default_steps=defaults.steps, changes=changes,
    )
