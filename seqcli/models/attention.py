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

from seqcli.models.base import masked_softmax, softmax

# ---- RNN alignment scores (Bahdanau, Luong) --------------------------------------

LUONG_SCORES = ("dot", "general", "concat")


class AdditiveAttention(nn.Module):
    """Additive alignment scores (Bahdanau et al. 2014, appendix A.1.2).

    e_ij = v_aᵀ tanh(W_a s_{i-1} + U_a h_j): a one-layer MLP scores how well the
    decoder state (the query) matches each annotation (the keys). U_a h_j does not
    depend on i, so `project_keys` computes it once per sentence, in `encode`.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.W_a = nn.Linear(query_size, attention_size, bias=False)
        self.U_a = nn.Linear(key_size, attention_size)  # its bias is the MLP's bias
        self.v_a = nn.Linear(attention_size, 1, bias=False)

    def project_keys(self, keys: Tensor) -> Tensor:
        """Precompute U_a h_j: keys [B, S, Dk] -> [B, S, A]."""
        projected: Tensor = self.U_a(keys)
        return projected

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """Score query [B, T, Dq] against projected keys [B, S, A]: scores [B, T, S]."""
        # [B, T, 1, A] + [B, 1, S, A] -> [B, T, S, A]
        hidden = torch.tanh(self.W_a(query).unsqueeze(2) + projected_keys.unsqueeze(1))
        scores: Tensor = self.v_a(hidden).squeeze(-1)  # [B, T, S, 1] -> [B, T, S]
        return scores


class MultiplicativeAttention(nn.Module):
    """Luong et al. 2015, section 3.1, equation 8: the three global-attention scores.

    dot      score(h_t, h̄_s) = h_tᵀ h̄_s
    general  score(h_t, h̄_s) = h_tᵀ W_a h̄_s
    concat   score(h_t, h̄_s) = v_aᵀ tanh(W_a [h_t; h̄_s])
    dot and general cost one matmul per step, against a tanh MLP over every source
    position for additive scoring. W_a h̄_s (general) and the h̄_s half of W_a [h_t; h̄_s]
    (concat, which is additive attention with W_a split in two) do not depend on
    t, so `project_keys` computes them once per sentence.
    """

    def __init__(self, query_size: int, key_size: int, score: str = "general") -> None:
        super().__init__()
        if score not in LUONG_SCORES:
            raise ValueError(f"unknown score {score!r}; valid: {', '.join(LUONG_SCORES)}")
        if score == "dot" and query_size != key_size:
            raise ValueError(f"dot score needs equal widths, got {query_size} and {key_size}")
        self.score = score
        if score == "general":
            self.W_a = nn.Linear(key_size, query_size, bias=False)
        elif score == "concat":
            self.concat = AdditiveAttention(query_size, key_size, query_size)

    def project_keys(self, keys: Tensor) -> Tensor:
        """Precompute the query-independent part: keys [B, S, Dk] -> [B, S, Dq or A]."""
        if self.score == "general":
            projected: Tensor = self.W_a(keys)  # W_a h̄_s
            return projected
        if self.score == "concat":
            return self.concat.project_keys(keys)
        return keys

    def forward(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """Score query [B, T, Dq] against projected keys [B, S, Dq]: scores [B, T, S]."""
        if self.score == "concat":
            scores: Tensor = self.concat(query, projected_keys)
            return scores
        # [B, T, Dq] @ [B, Dq, S] -> [B, T, S]
        return query @ projected_keys.transpose(1, 2)


def soft_alignment(scores: Tensor, mask: Tensor) -> Tensor:
    """Normalise scores [B, T, S] over the real source tokens (mask [B, S]): α_ij."""
    return masked_softmax(scores, mask[:, None, :])


def hard_alignment(scores: Tensor, mask: Tensor, sample: bool, tau: float = 1.0) -> Tensor:
    """Pick one source position per target step: a one-hot alignment [B, T, S].

    Hard (stochastic) attention, as in Xu et al. 2015, "Show, Attend and Tell", 4.1.
    In training (sample=True) one position is sampled from the alignment
    distribution with the Gumbel-max trick (Jang et al. 2016): the forward pass uses
    the one-hot sample, the backward pass the gradient of the Gumbel-softmax
    relaxation at temperature tau (straight-through). That gives low-variance
    gradients with no reward, baseline network or extra loss: REINFORCE would need
    the loss inside the model, and the one training loop would stop being
    architecture-agnostic. At inference (sample=False) the most likely position.
    """
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    if sample:
        # -log(-log U) with U ~ uniform(0, 1): argmax(scores + noise) ~ softmax(scores).
        uniform = torch.rand_like(scores).clamp(1e-20, 1.0)
        scores = scores - torch.log(-torch.log(uniform))
    choice = scores.argmax(dim=-1, keepdim=True)  # [B, T, 1]
    # Multiplying by the mask keeps rows with no real token at exact zeros.
    one_hot = torch.zeros_like(scores).scatter_(-1, choice, 1.0) * mask[:, None, :]
    if not sample:
        return one_hot
    relaxed = masked_softmax(scores / tau, mask[:, None, :])
    # value: exactly one_hot (x - x is 0, where (1 + x) - x need not be 1); gradient: relaxed's
    return one_hot + (relaxed - relaxed.detach())


def context_vectors(alignment: Tensor, values: Tensor) -> Tensor:
    """Average the values [B, S, Dv] with the alignment [B, T, S]: c_i = Σ_j α_ij h_j."""
    # [B, T, S] @ [B, S, Dv] -> [B, T, Dv]
    return alignment @ values


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
    On a GPU without need_weights this is PyTorch's fused kernel and no [T, S]
    weights are kept; otherwise the formula written out, weights exactly 0 on masked
    keys. On a CPU the formula is the faster of the two at sentence lengths: PyTorch's
    CPU flash kernel took 1.5x as long in fp32 and 4-6x as long under bf16 for a
    training step's attention (forward + backward, 15-120 tokens), and 1.6-5x as long
    for a decoding step (bench/README.md, "Training profile").
    Returns the context [B, H, T, Dh] and the weights [B, H, T, S] (or None).
    """
    T, S = query.size(-2), keys.size(-2)
    if T == 1 and keys.dtype == torch.float32 and _fp32_step(query):
        with torch.autocast("cpu", enabled=False):
            return scaled_dot_product_attention(query.float(), keys.float(), values.float(), mask, causal,
                                                need_weights, dropout)
    fused = not need_weights and query.device.type != "cpu"
    if causal and T > 1:  # one query at the end of the keys sees them all
        if mask is None and T == S and fused:
            # The fused kernel builds the triangle itself (top-left aligned, so only T == S).
            context = F.scaled_dot_product_attention(query, keys, values, dropout_p=dropout, is_causal=True)
            return context, None
        triangle = causal_mask(T, S, query.device)  # [T, S]
        mask = triangle if mask is None else mask & triangle
    if fused:
        return F.scaled_dot_product_attention(query, keys, values, attn_mask=mask, dropout_p=dropout), None
    # Scale the queries rather than the scores: [B, H, T, Dh] is smaller than [B, H, T, S].
    # [B, H, T, Dh] @ [B, H, Dh, S] -> [B, H, T, S]
    scores = (query / math.sqrt(query.size(-1))) @ keys.transpose(-2, -1)
    weights = softmax(scores) if mask is None else masked_softmax(scores, mask)
    # Dropout on the weights used, not on the weights shown (rows still sum to 1).
    # [B, H, T, S] @ [B, H, S, Dh] -> [B, H, T, Dh]
    context = F.dropout(weights, dropout, training=dropout > 0) @ values
    return context, weights if need_weights else None


def _fp32_step(x: Tensor) -> bool:
    """Inference on a CPU under bf16 autocast: the source's keys and values stay fp32, and so does a step's attention over them.

    A decoding step's attention is 4·B tiny matrix products ([1, Dh] @ [Dh, S]), and
    at those shapes PyTorch's fp32 batched matmul took half the time of its bf16 one
    (bench/README.md, "Decoding profile"). The source's are projected once per batch;
    the self-attention cache stays bf16, as every step copies it (append, beam reorder)
    and fp32 would double that.
    """
    return x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not torch.is_grad_enabled()


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
        """Project x [B, S, D] to per-head keys and values, each [B, H, S, Dh], stored contiguous.

        They are read at every decoding step: split_heads' strided view would make
        each step's attention matmul copy them first (batch and head dims do not merge).
        """
        fp32 = _fp32_step(x)

        def stored(t: Tensor) -> Tensor:  # one copy: layout and dtype together
            return t.to(torch.float32, memory_format=torch.contiguous_format) if fp32 else t.contiguous()

        return stored(self.split_heads(self.key(x))), stored(self.split_heads(self.value(x)))

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
