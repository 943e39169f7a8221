"""Configuration: frozen dataclasses, every default in one place.

Precedence, lowest first: dataclass defaults < architecture preset (registry) <
TOML file (`--config`) < command-line flags. An unknown key is an error that
suggests the closest valid one.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from seqcli.core.errors import SeqcliError, unknown
from seqcli.models.base import ModelConfig
from seqcli.models.registry import SIZES, get_arch


@dataclass(frozen=True)
class TrainConfig:
    """Everything `seqcli train` needs besides the model's own fields."""

    arch: str = "transformer"
    size: str = "small"
    corpus: str = "aurora"
    src: str | None = None
    tgt: str | None = None
    test_set: str | None = None
    out: str | None = None  # default: runs/<arch>
    steps: int | None = None  # default: the architecture's preset
    epochs: float | None = None
    time_budget: float | None = None  # seconds
    batch_tokens: int = 2048  # CPU-friendly: more updates per minute; raise it on a GPU
    accumulate: int = 1  # batches per optimizer step (gradient accumulation)
    lr: float | None = None  # default: the architecture's preset
    schedule: str | None = None  # noam | inverse_sqrt | constant
    warmup: int | None = None
    label_smoothing: float = 0.1
    clip: float = 1.0
    dropout: float | None = None  # default: the model preset
    seed: int = 1
    device: str = "auto"
    save_every: int | None = None  # steps; default: about once a minute
    eval_every: int | None = None  # steps; default: about ten times a run
    patience: int = 0  # validations without BLEU gain before stopping; 0 = never
    tokenizer: str = "bpe"  # bpe | word
    vocab_size: int | None = None  # per side; default: see setup.default_vocab_size
    joint_vocab: bool = False
    max_tokens: int = 200  # training pairs longer than this (in tokens) are dropped
    valid_bleu_sentences: int = 300  # greedy BLEU on this many validation pairs
    compile: bool = False  # torch.compile the training forward
    model: dict[str, Any] = field(default_factory=dict)  # overrides of model fields


SCHEDULES = ("noam", "inverse_sqrt", "constant")
TOKENIZERS = ("bpe", "word")


def parse_duration(text: str) -> float:
    """Parse '90', '90s', '5m', '1h', '1m30s' into seconds."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise SeqcliError(f"cannot read duration {text!r}; use e.g. 90s, 5m, 1h")
        scale = {"h": 3600, "m": 60, "s": 1}
        seconds = sum(float(n) * scale[u] for n, u in parts)
    if seconds <= 0:
        raise SeqcliError(f"duration must be positive, got {text!r}")
    return seconds


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config: top-level keys are TrainConfig fields, [model] overrides the model."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SeqcliError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise SeqcliError(f"{path}: invalid TOML: {e}") from None


def _check_keys(kind: str, given: dict[str, Any], valid: list[str]) -> None:
    for key in given:
        if key not in valid:
            raise unknown(kind, key, valid)


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Convert a string from --set key=value to the field's type."""
    if not isinstance(value, str) or hint in (str, "str"):
        return value
    text = str(hint)
    try:
        if "bool" in text:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if "int" in text:
            return int(value)
        if "float" in text:
            return float(value)
    except ValueError:
        raise SeqcliError(f"{name}: cannot read {value!r} as {text}") from None
    return value


def make_train_config(toml: dict[str, Any] | None = None, flags: dict[str, Any] | None = None) -> TrainConfig:
    """Merge TOML values and flags (None = not given) over the defaults."""
    toml = dict(toml or {})
    model_toml = toml.pop("model", {}) or {}
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    model_flags = flags.pop("model", {}) or {}
    names = [f.name for f in dataclasses.fields(TrainConfig) if f.name != "model"]
    _check_keys("config key", toml, names)
    _check_keys("option", flags, names)
    merged = {**toml, **flags, "model": {**model_toml, **model_flags}}
    config = TrainConfig(**merged)
    validate_train_config(config)
    return config


def validate_train_config(c: TrainConfig) -> None:
    """Reject values that cannot work, with the reason."""

    get_arch(c.arch)
    if c.size not in SIZES:
        raise unknown("size", c.size, SIZES)
    if c.schedule is not None and c.schedule not in SCHEDULES:
        raise unknown("schedule", c.schedule, SCHEDULES)
    if c.tokenizer not in TOKENIZERS:
        raise unknown("tokenizer", c.tokenizer, TOKENIZERS)
    for name in ("steps", "epochs", "time_budget", "batch_tokens", "accumulate", "lr", "vocab_size", "max_tokens"):
        value = getattr(c, name)
        if value is not None and value <= 0:
            raise SeqcliError(f"--{name.replace('_', '-')} must be positive, got {value}")
    for name in ("warmup", "save_every", "eval_every", "patience"):
        value = getattr(c, name)
        if value is not None and value < 0:
            raise SeqcliError(f"--{name.replace('_', '-')} must not be negative, got {value}")
    if not 0 <= c.label_smoothing < 1:
        raise SeqcliError(f"--label-smoothing must be in [0, 1), got {c.label_smoothing}")
    if c.dropout is not None and not 0 <= c.dropout < 1:
        raise SeqcliError(f"--dropout must be in [0, 1), got {c.dropout}")


def make_model_config(
    arch_name: str,
    size: str,
    src_vocab: int,
    tgt_vocab: int,
    overrides: dict[str, Any] | None = None,
    dropout: float | None = None,
) -> ModelConfig:
    """Build the model config: class defaults < arch fixed settings < size preset < overrides."""

    arch = get_arch(arch_name)
    cls = arch.config
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    overrides = dict(overrides or {})
    _check_keys(f"model field for {arch_name}", overrides, [n for n in names if "vocab" not in n])
    values = {**arch.fixed, **arch.sizes.get(size, {})}
    values.update({k: _coerce(k, v, hints[k]) for k, v in overrides.items()})
    if dropout is not None:
        values["dropout"] = dropout
    values.update(src_vocab=src_vocab, tgt_vocab=tgt_vocab)
    return cls(**values)


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """Parse repeated --set key=value flags."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SeqcliError(f"--set expects key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out
