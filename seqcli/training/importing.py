"""`seqcli import`: a pretrained MarianMT (OPUS-MT) checkpoint becomes an ordinary run.

The checkpoint is what transformers' `save_pretrained` writes (config.json,
model.safetensors, vocab.json, source.spm, target.spm), from a directory or fetched
from the Hugging Face Hub by name. The run directory gets what `seqcli train` writes:
config.json (a `transformer` whose config fields carry Marian's choices,
`seqcli.models.marian`), model.safetensors, the two tokenizers as `tokenizers` JSON
(`seqcli.data.sentencepiece`) and train_state.safetensors at step 0, so translate,
attend, bleu and compare read it like any run and `train --resume` fine-tunes it.

Nothing is unpickled: weights are read from safetensors only. The run is built in a
temp folder beside --out and renamed into place, so a refused checkpoint leaves
nothing behind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from seqcli.core.errors import SeqcliError
from seqcli.core.files import atomic_directory, write_json, write_tensors, write_text
from seqcli.data.sentencepiece import read_model, side_tokenizer
from seqcli.data.tokenizers import SPECIALS, Tokenizer
from seqcli.models.marian import (
    ARCH,
    describe,
    transformer_config,
    transformer_weights,
    vocabulary_order,
)
from seqcli.models.registry import get_arch
from seqcli.runs.config import TrainConfig
from seqcli.runs.directory import (
    CONFIG,
    MODEL,
    SRC_TOK,
    STATE,
    TGT_TOK,
    RunLock,
    build_model,
    config_record,
)
from seqcli.training.checkpoint import save_train_state
from seqcli.training.step import make_optimizer

NEEDED = ("config.json", "vocab.json", "source.spm", "target.spm")
PICKLES = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
# What a hub download fetches: never the pickles, the TensorFlow or the Rust weights.
HUB_FILES = [*NEEDED, "tokenizer_config.json", "generation_config.json", "target_vocab.json",
             "model.safetensors", "model.safetensors.index.json", "model-*.safetensors"]
HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
# Fine-tuning a trained model wants a small constant rate after a short warmup, not
# the from-scratch Noam schedule (peak 2.5e-3 at d_model 512), which would wreck it.
FINE_TUNE_LR, FINE_TUNE_SCHEDULE, FINE_TUNE_WARMUP = 5e-5, "warmup_constant", 100
T = TypeVar("T")


@dataclass
class Imported:
    """What an import made, for the command to report."""

    run_dir: Path
    source: str
    description: str  # the architecture in a few words
    vocab_size: int
    parameters: int
    marian_vocab: int
    generation: dict[str, Any]


def import_marian(source: str, out: Path | None = None, *, corpus: str = "aurora", src: str | None = None,
                  tgt: str | None = None, revision: str | None = None, force: bool = False) -> Imported:
    """Turn a MarianMT checkpoint (directory or hub name) into a seqcli run directory at out."""
    directory, name = locate(source, revision)
    out = Path(out) if out is not None else Path("runs") / name.rstrip("/").rsplit("/", 1)[-1]
    _check_out(out, force)
    hf, pieces = _read_metadata(directory)
    order = vocabulary_order(len(pieces), _special(hf, "pad_token_id"), pieces.index("<unk>"),
                             _special(hf, "eos_token_id"), _special(hf, "decoder_start_token_id", "pad_token_id"))
    config = _with_context(directory / "config.json", lambda: transformer_config(hf, len(order)))
    model = build_model(get_arch(ARCH), config)
    tensors = _read_tensors(directory)
    weights = _with_context(directory, lambda: transformer_weights(tensors, config, order))
    missing = sorted(set(model.state_dict()) - set(weights))
    if missing:
        raise SeqcliError(f"{directory}: no tensor for {missing[0]} (is the checkpoint complete?)")
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:  # a shape that does not fit config.json
        raise SeqcliError(f"{directory}: weights do not fit config.json ({str(e).splitlines()[-1].strip()})") from None
    strings = list(SPECIALS) + [pieces[i] for i in order[len(SPECIALS):]]
    tokenizers = [Tokenizer.from_str(side_tokenizer(read_model(directory / f), strings).to_str(), where=f)
                  for f in ("source.spm", "target.spm")]
    train = TrainConfig(arch=ARCH, corpus=corpus, src=src, tgt=tgt, out=str(out), tokenizer="sentencepiece",
                        vocab_size=len(order), joint_vocab=True, lr=FINE_TUNE_LR, schedule=FINE_TUNE_SCHEDULE,
                        warmup=FINE_TUNE_WARMUP)
    record = config_record(train, config, {
        "corpus": {"name": corpus, "src": src, "tgt": tgt},
        "imported": {"from": name, "kind": "MarianMT", "revision": revision, "marian_vocab": len(pieces),
                     "transformers_version": hf.get("transformers_version")}})
    with atomic_directory(out, replace=force) as tmp:
        write_json(tmp / CONFIG, record)
        write_text(tmp / SRC_TOK, tokenizers[0].to_str())
        write_text(tmp / TGT_TOK, tokenizers[1].to_str())
        write_tensors(tmp / MODEL, model.state_dict(), {"step": 0})
        # Step 0 with a fresh optimizer: what `train --resume` reads to fine-tune these weights.
        save_train_state(tmp / STATE, model, make_optimizer(model), {"step": 0, "epoch": 0, "position": 0})
    return Imported(out, name, describe(config), len(order), model.num_parameters(), len(pieces),
                    _generation(directory))


def _check_out(out: Path, force: bool) -> None:
    """--out must be new, or (with --force) a seqcli run no training is using."""
    if not out.exists():
        return
    if not force:
        raise SeqcliError(f"--out {out} already exists; choose another --out or --force to replace it")
    if not out.is_dir() or (any(out.iterdir()) and not (out / CONFIG).is_file()):
        raise SeqcliError(f"--out {out} is not a seqcli run; --force replaces runs only")
    lock = RunLock(out)
    lock.acquire()  # refuses while a training owns it
    lock.release()


def locate(source: str, revision: str | None = None) -> tuple[Path, str]:
    """The checkpoint directory for a path or hub name, and the name to show."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path, source
    if path.is_file():
        if any(path.match(p) for p in PICKLES):
            raise SeqcliError(_pickle_message(path.parent, path.name))
        raise SeqcliError(f"{source} is a file; give the directory that save_pretrained wrote")
    if not HUB_NAME.fullmatch(source):
        raise SeqcliError(f"{source}: no such directory, and not a hub name like Helsinki-NLP/opus-mt-en-fi")
    return fetch(source, revision), source


