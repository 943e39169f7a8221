"""Configuration: frozen dataclasses, every default in one place.

The defaults are TrainConfig's (`seqcli.runs.defaults`, re-exported here) and the
registry's presets. Precedence, lowest first: dataclass defaults < architecture
preset (registry) < TOML file (`--config`) < command-line flags. An unknown key is
an error that suggests the closest valid one.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any, get_type_hints

from seqcli.core.errors import SeqcliError, unknown
from seqcli.models.base import ModelConfig
from seqcli.models.catalog import SHORTCUTS
from seqcli.models.registry import SIZES, get_arch, shortcut_archs
from seqcli.runs.defaults import IMPORTED_TOKENIZERS
from seqcli.runs.defaults import SCHEDULES as SCHEDULES  # re-exported, as are the next two
from seqcli.runs.defaults import TOKENIZERS as TOKENIZERS
from seqcli.runs.defaults import TrainConfig as TrainConfig


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
    if c.schedule == "constant" and c.warmup:
        raise SeqcliError(f"--warmup {c.warmup} has no effect with --schedule constant (the rate is --lr from the "
                          "first step); use --schedule warmup_constant for a linear warmup to --lr")
    if c.tokenizer not in TOKENIZERS and c.tokenizer not in IMPORTED_TOKENIZERS:
        raise unknown("tokenizer", c.tokenizer, TOKENIZERS)
    for name in ("steps", "epochs", "time_budget", "batch_tokens", "accumulate", "lr", "vocab_size", "max_tokens",
                 "batch_sents"):
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
    settable = [n for n in names if n not in cls.vocab_fields]
    for option, shortcut in SHORTCUTS.items():  # --attention hard on an arch without that field
        if shortcut.field in overrides and shortcut.field not in settable:
            raise SeqcliError(f"--{option} (--set {shortcut.field}=...) applies to "
                              f"{', '.join(shortcut_archs(option))}, not {arch_name}")
    _check_keys(f"model field for {arch_name}", overrides, settable)
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
