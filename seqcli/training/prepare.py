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

from seqcli.core.device import resolve_device, resolve_precision
from seqcli.core.errors import SeqcliError
from seqcli.core.files import write_json, write_text
from seqcli.data.batching import Encoded, encode_pairs
from seqcli.data.corpus import load_corpus
from seqcli.data.prepared import open_prepared
from seqcli.data.tokenizers import Tokenizer, default_vocab_size, train_tokenizers
from seqcli.models.base import ModelConfig
from seqcli.models.registry import Arch, get_arch
from seqcli.runs.config import TrainConfig, make_model_config, make_train_config
from seqcli.runs.directory import (
    BEST,
    CONFIG,
    LOCK,
    METRICS,
    MODEL,
    SRC_TOK,
    STATE,
    TGT_TOK,
    RunLock,
    config_record,
    model_config_from,
    read_config,
    train_config_from,
)
from seqcli.training import distributed as dist
from seqcli.views.progress import Silent

OWN_FILES = (CONFIG, MODEL, BEST, STATE, METRICS, SRC_TOK, TGT_TOK)


def _leftover(name: str) -> bool:
    """A stale lock, write probe or temp file (atomic_write's `.<name>.<random>.tmp`) of a killed run."""
    return name in (LOCK, ".write-test") or (
        name.endswith(".tmp") and any(name.startswith(f".{own}.") for own in OWN_FILES))


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
    precision: str = "fp32"  # what --precision resolved to on this device: "fp32" | "bf16"


def _out_dir(flags: dict[str, Any], toml: dict[str, Any]) -> Path:
    out = flags.get("out") or toml.get("out")
    arch = flags.get("arch") or toml.get("arch") or TrainConfig.arch
    return Path(out) if out else Path("runs") / str(arch)


def with_presets(config: TrainConfig) -> TrainConfig:
    """The config with the architecture's optimisation presets in place of None, as the run uses them."""
    preset = get_arch(config.arch).train
    return dataclasses.replace(
        config, lr=preset.lr if config.lr is None else config.lr, schedule=config.schedule or preset.schedule,
        warmup=preset.warmup if config.warmup is None else config.warmup)


def resolve_config(flags: dict[str, Any], toml: dict[str, Any], resume: bool, force: bool) -> tuple[TrainConfig, Path, list[str]]:
    """The train config, its run directory, and (on resume) what the flags changed."""
    run_dir = _out_dir(flags, toml)
    has_run = (run_dir / CONFIG).exists()
    if resume:
        if not has_run:
            raise SeqcliError(f"--resume: {run_dir} holds no run to resume (no {CONFIG})")
        saved = with_presets(train_config_from(read_config(run_dir)["train"]))  # an older run may hold None
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
    config = with_presets(make_train_config(toml, flags))
    if run_dir.exists() and not run_dir.is_dir():
        raise SeqcliError(f"--out {run_dir} exists and is not a directory")
    if has_run and not force:
        raise SeqcliError(f"{run_dir} already holds a run; use --resume to continue it, "
                          "--force to replace it, or another --out")
    if run_dir.is_dir() and not has_run and any(p.name not in OWN_FILES and not _leftover(p.name)
                                                for p in run_dir.iterdir()):
        if not force:
            raise SeqcliError(f"--out {run_dir} is a non-empty directory that is not a seqcli run; "
                              "choose another --out (or --force to write beside its files)")
    return config, run_dir, []


def _make_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise SeqcliError(f"cannot write to --out {run_dir}: {e.strerror or e}") from None


def _clear(run_dir: Path, force: bool) -> None:
    """Remove temp files of killed writes; with force, seqcli's own files too (never a user's)."""
    for path in run_dir.iterdir():
        if path.name.endswith(".tmp") and _leftover(path.name):
            path.unlink(missing_ok=True)
        elif force and path.name in OWN_FILES and path.is_dir():
            shutil.rmtree(path)
        elif force and path.name in OWN_FILES:
            path.unlink(missing_ok=True)


