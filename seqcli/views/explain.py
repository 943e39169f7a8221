"""Attention explained by computing it: `seqcli attend --explain KIND "sentence"`.

Four kinds of attention, each a small step beyond the last, computed on the
sentence's real embeddings (a run's source embedding table, or a fresh seeded one):

- simplified: scores are dot products of the raw embeddings, softmax, weighted sum.
  No trainable weights at all.
- self: trainable query/key/value projections, scores scaled by √d_k
  (Vaswani et al. 2017, 3.2.1): softmax(Q·Kᵀ/√d_k)·V.
- causal: self-attention where a token may not look at the tokens after it, as in
  a decoder that writes one word at a time.
- multihead: several self-attentions side by side on narrower projections, their
  outputs concatenated and projected back (Vaswani et al. 2017, 3.2.2).

`explain` returns plain data (stages with matrices and shapes); `render` turns it
into rich renderables with the heatmaps from `seqcli.views.heatmap`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.console import Group, RenderableType
from rich.text import Text
from torch import Tensor

from seqcli.core.errors import SeqcliError, unknown
from seqcli.views.heatmap import Heatmap, HeatmapGrid

KINDS = ("simplified", "self", "causal", "multihead")
FORMULA = "Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k) · V"
FRESH_DIM = 8  # width of the fresh embedding: small enough to read its numbers
VALUES_UP_TO = 12  # print the numbers in the heatmaps for sentences this short


@dataclass
class Stage:
    """One step of the walk-through: what is computed, and what came out."""

    title: str
    text: str
    shape: str = ""  # e.g. "Q: [7, 4]"
    matrix: np.ndarray | None = None  # [T, T] scores or weights; NaN = masked
    heads: np.ndarray | None = None  # [H, T, T] one map per head


@dataclass
class Explanation:
    """The whole walk-through for one kind of attention on one sentence."""

    kind: str
    tokens: list[str]
    origin: str  # where the embeddings came from
    formula: str
    stages: list[Stage] = field(default_factory=list)
    weights: np.ndarray | None = None  # [H, T, T] the final attention weights
    context: np.ndarray | None = None  # [T, D'] the output vectors


def words(sentence: str) -> list[str]:
    """Split a sentence into words and punctuation (used when there is no tokenizer)."""
    return re.findall(r"\w+|[^\w\s]", sentence)


def fresh_embeddings(tokens: Sequence[str], dim: int = FRESH_DIM, seed: int = 0) -> Tensor:
    """A seeded random embedding [T, dim]: the same word always gets the same vector."""
    vocab = list(dict.fromkeys(tokens))  # first-appearance order, so the seed decides
    gen = torch.Generator().manual_seed(seed)
    # std √(2/dim): a word's dot product with itself is about 2 and with another word
    # about ±0.7, so the simplified softmax is neither flat nor one-hot.
    table = torch.randn(len(vocab), dim, generator=gen) * math.sqrt(2 / dim)
    return table[[vocab.index(t) for t in tokens]]


def _projection(d_in: int, d_out: int, gen: torch.Generator, rms: float = 1.0) -> Tensor:
    """A fresh random weight matrix [d_in, d_out] whose outputs have about unit size.

    rms is the inputs' root mean square: dividing by it makes queries and keys come out
    the same size whether the embeddings are fresh or a trained model's.
    """
    return torch.randn(d_in, d_out, generator=gen) / (math.sqrt(d_in) * rms)


def _rms(x: Tensor) -> float:
    return float(x.pow(2).mean().sqrt()) or 1.0


def _inputs(x: Tensor, tokens: Sequence[str], origin: str) -> Stage:
    first = ", ".join(f"{v:.2f}" for v in x[0, :4].tolist())
    more = ", …" if x.shape[1] > 4 else ""
    return Stage(
        "inputs",
        f"Each token is one row of X, its embedding ({origin}). "
        f"For example x₁ ({tokens[0]}) = [{first}{more}].",
        shape=f"X: [{x.shape[0]}, {x.shape[1]}]  (T tokens × D dimensions)",
    )


def _simplified(x: Tensor, tokens: Sequence[str], origin: str) -> Explanation:
    scores = x @ x.T  # [T, T]
    weights = torch.softmax(scores, dim=-1)
    context = weights @ x  # [T, D]
    stages = [
        _inputs(x, tokens, origin),
        Stage("scores", "ω_ij = x_i · x_j: the dot product says how alike two embeddings "
              "are. A word is usually most alike to itself.", f"ω: {list(scores.shape)}",
              matrix=scores.numpy()),
        Stage("weights", "α_i = softmax(ω_i): each row becomes positive numbers that sum "
              "to 1, how much token i takes from every token.", f"α: {list(weights.shape)}",
              matrix=weights.numpy()),
        Stage("context", "z_i = Σ_j α_ij x_j: a weighted average of all embeddings. Nothing "
              "here is trained: the embeddings alone decide the weights.",
              f"Z = α·X: {list(context.shape)}  (one context vector per token)"),
    ]
    return Explanation("simplified", list(tokens), origin, "softmax(X·Xᵀ)·X  (Q = K = V = X)",
                       stages, weights.numpy()[None], context.numpy())


def _self(x: Tensor, tokens: Sequence[str], origin: str, causal: bool, seed: int,
          d_k: int | None) -> Explanation:
    t, d = x.shape
    d_k = d_k or d
    gen = torch.Generator().manual_seed(seed)
    w_q, w_k, w_v = (_projection(d, d_k, gen, _rms(x)) for _ in range(3))
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # [T, d_k] each
    scaled = q @ k.T / math.sqrt(d_k)  # [T, T]
    future = torch.ones(t, t, dtype=torch.bool).triu(1)  # True above the diagonal
    stages = [
        _inputs(x, tokens, origin),
        Stage("projections", f"Three weight matrices W_q, W_k, W_v [{d}, {d_k}] turn each "
              "embedding into a query (what it looks for), a key (what it offers) and a "
              f"value (what it passes on). Here they are random (seed {seed}), scaled so "
              "queries and keys come out about unit size; training would learn them.", f"Q = X·W_q, K = X·W_k, V = X·W_v: [{t}, {d_k}] each"),
        Stage("scores", f"Q·Kᵀ/√d_k: how well each query matches each key, divided by "
              f"√d_k = {math.sqrt(d_k):.2f}. Without it, dot products grow with d_k and push "
              "the softmax towards one-hot, where its gradients vanish.",
              f"Q·Kᵀ/√d_k: [{t}, {t}]", matrix=scaled.numpy()),
    ]
    if causal:
        scaled = scaled.masked_fill(future, float("-inf"))
        stages.append(Stage(
            "mask", "Token i may only look at tokens 1..i: every score above the diagonal "
            "becomes −∞, so after the softmax its weight is exactly 0 and the future "
            "cannot leak into the past.", f"mask: [{t}, {t}], {int(future.sum())} cells hidden",
            matrix=scaled.masked_fill(future, float("nan")).numpy()))
    weights = torch.softmax(scaled, dim=-1)
    context = weights @ v  # [T, d_k]
    stages += [
        Stage("weights", "softmax, row by row: how much each token takes from every "
              "token it may see.", f"weights: [{t}, {t}], rows sum to 1",
              # Masked cells are exact zeros; NaN draws them as masked, not as weak.
              matrix=weights.masked_fill(future & causal, float("nan")).numpy()),
        Stage("context", "weights·V: each output is a weighted sum of the values.",
              f"context: [{t}, {d_k}]  (one vector per token)"),
    ]
    name = "causal" if causal else "self"
    return Explanation(name, list(tokens), origin, FORMULA + ("  (future masked)" if causal else ""),
                       stages, weights.numpy()[None], context.numpy())


def _multihead(x: Tensor, tokens: Sequence[str], origin: str, heads: int,
               seed: int) -> Explanation:
    t, d = x.shape
    if not 1 <= heads <= d:
        raise SeqcliError(f"--explain multihead needs 1 to {d} heads for width {d}, got {heads}")
    d_k = d // heads  # each head works in a narrower subspace
    gen = torch.Generator().manual_seed(seed)
    outs, maps = [], []
    for _ in range(heads):
        q, k, v = (x @ _projection(d, d_k, gen, _rms(x)) for _ in range(3))  # [T, d_k] each
        w = torch.softmax(q @ k.T / math.sqrt(d_k), dim=-1)  # [T, T]
        outs.append(w @ v)  # [T, d_k]
        maps.append(w)
    concat = torch.cat(outs, dim=-1)  # [T, H·d_k]
    context = concat @ _projection(heads * d_k, d, gen)  # [T, D]
    weights = torch.stack(maps)  # [H, T, T]
    stages = [
        _inputs(x, tokens, origin),
        Stage("heads", f"{heads} heads, each with its own W_q, W_k, W_v [{d}, {d_k}] "
              f"(d_k = D / h = {d_k}), so each can attend to a different relation.",
              f"per head: Q, K, V [{t}, {d_k}]"),
        Stage("weights", "Each head computes its own softmax(Q·Kᵀ/√d_k).",
              f"weights: [{heads}, {t}, {t}]", heads=weights.numpy()),
        Stage("concatenate", "The heads' outputs (weights·V) are laid side by side.",
              f"concat: [{t}, {heads * d_k}]"),
        Stage("project", f"W_o [{heads * d_k}, {d}] mixes the heads back to the model width.",
              f"context = concat·W_o: {list(context.shape)}"),
    ]
    return Explanation("multihead", list(tokens), origin,
                       "MultiHead = Concat(head_1…head_h)·W_o, "
                       "head_i = softmax(Q_i·K_iᵀ/√d_k)·V_i", stages,
                       weights.numpy(), context.numpy())


def explain(kind: str, tokens: Sequence[str], embeddings: Tensor, *, origin: str = "given",
            heads: int = 2, d_k: int | None = None, seed: int = 0) -> Explanation:
    """Compute one kind of attention over embeddings [T, D] stage by stage."""
    if kind not in KINDS:
        raise unknown("attention kind", kind, KINDS)
    if not tokens:
        raise SeqcliError("nothing to attend over: the sentence has no tokens")
    x = embeddings.detach().float().cpu()
    if x.shape[0] != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {x.shape[0]} embeddings")
    with torch.no_grad():
        if kind == "simplified":
            return _simplified(x, tokens, origin)
        if kind == "multihead":
            return _multihead(x, tokens, origin, heads, seed)
        return _self(x, tokens, origin, kind == "causal", seed, d_k)


def render(ex: Explanation, show_values: bool | None = None) -> RenderableType:
    """Turn an explanation into printable parts: formula, then each stage in turn."""
    values = len(ex.tokens) <= VALUES_UP_TO if show_values is None else show_values
    parts: list[RenderableType] = [
        Text(f"{ex.kind} attention on {len(ex.tokens)} tokens", style="bold"),
        Text(ex.formula, style="bold cyan"),
    ]
    for i, stage in enumerate(ex.stages, 1):
        parts += [Text(""), Text(f"{i}. {stage.title}", style="bold"), Text(stage.text)]
        if stage.shape:
            parts.append(Text("   " + stage.shape, style="cyan"))
        if stage.matrix is not None:
            parts.append(Heatmap(stage.matrix, ex.tokens, ex.tokens, show_values=values))
        if stage.heads is not None:
            parts.append(HeatmapGrid([Heatmap(m, ex.tokens, ex.tokens, f"head {h + 1}",
                                              show_values=values)
                                      for h, m in enumerate(stage.heads)]))
    return Group(*parts)


def to_json(ex: Explanation) -> dict[str, object]:
    """The walk-through as JSON: tokens, formula, and each stage (NaN = masked -> null)."""

    def matrix(m: np.ndarray | None) -> object:
        return None if m is None else [[None if np.isnan(v) else round(float(v), 6) for v in row]
                                       for row in m]

    return {
        "kind": ex.kind, "tokens": ex.tokens, "embeddings": ex.origin, "formula": ex.formula,
        "stages": [{"title": s.title, "text": s.text, "shape": s.shape,
                    "matrix": matrix(s.matrix),
                    "heads": None if s.heads is None else [matrix(h) for h in s.heads]}
                   for s in ex.stages],
    }
