"""The run directory: every file written atomically, loaded without unpickling.

Layout of a run directory:
    config.json             format version, versions, resolved train + model config
    src_tokenizer.json      HF tokenizers JSON
    tgt_tokenizer.json
    model.safetensors       the latest weights
    best.safetensors        the best weights by validation BLEU (what translate uses)
    train_state.safetensors weights + optimizer + RNG in ONE file, so a resume never
                            sees weights and optimizer from different steps; its
                            metadata holds step, data position, schedule and scores
    metrics.jsonl           one JSON object per measurement
    .lock                   the pid of the training that owns the directory
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from seqcli import __version__
from seqcli.core.device import resolve_precision
from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.data.tokenizers import Tokenizer
from seqcli.models.base import ModelConfig, Seq2Seq
from seqcli.models.registry import Arch, get_arch
from seqcli.runs.config import TrainConfig

FORMAT = 1  # bump when the layout changes; newer formats are refused with a clear error
CONFIG, MODEL, BEST, STATE, METRICS, LOCK = (
    "config.json", "model.safetensors", "best.safetensors", "train_state.safetensors",
    "metrics.jsonl", ".lock",
)
SRC_TOK, TGT_TOK = "src_tokenizer.json", "tgt_tokenizer.json"


def append_metrics(run_dir: Path, record: dict[str, Any]) -> None:
    """Append one measurement to metrics.jsonl (flushed; a torn last line is skipped on read)."""
    try:
        with open(run_dir / METRICS, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
    except OSError as e:
        raise SeqcliError(f"could not append to {run_dir / METRICS}: {e.strerror or e}; "
                          "the checkpoints already written are kept") from None


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Read metrics.jsonl, skipping a torn last line left by a crash."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


# ---- the lock -----------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """One training per run directory; a lock left by a dead process is taken over."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK

    def acquire(self) -> None:
        """Take the lock or raise a SeqcliError naming the owner."""
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise SeqcliError(
                        f"{self.path.parent} is in use by another training (pid {pid}); "
                        "wait for it or choose another --out") from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return
        raise SeqcliError(f"could not lock {self.path.parent}")

    def release(self) -> None:
        """Remove the lock if it is ours."""
        try:
            if int(self.path.read_text().strip() or "0") == os.getpid():
                self.path.unlink()
        except (OSError, ValueError):
            pass


# ---- config.json and loading --------------------------------------------------------

def versions() -> dict[str, str]:
    """Versions recorded in config.json."""
    import sacrebleu
    import tokenizers

    return {"seqcli": __version__, "torch": torch.__version__, "tokenizers": tokenizers.__version__,
            "sacrebleu": sacrebleu.__version__}


