"""Every default of a training, in one frozen dataclass, and the names it accepts.

Light on purpose (no torch): the command line reads these defaults for its --help at
import time. `seqcli.runs.config` merges TOML and flags over them and validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqcli.models.catalog import DEFAULT_ARCH


@dataclass(frozen=True)
class TrainConfig:
    """Everything `seqcli train` needs besides the model's own fields."""

    arch: str = DEFAULT_ARCH
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
    batch_sents: int | None = None  # sentences per batch instead of a token budget
    accumulate: int = 1  # batches per optimizer step (gradient accumulation)
    # None: the architecture's preset (registry TrainDefaults), resolved when a run is
    # prepared, so its config.json records the values its schedule used.
    lr: float | None = None
    schedule: str | None = None  # noam | inverse_sqrt | warmup_constant | constant
    warmup: int | None = None
    label_smoothing: float = 0.1
    clip: float = 1.0
    dropout: float | None = None  # default: the model preset
    seed: int = 1
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 (autocast); the one used is in config.json
    save_every: int | None = None  # steps; default: about once a minute
    eval_every: int | None = None  # steps; default: about six times a run
    patience: int = 0  # validations without BLEU gain before stopping; 0 = never
    tokenizer: str = "bpe"  # bpe | word
    vocab_size: int | None = None  # per side; None: from the corpus (tokenizers.default_vocab_size), recorded
    joint_vocab: bool = False
    max_tokens: int = 200  # training pairs longer than this (in tokens) are dropped
    valid_bleu_sentences: int = 300  # greedy BLEU on this many validation pairs
    compile: bool = False  # torch.compile the training forward
    model: dict[str, Any] = field(default_factory=dict)  # overrides of model fields


SCHEDULES = ("noam", "inverse_sqrt", "warmup_constant", "constant")
TOKENIZERS = ("bpe", "word")  # what a training learns
IMPORTED_TOKENIZERS = ("sentencepiece",)  # what a run made by `seqcli import` holds (resumable, not learnable)
