"""Minimal plain-PyTorch references of seqcli's Transformer and Bahdanau models.

Written the way a short PyTorch script would: `torch.nn.Transformer`, and a
hand-rolled loop of `nn.GRUCell` with additive attention. Same sizes, same
dropout places, same tied output projection, so differences in speed are the
engine's, not the model's. Both take (src, src_mask, tgt_in) and return logits
[B, T, V], like seqcli's `Seq2Seq.forward`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def sinusoids(length: int, d: int) -> Tensor:
    """Sinusoidal position encodings [length, d] (Vaswani et al. 2017, 3.5)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(length, d)
    table[:, 0::2], table[:, 1::2] = torch.sin(position * rate), torch.cos(position * rate)
    return table


class ReferenceTransformer(nn.Module):
    """nn.Transformer with embeddings, positions and a tied output projection."""

    def __init__(self, src_vocab: int, tgt_vocab: int, d: int, heads: int, layers: int, ffn: int,
                 dropout: float, pre_norm: bool = False) -> None:
        super().__init__()
        self.d = d
        self.src_embed, self.tgt_embed = nn.Embedding(src_vocab, d), nn.Embedding(tgt_vocab, d)
        self.register_buffer("positions", sinusoids(1024, d), persistent=False)
        self.core = nn.Transformer(d, heads, layers, layers, ffn, dropout, batch_first=True, norm_first=pre_norm)
        for module in self.core.modules():  # seqcli drops no attention weights (its default)
            if isinstance(module, nn.MultiheadAttention):
                module.dropout = 0.0
        self.dropout = nn.Dropout(dropout)
        self.out_bias = nn.Parameter(torch.zeros(tgt_vocab))
        # seqcli's initialisation (Glorot matrices, zero biases, embeddings N(0, 1/d)), so
        # both learn alike and time_to_bleu compares engines, not initialisations.
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for embedding in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embedding.weight, std=d**-0.5)

    @classmethod
    def like(cls, c: Any) -> ReferenceTransformer:
        """The same size as a seqcli TransformerConfig."""
        return cls(c.src_vocab, c.tgt_vocab, c.d_model, c.heads, c.layers, c.ffn, c.dropout, c.pre_norm)

    def embed(self, embedding: nn.Embedding, tokens: Tensor) -> Tensor:
        return self.dropout(embedding(tokens) * math.sqrt(self.d) + self.positions[: tokens.size(1)])

    def forward(self, src: Tensor, src_mask: Tensor, tgt: Tensor) -> Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        hidden = self.core(self.embed(self.src_embed, src), self.embed(self.tgt_embed, tgt), tgt_mask=causal,
                           src_key_padding_mask=~src_mask, memory_key_padding_mask=~src_mask, tgt_is_causal=True)
        return F.linear(hidden, self.tgt_embed.weight, self.out_bias)  # [B, T, V]


