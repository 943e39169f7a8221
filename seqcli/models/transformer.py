"""The Transformer (Vaswani et al. 2017, Attention Is All You Need).

No recurrence: the encoder and decoder are stacks of multi-head attention and
position-wise feed-forward layers (3.1), so every position of a sentence is
processed in parallel. Order enters only through sinusoidal positional encodings
added to the scaled embeddings (3.4, 3.5). The decoder's self-attention is causal
(each position sees only earlier ones) and a second attention looks at the
encoder's output (3.2.3).

Incremental decoding keeps each decoder layer's self-attention keys and values in
an explicit `KeyValueCache`; the encoder-decoder keys and values are projected once
per sentence in `encode` and kept in `TransformerMemory`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.core.errors import SeqcliError, unknown
from seqcli.models.attention import Attended, MultiHeadAttention
from seqcli.models.base import Dropout, Memory, ModelConfig, Seq2Seq, State, Step

# The FFN's non-linearity by name; swish and silu are one function (Ramachandran et al. 2017).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu, "gelu": F.gelu, "swish": F.silu, "silu": F.silu}
POSITION_LAYOUTS = ("interleaved", "concatenated")


@dataclass(frozen=True)
class TransformerConfig(ModelConfig):
    """Transformer hyper-parameters; defaults are the paper's base model (Table 3).

    max_len only sizes the precomputed position table: longer sequences still work.
    """

    d_model: int = 512
    heads: int = 8
    layers: int = 6  # encoder and decoder layers, unless set apart below
    enc_layers: int | None = None  # None = layers
    dec_layers: int | None = None  # None = layers
    ffn: int = 2048  # inner width of the position-wise feed-forward network (d_ff)
    dropout: float = 0.1  # P_drop (5.4): sublayer outputs, embedding sums, inside the FFN
    # Dropout on attention weights: not in the paper, and any makes PyTorch leave its
    # fused attention kernel for the explicit one while training.
    attention_dropout: float = 0.0
    rate_fields = ("dropout", "attention_dropout")  # probabilities (ModelConfig.rate_fields)
    pre_norm: bool = False  # False: LayerNorm(x + Sublayer(x)) as in the paper
    tie_embeddings: bool = True  # target embedding = pre-softmax projection (3.4)
    # The options below keep the paper's choices by default; other values describe
    # Transformers trained elsewhere, e.g. MarianMT (seqcli import): swish, sines then
    # cosines, one table for source, target and output.
    activation: str = "relu"  # inside the FFN: relu (3.3) | gelu | swish (= silu)
    positions: str = "interleaved"  # sinusoid layout: sin/cos interleaved (3.5) | concatenated
    scale_embeddings: bool = True  # multiply embeddings by √d_model before adding positions (3.4)
    share_embeddings: bool = False  # one table for source and target tokens (one vocabulary)

    def __post_init__(self) -> None:
        if self.heads < 1 or self.d_model % self.heads:
            raise SeqcliError(
                f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})"
            )
        if self.activation not in ACTIVATIONS:
            raise unknown("activation", self.activation, ACTIVATIONS)
        if self.positions not in POSITION_LAYOUTS:
            raise unknown("positions layout", self.positions, POSITION_LAYOUTS)
        if self.share_embeddings and self.src_vocab != self.tgt_vocab:
            raise SeqcliError(f"share_embeddings needs one vocabulary for both sides, got "
                              f"{self.src_vocab} source and {self.tgt_vocab} target tokens (--joint-vocab)")
        for name in ("layers", "enc_layers", "dec_layers", "ffn", "max_len"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SeqcliError(f"{name} must be at least 1, got {value}")
        if not 0 <= self.attention_dropout < 1:
            raise SeqcliError(f"attention_dropout must be in [0, 1), got {self.attention_dropout}")

    @property
    def encoder_layers(self) -> int:
        """Number of encoder layers."""
        return self.layers if self.enc_layers is None else self.enc_layers

    @property
    def decoder_layers(self) -> int:
        """Number of decoder layers."""
        return self.layers if self.dec_layers is None else self.dec_layers


@dataclass(kw_only=True)
class TransformerMemory(Memory):
    """The encoded source, ready for every decoder layer.

    keys, values: per decoder layer, that layer's encoder-decoder attention keys and
        values [B, H, S, Dh], projected once here so decoding steps never redo it.
    """

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]


@dataclass
class KeyValueCache(State):
    """Self-attention keys and values of the target positions decoded so far.

    keys, values: per decoder layer, [B, H, t, Dh]; t grows by one per step.
    """

    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        """Number of target positions in the cache (t)."""
        return self.keys[0].size(2)


def positional_encoding(length: int, d_model: int, layout: str = "interleaved") -> Tensor:
    """Sinusoidal position encodings [length, D] (3.5).

    PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same): each
    dimension is a sinusoid of its own wavelength, from 2π to 10000·2π, so a fixed
    offset k is a linear map of the encoding and nothing needs to be learned.
    layout "concatenated" holds the same sinusoids as all sines, then all cosines
    (tensor2tensor's and Marian's order): only the order of the dimensions differs.
    """
    # Angles in float64, cast once: position 500 times a rate near 1 keeps its digits.
    position = torch.arange(length, dtype=torch.float64)[:, None]  # [L, 1]
    # 1 / 10000^(2i/d) for the even dimensions 2i, in log space for precision.
    rate = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model)
    )
    angle = position * rate  # [L, 1] * [D/2] -> [L, D/2]
    sines, cosines = torch.sin(angle), torch.cos(angle[:, : d_model // 2])  # odd d_model: one fewer cosine
    if layout == "concatenated":
        return torch.cat([sines, cosines], dim=1).float()  # [L, D]
    encoding = torch.zeros(length, d_model, dtype=torch.float64)
    encoding[:, 0::2] = sines
    encoding[:, 1::2] = cosines
    return encoding.float()


class PositionwiseFeedForward(nn.Module):
    """FFN(x) = max(0, x W1 + b1) W2 + b2, the same at every position (3.3)."""

    def __init__(self, d_model: int, ffn: int, dropout: float, activation: str = "relu") -> None:
        super().__init__()
        self.inner = nn.Linear(d_model, ffn)  # W1, b1
        self.outer = nn.Linear(ffn, d_model)  # W2, b2
        self.dropout = Dropout(dropout)
        self.activation = ACTIVATIONS[activation]  # max(0, ·) in the paper

    def forward(self, x: Tensor) -> Tensor:
        """Transform x [B, T, D] position by position: [B, T, D] -> [B, T, F] -> [B, T, D]."""
        y: Tensor = self.outer(self.dropout(self.activation(self.inner(x))))
        return y


class Residual(nn.Module):
    """Residual connection and layer norm around one sublayer (3.1, 5.4).

    post-LN (the paper): LayerNorm(x + Dropout(Sublayer(x))).
    pre-LN: x + Dropout(Sublayer(LayerNorm(x))); trains more stably without warmup,
    and needs one final LayerNorm after the stack.
    Use as `x = r.after(x, sublayer(r.before(x)))`.
    """

    def __init__(self, d_model: int, dropout: float, pre_norm: bool) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.dropout = Dropout(dropout)
        self.pre_norm = pre_norm

    def before(self, x: Tensor) -> Tensor:
        """The sublayer's input: x, normalised first under pre-LN."""
        return self.norm(x) if self.pre_norm else x

    def after(self, x: Tensor, sublayer_out: Tensor) -> Tensor:
        """Add the sublayer's output to the residual stream (normalising under post-LN)."""
        y: Tensor = x + self.dropout(sublayer_out)
        return y if self.pre_norm else self.norm(y)


