"""Attention, shared by the models: score functions and multi-head attention.

Two families live here, each citing its paper:
- alignment scores for RNN decoders: additive (Bahdanau et al. 2014) and
  multiplicative dot / general / concat (Luong et al. 2015);
- scaled dot-product and multi-head attention (Vaswani et al. 2017, 3.2).

Masks are bool, True = a real token (models/base.py). Weights are [B, H, T, S].
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqcli.models.base import masked_softmax

# ---- RNN alignment scores (Bahdanau, Luong) --------------------------------------

# ---- Scaled dot-product and multi-head attention (Vaswani et al. 2017) -----------


class Attended(NamedTuple):
    """What one multi-head attention call gives back.

    output: [B, T, D] the attended values, projected by W^O.
    weights: [B, H, T, S] attention weights, or None when they were not asked for.
    keys, values: [B, H, S, Dh] what the queries attended over, cached positions
        included, so a decoder can keep them as its key/value cache.
    """

    output: Tensor
    weights: Tensor | None
    keys: Tensor
    values: Tensor


def causal_mask(queries: int, keys: int, device: torch.device | None = None) -> Tensor:
    """Bool [T, S] mask (True = may attend) letting each query see itself and the past.

    The T queries are the last T of the S key positions (a cache holds the first
    S - T), so query i sits at position S - T + i and sees keys 0 .. S - T + i.
    """
    return torch.ones(queries, keys, dtype=torch.bool, device=device).tril(keys - queries)


def scaled_dot_product_attention(
    query: Tensor,
    keys: Tensor,
    values: Tensor,
    mask: Tensor | None = None,
    causal: bool = False,
    need_weights: bool = False,
    dropout: float = 0.0,
) -> tuple[Tensor, Tensor | None]:
    """Compute softmax(QKᵀ / √d_k) V (Vaswani et al. 2017, 3.2.1, equation 1).

    query [B, H, T, Dh]; keys, values [B, H, S, Dh]; mask broadcasts to
    [B, H, T, S], True = the key takes part; causal adds `causal_mask(T, S)`.
    Without need_weights this is PyTorch's fused kernel and no [T, S] weights are
    kept; with it, the formula written out, weights exactly 0 on masked keys.
    Returns the context [B, H, T, Dh] and the weights [B, H, T, S] (or None).
    """
    T, S = query.size(-2), keys.size(-2)
    if causal and T > 1:  # one query at the end of the keys sees them all
        if mask is None and T == S and not need_weights:
            # The fused kernel builds the triangle itself (top-left aligned, so only T == S).
            context = F.scaled_dot_product_attention(query, keys, values, dropout_p=dropout, is_causal=True)
            return context, None
        triangle = causal_mask(T, S, query.device)  # [T, S]
        mask = triangle if mask is None else mask & triangle
    if not need_weights:
        return F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, dropout_p=dropout), None
    # Scale the queries rather than the scores: [B, H, T, Dh] is smaller than [B, H, T, S].
    # [B, H, T, Dh] @ [B, H, Dh, S] -> [B, H, T, S]
    scores = (query / math.sqrt(query.size(-1))) @ keys.transpose(-2, -1)
    weights = torch.softmax(scores, dim=-1) if mask is None else masked_softmax(scores, mask)
    # Dropout on the weights used, not on the weights shown (rows still sum to 1).
    # [B, H, T, S] @ [B, H, S, Dh] -> [B, H, T, Dh]
    context = F.dropout(weights, dropout, training=dropout > 0) @ values
    return context, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention (Vaswani et al. 2017, 3.2.2).

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O with
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V): h heads, each of width d_k =
    d_model / h, attend in parallel over different learned projections.
    """

    def __init__(self, d_model: int, heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads = heads
        self.d_head = d_model // heads
        self.dropout = dropout  # on the attention weights
        # W^Q, W^K, W^V of all heads side by side: one matmul instead of h.
        self.query = nn.Linear(d_model, d_model, bias=bias)
        self.key = nn.Linear(d_model, d_model, bias=bias)
        self.value = nn.Linear(d_model, d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)  # W^O

    def split_heads(self, x: Tensor) -> Tensor:
        """Cut the width of x [B, T, D] into heads: [B, H, T, Dh]."""
        B, T, _ = x.shape
        # [B, T, D] -> [B, T, H, Dh] -> [B, H, T, Dh]
        return x.view(B, T, self.heads, self.d_head).transpose(1, 2)

    def keys_values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Project x [B, S, D] to per-head keys and values, each [B, H, S, Dh]."""
        return self.split_heads(self.key(x)), self.split_heads(self.value(x))

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        *,
        key_mask: Tensor | None = None,
        causal: bool = False,
        cache: tuple[Tensor, Tensor] | None = None,
        projected: tuple[Tensor, Tensor] | None = None,
        need_weights: bool = False,
    ) -> Attended:
        """Attend from query [B, T, D] over key/value [B, S, D] (default: query itself).

        key_mask [B, S]: True = a real key (S counts cached positions too).
        causal: each query sees only keys up to its own position.
        cache: keys/values [B, H, t, Dh] of earlier positions; the new ones are
            appended after them (incremental decoding).
        projected: keys/values [B, H, S, Dh] projected beforehand (encoder-decoder
            attention projects the source once per sentence); replaces key/value.
        """
        if projected is not None:
            keys, values = projected
        else:
            key = query if key is None else key
            value = key if value is None else value
            keys, values = self.split_heads(self.key(key)), self.split_heads(self.value(value))
            if cache is not None:
                # [B, H, t, Dh] + [B, H, T, Dh] -> [B, H, t + T, Dh]
                keys = torch.cat([cache[0], keys], dim=2)
                values = torch.cat([cache[1], values], dim=2)
        mask = None if key_mask is None else key_mask[:, None, None, :]  # [B, 1, 1, S]
        dropout = self.dropout if self.training else 0.0
        context, weights = scaled_dot_product_attention(
            self.split_heads(self.query(query)), keys, values, mask, causal, need_weights, dropout
        )
        B, _, T, _ = context.shape
        # [B, H, T, Dh] -> [B, T, H, Dh] -> [B, T, D]: the heads' concatenation
        output = self.out(context.transpose(1, 2).reshape(B, T, -1))
        return Attended(output, weights, keys, values)