def fetch(name: str, revision: str | None = None) -> Path:
    """Download a checkpoint's safetensors, config and tokenizer files from the Hugging Face Hub."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise SeqcliError(f"fetching {name} needs huggingface_hub: pip install huggingface_hub "
                          "(or download the checkpoint and give its directory)") from None
    try:
        directory = Path(snapshot_download(repo_id=name, revision=revision, allow_patterns=HUB_FILES))
    except Exception as e:  # network errors, unknown repositories, gated ones: many types
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise SeqcliError(f"cannot fetch {name} from the Hugging Face Hub ({type(e).__name__}: {reason}); "
                          "offline, download the checkpoint elsewhere and give its directory") from None
    if (directory / "config.json").is_file() and not any(directory.glob("model*.safetensors")):
        raise SeqcliError(f"{name} has no model.safetensors at revision {revision or 'main'}, only weights "
                          "seqcli does not read (a pickle is never loaded); the hub's safetensors conversion "
                          f"may wait in a pull request: seqcli import {name} --revision refs/pr/N")
    return directory


def _read_metadata(directory: Path) -> tuple[dict[str, Any], list[str]]:
    """config.json and the shared vocabulary (piece of each Marian id), checked for what seqcli reads."""
    if not (directory / "config.json").is_file():
        raise SeqcliError(f"{directory} is not a MarianMT checkpoint: no config.json "
                          f"(save_pretrained writes {', '.join(NEEDED)} and model.safetensors)")
    hf = _read_json(directory / "config.json")
    if hf.get("model_type") != "marian":
        raise SeqcliError(f"{directory} holds a {hf.get('model_type')!r} model, not MarianMT (model_type 'marian'), "
                          "the only kind seqcli imports")
    tok_config = _read_json(directory / "tokenizer_config.json") if (directory / "tokenizer_config.json").is_file() else {}
    if (directory / "target_vocab.json").exists() or tok_config.get("separate_vocabs"):
        raise SeqcliError(f"{directory}: separate source and target vocabularies are not supported")
    for name in NEEDED[1:]:
        if not (directory / name).is_file():
            raise SeqcliError(f"{directory} lacks {name}: not a complete MarianMT checkpoint "
                              f"(save_pretrained writes {', '.join(NEEDED)} and model.safetensors)")
    vocab = _read_json(directory / "vocab.json")
    ids = sorted(vocab.values()) if all(isinstance(i, int) for i in vocab.values()) else []
    if ids != list(range(len(vocab))) or "<unk>" not in vocab:
        raise SeqcliError(f"{directory / 'vocab.json'}: not a MarianMT vocabulary (ids 0..n-1 with <unk>)")
    pieces = [""] * len(vocab)
    for piece, i in vocab.items():
        pieces[i] = piece
    if hf.get("vocab_size") != len(pieces):
        raise SeqcliError(f"{directory}: config.json says vocab_size {hf.get('vocab_size')}, "
                          f"vocab.json holds {len(pieces)} pieces")
    return hf, pieces


def _read_tensors(directory: Path) -> dict[str, torch.Tensor]:
    """The weights, from model.safetensors or its shards; a pickle alone is refused."""
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        files = sorted(set(_read_json(index).get("weight_map", {}).values()))
    elif (directory / "model.safetensors").is_file():
        files = ["model.safetensors"]
    else:
        pickles = sorted(p.name for pattern in PICKLES for p in directory.glob(pattern))
        if pickles:
            raise SeqcliError(_pickle_message(directory, pickles[0]))
        raise SeqcliError(f"{directory} has no model.safetensors (seqcli reads weights from safetensors only)")
    tensors: dict[str, torch.Tensor] = {}
    for name in files:
        try:
            tensors.update(load_file(str(directory / name)))
        except (SafetensorError, OSError) as e:
            raise SeqcliError(f"{directory / name}: not a readable safetensors file ({e})") from None
    return tensors


def _pickle_message(directory: Path, name: str) -> str:
    return (f"{directory / name} is a pickle checkpoint, which seqcli never loads (unpickling can run code); "
            "where you trust it, save it as safetensors: python -c \"from transformers import MarianMTModel as M; "
            f"M.from_pretrained('{directory}').save_pretrained('{directory}-safetensors')\" "
            f"and copy the tokenizer files beside it")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise SeqcliError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SeqcliError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise SeqcliError(f"{path}: expected a JSON object")
    return value


def _special(hf: dict[str, Any], key: str, fallback: str | None = None) -> int:
    """A special token's Marian id from config.json (eos may be a list: its first)."""
    value = hf.get(key, hf.get(fallback) if fallback else None)
    value = value[0] if isinstance(value, list) and value else value
    if not isinstance(value, int) or not 0 <= value < int(hf.get("vocab_size", 0)):
        raise SeqcliError(f"config.json: {key} {value!r} is not a token id of the vocabulary")
    return value


def _generation(directory: Path) -> dict[str, Any]:
    """The checkpoint's decoding defaults (beams, length), to tell the user; {} when absent.

    generation_config.json holds them; older checkpoints keep them in config.json.
    """
    found: dict[str, Any] = {}
    for name in ("config.json", "generation_config.json"):
        try:
            found.update(_read_json(directory / name) if (directory / name).is_file() else {})
        except SeqcliError:
            continue
    return {k: found[k] for k in ("num_beams", "max_length") if k in found}


def _with_context(where: Path, build: Callable[[], T]) -> T:
    """Run build(); a SeqcliError it raises gets `where` in front, to say which file is wrong."""
    try:
        return build()
    except SeqcliError as e:
        raise SeqcliError(f"{where}: {e}") from None


__all__ = ["Imported", "fetch", "import_marian", "locate"]