class EncoderLayer(nn.Module):
    """One encoder layer (3.1): self-attention, then the position-wise FFN."""

    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(c.d_model, c.heads, c.attention_dropout)
        self.feed_forward = PositionwiseFeedForward(c.d_model, c.ffn, c.dropout, c.activation)
        self.attention_residual = Residual(c.d_model, c.dropout, c.pre_norm)
        self.ffn_residual = Residual(c.d_model, c.dropout, c.pre_norm)

    def forward(self, x: Tensor, mask: Tensor, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """Encode x [B, S, D] (mask [B, S]); return it and the weights [B, H, S, S] if asked."""
        r = self.attention_residual
        attended = self.self_attention(r.before(x), key_mask=mask, need_weights=need_weights)
        x = r.after(x, attended.output)
        x = self.ffn_residual.after(x, self.feed_forward(self.ffn_residual.before(x)))
        return x, attended.weights


class DecoderLayer(nn.Module):
    """One decoder layer (3.1): causal self-attention, encoder-decoder attention, FFN."""

    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.self_attention = MultiHeadAttention(c.d_model, c.heads, c.attention_dropout)
        self.cross_attention = MultiHeadAttention(c.d_model, c.heads, c.attention_dropout)
        self.feed_forward = PositionwiseFeedForward(c.d_model, c.ffn, c.dropout, c.activation)
        self.self_residual = Residual(c.d_model, c.dropout, c.pre_norm)
        self.cross_residual = Residual(c.d_model, c.dropout, c.pre_norm)
        self.ffn_residual = Residual(c.d_model, c.dropout, c.pre_norm)

    def forward(
        self,
        x: Tensor,
        source: tuple[Tensor, Tensor],
        source_mask: Tensor,
        cache: tuple[Tensor, Tensor] | None,
        need_weights: bool,
    ) -> tuple[Tensor, Attended, Attended]:
        """Decode x [B, T, D] against the source's keys/values [B, H, S, Dh].

        cache: this layer's self-attention keys/values of earlier target positions.
        Returns x, the self-attention (its keys/values are the new cache) and the
        encoder-decoder attention.
        """
        r = self.self_residual
        own = self.self_attention(r.before(x), causal=True, cache=cache, need_weights=need_weights)
        x = r.after(x, own.output)
        r = self.cross_residual
        cross = self.cross_attention(
            r.before(x), projected=source, key_mask=source_mask, need_weights=need_weights
        )
        x = r.after(x, cross.output)
        x = self.ffn_residual.after(x, self.feed_forward(self.ffn_residual.before(x)))
        return x, own, cross


class Transformer(Seq2Seq[TransformerMemory, KeyValueCache]):
    """Encoder-decoder Transformer (Vaswani et al. 2017, section 3)."""

    has_attention = True
    attention_maps = ("cross", "encoder-self", "decoder-self")
    config: TransformerConfig
    positions: Tensor  # [max_len, D], a buffer registered in __init__

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        c = config
        self.tgt_embed = nn.Embedding(c.tgt_vocab, c.d_model)
        # Shared, the source reads the target's table: one tensor in the state dict.
        self.src_embed = None if c.share_embeddings else nn.Embedding(c.src_vocab, c.d_model)
        # A fixed table up to max_len, rebuilt on load: not saved with the weights.
        self.register_buffer(
            "positions", positional_encoding(c.max_len, c.d_model, c.positions), persistent=False
        )
        self.embed_dropout = Dropout(c.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.decoder_layers))
        # Pre-LN leaves the residual stream unnormalised: close each stack with a norm.
        self.encoder_norm = nn.LayerNorm(c.d_model) if c.pre_norm else nn.Identity()
        self.decoder_norm = nn.LayerNorm(c.d_model) if c.pre_norm else nn.Identity()
        # The pre-softmax projection (3.4). Tied, its matrix is the target embedding
        # itself, read at each call: the state dict then holds that tensor once
        # (safetensors refuses two names for one storage).
        self.output_weight = (
            None if c.tie_embeddings else nn.Parameter(torch.empty(c.tgt_vocab, c.d_model))
        )
        self.output_bias = nn.Parameter(torch.zeros(c.tgt_vocab))
        self._init_weights()

    def _init_weights(self) -> None:
        """Glorot-uniform matrices, zero biases, embeddings N(0, 1/d_model).

        The embedding scale makes √d_model · embedding unit-variance, comparable to
        the positional encoding, and keeps tied output logits near unit scale.
        """
        for name, p in self.named_parameters():
            if name.endswith("bias"):  # output_bias too
                nn.init.zeros_(p)
            elif p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for embed in [self.tgt_embed] if self.src_embed is None else [self.src_embed, self.tgt_embed]:
            nn.init.normal_(embed.weight, std=self.config.d_model**-0.5)

    def source_embedding(self) -> nn.Embedding:
        """The encoder's embedding table E (before the √d_model scale and positions)."""
        return self.tgt_embed if self.src_embed is None else self.src_embed

    def _embed(self, embed: nn.Embedding, tokens: Tensor, offset: int = 0) -> Tensor:
        """Embed tokens [B, T] at positions offset.. : √d_model · E[x] + PE, then dropout (3.4, 5.4)."""
        c = self.config
        end = offset + tokens.size(1)
        positions = self.positions
        if end > positions.size(0):
            # Sinusoids go on past the table (the paper's reason to prefer them, 3.5):
            # a long input or output is translated, not refused.
            positions = positional_encoding(end, c.d_model, c.positions).to(positions.device)
        x: Tensor = embed(tokens)  # [B, T, D]
        if c.scale_embeddings:
            x = x * math.sqrt(c.d_model)
        x = self.embed_dropout(x + positions[offset:end])  # [B, T, D] + [T, D]
        return x

    def encode(
        self, src: Tensor, src_mask: Tensor, need_weights: bool = False
    ) -> TransformerMemory:
        """Encode src [B, S] (mask [B, S]) and project each decoder layer's source keys/values."""
        x = self._embed(self.source_embedding(), src)
        attention: dict[str, Tensor] = {}
        for i, layer in enumerate(self.encoder):
            x, weights = layer(x, src_mask, need_weights)
            if weights is not None:
                attention[f"encoder-self.{i}"] = weights  # [B, H, S, S]
        x = self.encoder_norm(x)  # [B, S, D]
        # nn.ModuleList is untyped; __init__ fills self.decoder with DecoderLayers only.
        layers = cast("Iterable[DecoderLayer]", self.decoder)
        projected = [layer.cross_attention.keys_values(x) for layer in layers]
        return TransformerMemory(
            mask=src_mask,
            attention=attention,
            keys=tuple(k for k, _ in projected),
            values=tuple(v for _, v in projected),
        )

    def decode(
        self,
        memory: TransformerMemory,
        tgt_in: Tensor,
        state: KeyValueCache | None = None,
        need_weights: bool = False,
    ) -> Step[KeyValueCache]:
        """Score the next token after each position of tgt_in [B, T].

        state=None: the whole prefix at once under the causal mask (teacher forcing).
        A KeyValueCache: go on from its t positions (positions t .. t+T-1).
        Either way the returned state caches every position seen so far.
        """
        x = self._embed(self.tgt_embed, tgt_in, offset=0 if state is None else state.length)
        keys: list[Tensor] = []
        values: list[Tensor] = []
        attention: dict[str, Tensor] = {}
        for i, layer in enumerate(self.decoder):
            cache = None if state is None else (state.keys[i], state.values[i])
            source = (memory.keys[i], memory.values[i])
            x, own, cross = layer(x, source, memory.mask, cache, need_weights)
            keys.append(own.keys)
            values.append(own.values)
            if own.weights is not None and cross.weights is not None:
                attention[f"decoder-self.{i}"] = own.weights  # [B, H, T, t + T]
                attention[f"cross.{i}"] = cross.weights  # [B, H, T, S]
        weight = self.tgt_embed.weight if self.output_weight is None else self.output_weight
        # [B, T, D] @ [D, V] -> [B, T, V]
        logits = F.linear(self.decoder_norm(x), weight, self.output_bias)
        return Step(logits, KeyValueCache(tuple(keys), tuple(values)), attention)