class ReferenceBahdanau(nn.Module):
    """Bi-GRU encoder, GRUCell decoder with additive attention, maxout readout (Bahdanau et al. 2014)."""

    def __init__(self, src_vocab: int, tgt_vocab: int, d: int, n: int, dropout: float) -> None:
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab, d, padding_idx=0)
        self.encoder = nn.GRU(d, n, batch_first=True, bidirectional=True)
        self.init = nn.Linear(n, n, bias=False)
        self.W_a, self.U_a = nn.Linear(n, n, bias=False), nn.Linear(2 * n, n)
        self.v_a = nn.Linear(n, 1, bias=False)
        self.tgt_embed = nn.Embedding(tgt_vocab, d, padding_idx=0)
        self.cell = nn.GRUCell(d + 2 * n, n)
        self.readout = nn.Linear(n + d + 2 * n, 2 * d)
        self.generator = nn.Linear(d, tgt_vocab)
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def like(cls, c: Any) -> ReferenceBahdanau:
        """The same size as a seqcli BahdanauConfig (one layer)."""
        return cls(c.src_vocab, c.tgt_vocab, c.d_model, c.hidden, c.dropout)

    def forward(self, src: Tensor, src_mask: Tensor, tgt: Tensor) -> Tensor:
        S = src.size(1)
        packed = pack_padded_sequence(self.dropout(self.src_embed(src)), src_mask.sum(1).cpu(),
                                      batch_first=True, enforce_sorted=False)
        out, final = self.encoder(packed)
        annotations, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # [B, S, 2n]
        s = torch.tanh(self.init(final[1]))  # backward state at the first token
        keys = self.U_a(annotations)  # [B, S, n]
        y = self.dropout(self.tgt_embed(tgt))  # [B, T, d]
        features = []
        for t in range(tgt.size(1)):
            scores = self.v_a(torch.tanh(self.W_a(s)[:, None] + keys)).squeeze(-1)  # [B, S]
            alignment = torch.softmax(scores.masked_fill(~src_mask, float("-inf")), dim=-1)
            context = torch.bmm(alignment[:, None], annotations).squeeze(1)  # [B, 2n]
            s = self.cell(torch.cat([y[:, t], context], dim=-1), s)
            features.append(torch.cat([s, y[:, t], context], dim=-1))
        readout = self.readout(torch.stack(features, dim=1)).unflatten(-1, (-1, 2)).amax(-1)  # maxout
        return self.generator(self.dropout(readout))  # [B, T, V]


@torch.no_grad()
def greedy_transformer(model: ReferenceTransformer, src: Tensor, src_mask: Tensor, steps: int) -> list[list[int]]:
    """Greedy decoding as a short script does it: the whole prefix through the decoder at every step."""
    core = model.core
    memory = core.encoder(model.embed(model.src_embed, src), src_key_padding_mask=~src_mask)
    out = torch.full((src.size(0), 1), 2, dtype=torch.long)  # <bos>
    for _ in range(steps):
        causal = nn.Transformer.generate_square_subsequent_mask(out.size(1))
        hidden = core.decoder(model.embed(model.tgt_embed, out), memory, tgt_mask=causal, tgt_is_causal=True,
                              memory_key_padding_mask=~src_mask)
        logits = F.linear(hidden[:, -1], model.tgt_embed.weight, model.out_bias)
        out = torch.cat([out, logits.argmax(-1, keepdim=True)], dim=1)
        if (out == 3).any(dim=1).all():  # every sentence has its <eos>
            break
    return [_until_eos(row) for row in out[:, 1:].tolist()]


@torch.no_grad()
def greedy_bahdanau(model: ReferenceBahdanau, src: Tensor, src_mask: Tensor, steps: int) -> list[list[int]]:
    """Greedy decoding with the hand-rolled loop, one GRUCell step per token."""
    S = src.size(1)
    packed = pack_padded_sequence(model.src_embed(src), src_mask.sum(1).cpu(), batch_first=True, enforce_sorted=False)
    out, final = model.encoder(packed)
    annotations, _ = pad_packed_sequence(out, batch_first=True, total_length=S)
    s, keys = torch.tanh(model.init(final[1])), model.U_a(annotations)
    token = torch.full((src.size(0),), 2, dtype=torch.long)
    tokens = []
    for _ in range(steps):
        y = model.tgt_embed(token)
        scores = model.v_a(torch.tanh(model.W_a(s)[:, None] + keys)).squeeze(-1)
        context = torch.bmm(torch.softmax(scores.masked_fill(~src_mask, float("-inf")), -1)[:, None],
                            annotations).squeeze(1)
        s = model.cell(torch.cat([y, context], dim=-1), s)
        readout = model.readout(torch.cat([s, y, context], dim=-1)).unflatten(-1, (-1, 2)).amax(-1)
        token = model.generator(readout).argmax(-1)
        tokens.append(token)
        if (torch.stack(tokens, 1) == 3).any(dim=1).all():
            break
    return [_until_eos(row) for row in torch.stack(tokens, 1).tolist()]


def _until_eos(ids: list[int]) -> list[int]:
    return ids[: ids.index(3)] if 3 in ids else ids
