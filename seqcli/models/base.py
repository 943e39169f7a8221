"""The one interface every architecture implements.

Training, decoding, attention rendering and comparison talk to models only through
`Seq2Seq.encode`, `Seq2Seq.decode` and `Batched.select`, so none of them branches on
the architecture (DESIGN.md, "The one interface").

`Seq2Seq[MemoryT, StateT]` is generic in its memory and state types: each family
names its own (`Seq2Seq[RecurrentMemory, RecurrentState]`), so its `decode` takes
exactly what its `encode` and last `Step` gave, and code that drives any model
(beam search) is generic over both and cannot mix one model's state with another's.

Shape legend, used by the shape comments in every model file:
    B batch, S source length, T target length, H heads, D model width,
    Dh head width, V vocabulary, L layers, K context window (feedforward model).

Mask convention, declared once: masks are bool and True marks a real token.
Token ids are fixed by the tokenizers: pad 0, unk 1, bos 2, eos 3.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Self, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import BOS, EOS, PAD, UNK  # noqa: F401  (re-exported for the models)


def _select(value: Any, index: Tensor) -> Any:
    """Reorder one field along its batch dimension (dim 0)."""
    if isinstance(value, Tensor):
        return value.index_select(0, index)
    if isinstance(value, Batched):
        return value.select(index)
    if isinstance(value, tuple | list):
        return type(value)(_select(v, index) for v in value)
    if isinstance(value, dict):
        return {k: _select(v, index) for k, v in value.items()}
    return value  # None, ints, flags: not batched


class Batched:
    """Mixin for dataclasses whose tensors are all batch-first.

    `select(index)` keeps/reorders/repeats batch rows: beam search uses it to expand
    a memory to `beam` rows per sentence and to follow surviving beams.
    """

    # Batched is only mixed into dataclasses (Memory, State and every family's own);
    # declaring the attribute @dataclass adds lets the type checker see that too.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def select(self, index: Tensor) -> Self:
        """Return a copy with every tensor field indexed along dim 0."""
        changes = {f.name: _select(getattr(self, f.name), index) for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **changes)


@dataclass
class Memory(Batched):
    """What the decoder needs from the source. Families subclass it to add fields.

    mask: [B, S] bool, True = real source token.
    attention: encoder self-attention maps ([B, H, S, S]) when weights were asked for.
    """

    mask: Tensor
    attention: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class State(Batched):
    """A decoder's state between steps (hidden state, key/value cache, ...).

    An explicit value, never a cache hidden in a module (STYLE.md, point 7).
    """


MemoryT = TypeVar("MemoryT", bound=Memory)
StateT = TypeVar("StateT", bound=State)


@dataclass
class Step(Generic[StateT]):
    """The result of one `decode` call.

    logits: [B, T, V] scores for the next token at every position of `tgt_in`.
    state: the state after the last position of `tgt_in`; pass it back to go on.
    attention: named maps, each [B, H, T, S']: "cross.<layer>" (target over source),
        "decoder-self.<layer>" (S' = target positions so far). Empty when the model
        has no attention (or, for models where weights cost extra, when not asked).
    """

    logits: Tensor
    state: StateT
    attention: dict[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelConfig:
    """Fields every architecture has; each family's config subclasses it.

    Every default lives in the family's config class; size presets in the registry
    override them; the user's TOML and --set flags override those.
    """

    src_vocab: int = 0  # filled in from the trained tokenizers
    tgt_vocab: int = 0
    d_model: int = 256  # embedding width
    dropout: float = 0.1
    max_len: int = 512  # longest sequence (tokens) the model accepts

    # What each field is, declared here so that code outside models/ never guesses it
    # from a field's name. Vocabulary sizes come from the trained tokenizers, never
    # from the user; rates are probabilities, in [0, 1). Families extend the tuples.
    vocab_fields: ClassVar[tuple[str, ...]] = ("src_vocab", "tgt_vocab")
    rate_fields: ClassVar[tuple[str, ...]] = ("dropout",)

    def check_values(self) -> None:
        """Reject values no model can be built with (from --set or TOML [model]), naming the field."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or f.name in self.vocab_fields:
                continue
            if f.name in self.rate_fields:
                if not 0 <= value < 1:
                    raise SeqcliError(f"model field {f.name} must be in [0, 1), got {value}")
            elif isinstance(value, int) and value < 1:
                raise SeqcliError(f"model field {f.name} must be at least 1, got {value}")


class Seq2Seq(nn.Module, Generic[MemoryT, StateT]):
    """Base class: an encoder-decoder behind the one interface.

    Subclasses fix the type parameters to their own `Memory` and `State` classes
    and set `has_attention` (a capability flag consumers check instead of
    the type) and `attention_maps` (the map kinds their decode/encode can return).
    """

    has_attention: ClassVar[bool] = False
    attention_maps: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @property
    def hard_attention(self) -> bool:
        """Whether each attention row is one-hot: one source position chosen, not a soft mix."""
        return False

    def source_embedding(self) -> nn.Embedding:
        """The table that embeds source tokens (`attend --explain` computes with its rows)."""
        raise NotImplementedError

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> MemoryT:
        """Encode src [B, S] (mask [B, S]) into whatever the decoder needs."""
        raise NotImplementedError

    def decode(
        self,
        memory: MemoryT,
        tgt_in: Tensor,
        state: StateT | None = None,
        need_weights: bool = False,
    ) -> Step[StateT]:
        """Score the next token after each position of tgt_in [B, T].

        state=None: start from the beginning of the target (teacher forcing over the
        whole prefix, in parallel where the model allows). With a state from a
        previous Step: continue from there (incremental decoding, usually T = 1).
        Both paths give the same logits for the same tokens (a contract test).
        """
        raise NotImplementedError

    def forward(self, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> Tensor:
        """Teacher-forced logits [B, T, V]; what the training loop (and DDP) calls."""
        return self.decode(self.encode(src, src_mask), tgt_in).logits

    def num_parameters(self) -> int:
        """Count trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


# PyTorch's CPU softmax takes a scalar loop when the last dim is shorter than this:
# over [1280, S] it took 11 µs per unit of S (167 µs at S = 14) against ~30 µs for any
# S from 16 to 40 (bench/README.md, "Decoding profile").
_SHORT_ROW = 16


def softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim; on a CPU, short rows are padded with -inf to take the fast kernel."""
    S = scores.size(-1)
    if S >= _SHORT_ROW or scores.device.type != "cpu":
        return torch.softmax(scores, dim=-1)
    return torch.softmax(F.pad(scores, (0, _SHORT_ROW - S), value=-math.inf), dim=-1)[..., :S]


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last dim where mask is True; exact zeros elsewhere.

    mask broadcasts against scores. A row with no True entry gives all zeros
    instead of NaN.
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.nan_to_num(softmax(scores), nan=0.0)


class Dropout(nn.Dropout):
    """nn.Dropout with a cheaper random mask on a CPU; nn.Dropout itself elsewhere.

    PyTorch's CPU dropout draws a full random number per element from its sequential
    generator, then builds and scales a float mask: at the sizes of a training step it
    took a sixth of a CPU step (bench/README.md, "Training profile"). Here one 64-bit
    draw gives four elements 16 random bits each, and an element is kept when its bits
    clear a threshold: the keep probability 1 - p, to within 1/65536, at half the time.
    The bits come from torch's own generator, so `torch.manual_seed` and the RNG state
    a checkpoint saves fix the masks, as they fix nn.Dropout's. A GPU's fused dropout
    is fast already, and there this class is plain nn.Dropout.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0 or x.device.type != "cpu":
            out: Tensor = super().forward(x)
            return out
        return x * keep_mask(x, self.p)


def keep_mask(x: Tensor, p: float) -> Tensor:
    """A mask shaped like x: 1 / (1 - p) with probability 1 - p, else 0 (x's dtype)."""
    n = x.numel()
    bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), 2**63 - 1)  # uniform 64-bit words
    keep = bits.view(torch.int16)[:n].view(x.shape) >= -32768 + round(p * 65536)  # [...]: P = 1 - p
    return keep.to(x.dtype).mul_(1.0 / (1.0 - p))