def prepare(flags: dict[str, Any], toml: dict[str, Any], *, resume: bool, force: bool, report: Silent,
            is_main: bool = True) -> Setup:
    """Resolve config, run directory, data, tokenizers and model config."""
    config, run_dir, changes = resolve_config(flags, toml, resume, force)
    dist.barrier()  # under DDP every rank has checked --out before rank 0 writes into it
    device = resolve_device(config.device)
    arch = get_arch(config.arch)
    shape = make_model_config(config.arch, config.size, 8, 8, config.model, config.dropout)
    if not resume:  # a bad --set fails now, before the corpus is read or a file written
        shape.check_values()
    precision = resolve_precision(config.precision, device, shape.d_model)
    lock = RunLock(run_dir)
    if is_main:
        if not resume:
            _make_dir(run_dir)
        lock.acquire()  # before anything in the directory changes: a second training leaves it untouched
    try:
        return _prepare_locked(config, run_dir, changes, device, arch, resume=resume, force=force, report=report,
                               is_main=is_main, precision=precision)
    except BaseException:
        if is_main:
            lock.release()
        raise


def _prepare_locked(config: TrainConfig, run_dir: Path, changes: list[str], device: torch.device, arch: Arch, *,
                    resume: bool, force: bool, report: Silent, is_main: bool, precision: str) -> Setup:
    """The part of prepare that runs under the run directory's lock."""

    if is_main:
        _clear(run_dir, force and not resume)
    prepared = open_prepared(config.corpus, config.src, config.tgt, config.test_set)  # `data prepare` output?
    if prepared is not None:  # its tokenizers made the ids: the config records them
        config = dataclasses.replace(config, **prepared.tokenizer_settings())
    corpus = prepared.corpus if prepared else load_corpus(config.corpus, config.src, config.tgt, config.test_set)
    report.message(f"corpus {corpus.name} ({corpus.src_lang}→{corpus.tgt_lang}): {len(corpus.train):,} train, "
                   f"{len(corpus.valid):,} valid, {len(corpus.test):,} {corpus.test_name} pairs")
    if resume:
        src_tok, tgt_tok = Tokenizer.load(run_dir / SRC_TOK), Tokenizer.load(run_dir / TGT_TOK)
        model_config = model_config_from(arch, read_config(run_dir)["model"])
    else:
        if prepared is not None:
            src_tok, tgt_tok = prepared.src_tok, prepared.tgt_tok
        elif is_main:
            vocab_size = config.vocab_size or default_vocab_size(corpus.train)
            config = dataclasses.replace(config, vocab_size=vocab_size)
            src_tok, tgt_tok = train_tokenizers(corpus.train, config.tokenizer, vocab_size, config.joint_vocab)
        else:  # DDP: rank 0 trains the tokenizers; the other ranks wait, then load the very same files
            dist.barrier()
            src_tok, tgt_tok = Tokenizer.load(run_dir / SRC_TOK), Tokenizer.load(run_dir / TGT_TOK)
        model_config = make_model_config(config.arch, config.size, src_tok.vocab_size, tgt_tok.vocab_size,
                                         config.model, config.dropout)
        model_config.check_values()
        if is_main:
            write_text(run_dir / SRC_TOK, src_tok.to_str())
            write_text(run_dir / TGT_TOK, tgt_tok.to_str())
            if prepared is None:
                dist.barrier()  # the other ranks may read them now
    if is_main:
        extra = {"corpus": {"name": corpus.name, "src": corpus.src_lang, "tgt": corpus.tgt_lang,
                            "test_set": corpus.test_name},
                 "precision": precision}  # what --precision (train.precision) resolved to here
        write_json(run_dir / CONFIG, config_record(config, model_config, extra))
    limit = min(config.max_tokens, model_config.max_len - 1)
    train_data: Encoded
    if prepared is not None:
        train_data = prepared.train_data(max_tokens=limit)  # memory-mapped ids, never all in RAM
    else:
        train_data = encode_pairs(corpus.train, src_tok, tgt_tok, max_tokens=limit)
    if not len(train_data):
        raise SeqcliError(f"no training pair fits in {limit} tokens (max_tokens {config.max_tokens}, "
                          f"model max_len {model_config.max_len}); raise them")
    valid_data = encode_pairs(corpus.valid, src_tok, tgt_tok, max_tokens=model_config.max_len - 1)
    defaults = arch.train
    return Setup(
        config=config, run_dir=run_dir, device=device, arch=arch, model_config=model_config,
        src_tok=src_tok, tgt_tok=tgt_tok, train_data=train_data, valid_data=valid_data,
        valid_pairs=list(corpus.valid), test_pairs=list(corpus.test), test_name=corpus.test_name,
        resuming=resume, lr=config.lr if config.lr is not None else defaults.lr,
        schedule=config.schedule or defaults.schedule,
        warmup=config.warmup if config.warmup is not None else defaults.warmup,
        default_steps=defaults.steps, changes=changes, precision=precision,
    )