def config_record(train: TrainConfig, model: ModelConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What config.json holds."""
    return {"format": FORMAT, "arch": train.arch, "versions": versions(), "train": asdict(train),
            "model": asdict(model), **(extra or {})}


def read_config(run_dir: Path) -> dict[str, Any]:
    """Read and check config.json: present, JSON, a format this version understands."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise SeqcliError(f"run directory not found: {run_dir}")
    if not run_dir.is_dir():
        raise SeqcliError(f"{run_dir} is not a directory")
    path = run_dir / CONFIG
    if not path.exists():
        raise SeqcliError(f"{run_dir} is not a seqcli run (no {CONFIG}); train one with `seqcli train --out {run_dir}`")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SeqcliError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(record, dict) or "train" not in record or "model" not in record:
        raise SeqcliError(f"{path}: missing 'train' or 'model' section")
    fmt = record.get("format")
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise SeqcliError(f"{path}: run format {fmt} is newer than this seqcli understands "
                          f"(format {FORMAT}); upgrade seqcli")
    return record


@dataclass
class Run:
    """A loaded run: model in eval mode plus everything needed to use it."""

    path: Path
    arch: Arch
    train_config: TrainConfig
    model_config: ModelConfig
    model: Seq2Seq[Any, Any]  # any family: its Memory and State types are its own business
    src_tok: Tokenizer
    tgt_tok: Tokenizer
    record: dict[str, Any]
    precision: str = "fp32"  # what decoding runs in: "fp32" | "bf16" (autocast)


def build_model(arch: Arch, model_config: ModelConfig) -> Seq2Seq[Any, Any]:
    """Instantiate the registry's model class from its config."""
    return arch.model(model_config)


def model_config_from(arch: Arch, values: dict[str, Any]) -> ModelConfig:
    """Rebuild a model config from config.json, rejecting unknown fields."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(arch.config)}
    bad = sorted(set(values) - names)
    if bad:
        raise SeqcliError(f"config.json: unknown model fields for {arch.name}: {', '.join(bad)}")
    return arch.config(**values)


def train_config_from(values: dict[str, Any]) -> TrainConfig:
    """Rebuild the train config from config.json, rejecting unknown fields."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    bad = sorted(set(values) - names)
    if bad:
        raise SeqcliError(f"config.json: unknown train fields: {', '.join(bad)}")
    if values.get("schedule") == "constant" and values.get("warmup"):
        # Runs recorded before the split: their "constant" ramped up over --warmup, "warmup_constant" now.
        values = {**values, "schedule": "warmup_constant"}
    return TrainConfig(**values)


def load_weights(model: torch.nn.Module, path: Path) -> dict[str, Any]:
    """Load weights into a model, checking names and shapes; returns the file's metadata."""
    tensors, meta = read_tensors(path)
    tensors = {k[len("model."):] if k.startswith("model.") else k: v for k, v in tensors.items()
               if not k.startswith(("optim.", "rng."))}
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    if missing:
        raise SeqcliError(f"{path}: weights do not match the {len(own)}-tensor model in config.json "
                          f"(missing {missing[0]}{' …' if len(missing) > 1 else ''})")
    for name, value in tensors.items():
        if name in own and own[name].shape != value.shape:
            raise SeqcliError(f"{path}: tensor {name} has shape {tuple(value.shape)}, the model expects "
                              f"{tuple(own[name].shape)}; do the tokenizers and config match the weights?")
    model.load_state_dict({k: v for k, v in tensors.items() if k in own})
    return meta


def latest_run(root: Path = Path("runs")) -> Path:
    """The most recently written run directory under root."""
    candidates = [p.parent for p in Path(root).glob("*/" + CONFIG)] if Path(root).is_dir() else []
    if not candidates:
        raise SeqcliError(f"no trained run under ./{root}; train one with `seqcli train` or pass --model RUN")

    def written(p: Path) -> float:
        files = [p / n for n in (BEST, MODEL, CONFIG) if (p / n).exists()]
        return max(f.stat().st_mtime for f in files)

    return max(candidates, key=written)


def load_run(path: str | Path | None = None, device: str | torch.device = "cpu", checkpoint: str = "best",
             precision: str = "auto") -> Run:
    """Load a run for inference: config, tokenizers, weights (best, else last); eval mode.

    precision: auto | fp32 | bf16, resolved for the device (`core.device.resolve_precision`).
    """

    run_dir = Path(path) if path is not None else latest_run()
    record = read_config(run_dir)
    arch = get_arch(str(record.get("arch", record["train"].get("arch"))))
    train_config = train_config_from(record["train"])
    model_config = model_config_from(arch, record["model"])
    src_tok = Tokenizer.load(run_dir / SRC_TOK)
    tgt_tok = Tokenizer.load(run_dir / TGT_TOK)
    if (src_tok.vocab_size, tgt_tok.vocab_size) != (model_config.src_vocab, model_config.tgt_vocab):
        raise SeqcliError(f"{run_dir}: tokenizers ({src_tok.vocab_size}/{tgt_tok.vocab_size} tokens) do not match "
                          f"the model ({model_config.src_vocab}/{model_config.tgt_vocab})")
    model = build_model(arch, model_config)
    names = [BEST, MODEL] if checkpoint == "best" else [MODEL]
    weights = next((run_dir / n for n in names if (run_dir / n).exists()), None)
    if weights is None:
        raise SeqcliError(f"{run_dir}: no weights ({MODEL}); the training may not have saved yet")
    load_weights(model, weights)
    model.to(device).eval()
    used = resolve_precision(precision, torch.device(device), model_config.d_model)
    return Run(run_dir, arch, train_config, model_config, model, src_tok, tgt_tok, record, used)
