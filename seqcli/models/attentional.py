"""Recurrent encoder-decoders with attention: Bahdanau (additive) and Luong (global).

Both drop the single fixed context vector: at every target step the decoder
scores each encoder state (the keys), normalises the scores into an alignment over
the real source tokens, and averages the encoder states (the values) into a fresh
context vector. The alignment is returned as the "cross.0" map, [B, 1, T, S].

In both, step t needs something computed from step t-1's attention (Bahdanau feeds
c_i into the recurrence; Luong's input feeding feeds h̃_{t-1}), so teacher forcing
is a Python loop over T with cells; what does not depend on t (the key
projections, the readout) is computed outside the loop. The alignment is a
by-product of every step, so it is returned whether or not `need_weights` asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqcli.core.errors import SeqcliError, unknown
from seqcli.core.tokens import PAD
from seqcli.models.attention import (
    LUONG_SCORES,
    AdditiveAttention,
    MultiplicativeAttention,
    context_vectors,
    hard_alignment,
    soft_alignment,
)
from seqcli.models.base import Dropout, Memory, ModelConfig, Seq2Seq, State, Step
from seqcli.models.recurrent import RNNEncoder, from_pytorch, make_rnn, to_pytorch

ATTENTIONS = ("soft", "hard")


@dataclass(frozen=True)
class BahdanauConfig(ModelConfig):
    """Fields of the Bahdanau model; the paper used hidden 1000, embeddings 620."""

    hidden: int = 256  # n: GRU units per direction in the encoder, and in the decoder
    layers: int = 1  # stacked GRU layers (the paper: 1)
    attention: str = "soft"  # soft (expected context) | hard (one sampled position)
    maxout: bool = True  # maxout readout (appendix A.2.2); False: a tanh layer
    gumbel_tau: float = 1.0  # temperature of the hard attention's gradient relaxation

    def __post_init__(self) -> None:
        if self.attention not in ATTENTIONS:
            raise unknown("attention", self.attention, ATTENTIONS)
        if self.gumbel_tau <= 0:
            raise SeqcliError(f"gumbel_tau must be positive, got {self.gumbel_tau}")


@dataclass(frozen=True)
class LuongConfig(ModelConfig):
    """Fields of the Luong model; the paper used 4 layers of 1000 LSTM units."""

    hidden: int = 256  # LSTM units per layer, in the encoder and the decoder
    layers: int = 1  # stacked LSTM layers
    score: str = "general"  # dot | general | concat (section 3.1, equation 8)
    input_feeding: bool = True  # feed h̃_{t-1} into step t (section 3.3)

    def __post_init__(self) -> None:
        if self.score not in LUONG_SCORES:
            raise unknown("score", self.score, LUONG_SCORES)


@dataclass(kw_only=True)
class AttentionalMemory(Memory):
    """The encoder states to attend over, and where the decoder starts.

    keys: [B, S, A] the encoder states projected once for scoring (U_a h_j, W_a h̄_s).
    values: [B, S, Dv] the encoder states averaged into each context vector.
    hidden, cell: [B, L, H] the decoder's initial state (cell only for LSTMs).
    """

    keys: Tensor
    values: Tensor
    hidden: Tensor
    cell: Tensor | None = None


@dataclass(kw_only=True)
class AttentionalState(State):
    """The decoder's state between steps.

    hidden, cell: [B, L, H] recurrent state (cell only for LSTMs).
    feed: [B, D] Luong's last attentional vector h̃_{t-1} (input feeding), else None.
    """

    hidden: Tensor
    cell: Tensor | None = None
    feed: Tensor | None = None


class StackedCells(nn.Module):
    """One time step through L stacked GRU or LSTM cells, states batch-first [B, L, H]."""

    def __init__(
        self, cell: str, input_size: int, hidden: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        kind = nn.LSTMCell if cell == "lstm" else nn.GRUCell
        self.cells = nn.ModuleList(
            kind(input_size if i == 0 else hidden, hidden) for i in range(layers)
        )
        self.dropout = Dropout(dropout)  # between layers, as nn.GRU/nn.LSTM do

    def forward(
        self, x: Tensor, hidden: Tensor, cell: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Advance x [B, In] by one step from hidden (cell) [B, L, H]; return the new ones."""
        hiddens, cells = [], []
        for i, layer in enumerate(self.cells):
            if cell is None:
                h = layer(x, hidden[:, i])  # [B, H]
            else:
                h, c = layer(x, (hidden[:, i], cell[:, i]))
                cells.append(c)
            hiddens.append(h)
            x = self.dropout(h) if i + 1 < len(self.cells) else h
        return torch.stack(hiddens, dim=1), torch.stack(cells, dim=1) if cells else None


def as_map(alignments: list[Tensor]) -> dict[str, Tensor]:
    """Stack per-step alignments [B, 1, S] into the "cross.0" map [B, 1, T, S]."""
    return {"cross.0": torch.cat(alignments, dim=1).unsqueeze(1)}


class Bahdanau(Seq2Seq[AttentionalMemory, AttentionalState]):
    """Bahdanau, Cho & Bengio 2014, "Neural Machine Translation by Jointly Learning
    to Align and Translate", section 3 and appendix A.

    Encoder (A.2.1): a bidirectional GRU; annotation h_j = [→h_j; ←h_j].
    Decoder (A.2.2), for target step i:
        e_ij = v_aᵀ tanh(W_a s_{i-1} + U_a h_j)        alignment model (A.1.2)
        α_ij = softmax_j(e_ij),  c_i = Σ_j α_ij h_j     context vector
        s_i  = GRU([E y_{i-1}; c_i], s_{i-1}),  s_0 = tanh(W_s ←h_1)
        t_i  = maxout(U_o s_i + V_o E y_{i-1} + C_o c_i),  p(y_i) ∝ exp(W_o t_i)
    The readout uses the new state s_i, as the later dl4mt and Nematus
    implementations do (the appendix's indices read s_{i-1}). With `attention="hard"` c_i is one annotation,
    sampled while training and the most likely one at inference (`hard_alignment`).
    """

    has_attention = True
    attention_maps = ("cross",)
    config: BahdanauConfig

    def __init__(self, config: BahdanauConfig) -> None:
        super().__init__(config)
        c = config
        n, D = c.hidden, c.d_model
        self.encoder = RNNEncoder("gru", c.src_vocab, D, n, c.layers, c.dropout, bidirectional=True)
        self.W_s = nn.Linear(n, n, bias=False)
        self.attention = AdditiveAttention(query_size=n, key_size=2 * n, attention_size=n)
        self.embedding = nn.Embedding(c.tgt_vocab, D, padding_idx=PAD)
        self.dropout = Dropout(c.dropout)
        self.decoder = StackedCells("gru", D + 2 * n, n, c.layers, c.dropout)
        # U_o, V_o and C_o side by side; maxout pools pairs, so it needs 2D outputs.
        self.readout = nn.Linear(n + D + 2 * n, 2 * D if c.maxout else D)
        self.generator = nn.Linear(D, c.tgt_vocab)  # W_o

    @property
    def hard_attention(self) -> bool:
        """True with `attention="hard"`: each step attends to one annotation."""
        return self.config.attention == "hard"

    def source_embedding(self) -> nn.Embedding:
        """The encoder's embedding table."""
        return self.encoder.embedding

    def encode(
        self, src: Tensor, src_mask: Tensor, need_weights: bool = False
    ) -> AttentionalMemory:
        """Annotate every source word; precompute U_a h_j; start s_0 from ←h_1."""
        annotations, final, _ = self.encoder(src, src_mask)  # [B, S, 2n], [B, L, 2, n]
        s_0 = torch.tanh(self.W_s(final[:, :, 1]))  # backward state at the first token, [B, L, n]
        keys = self.attention.project_keys(annotations)  # U_a h_j, [B, S, n]
        return AttentionalMemory(mask=src_mask, keys=keys, values=annotations, hidden=s_0)

    def align(self, scores: Tensor, mask: Tensor) -> Tensor:
        """Turn scores [B, T, S] into the alignment α, soft or hard."""
        if self.config.attention == "hard":
            return hard_alignment(scores, mask, sample=self.training, tau=self.config.gumbel_tau)
        return soft_alignment(scores, mask)

    def decode(
        self,
        memory: AttentionalMemory,
        tgt_in: Tensor,
        state: AttentionalState | None = None,
        need_weights: bool = False,
    ) -> Step[AttentionalState]:
        """Run the attentive GRU decoder over tgt_in [B, T], one step at a time."""
        s = memory.hidden if state is None else state.hidden  # s_{i-1}, [B, L, n]
        embedded = self.dropout(self.embedding(tgt_in))  # E y_{i-1}, [B, T, D]
        states, contexts, alignments = [], [], []
        # unbind, not embedded[:, i]: each slice's backward would write a zero-filled
        # [B, T, D] gradient, T of them per batch (a tenth of a CPU training step).
        for y_prev in embedded.unbind(1):  # E y_{i-1}, [B, D]
            query = s[:, -1:]  # the top layer's s_{i-1}, [B, 1, n]
            alignment = self.align(self.attention(query, memory.keys), memory.mask)  # [B, 1, S]
            context = context_vectors(alignment, memory.values)  # [B, 1, 2n]
            s, _ = self.decoder(torch.cat([y_prev, context[:, 0]], dim=-1), s)
            states.append(s[:, -1])
            contexts.append(context)
            alignments.append(alignment)
        # The readout needs no recurrence: one matmul over all T steps.
        features = torch.cat(
            [torch.stack(states, 1), embedded, torch.cat(contexts, 1)], dim=-1
        )  # [B, T, 3n + D]
        t = self.readout(features)  # [B, T, 2D] (maxout) or [B, T, D]
        if self.config.maxout:
            t = t.unflatten(-1, (-1, 2)).amax(dim=-1)  # t_ij = max(t̃_i,2j-1, t̃_i,2j), [B, T, D]
        else:
            t = torch.tanh(t)
        logits = self.generator(self.dropout(t))  # [B, T, V]
        return Step(logits=logits, state=AttentionalState(hidden=s), attention=as_map(alignments))


class Luong(Seq2Seq[AttentionalMemory, AttentionalState]):
    """Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural
    Machine Translation", sections 3.1 (global attention) and 3.3 (input feeding).

    Stacked LSTM encoder and decoder; the decoder starts from the encoder's final
    state. At step t, attention comes after the recurrence:
        h_t = LSTM([E y_{t-1}; h̃_{t-1}], h_{t-1})      input feeding (3.3)
        a_t(s) = softmax_s(score(h_t, h̄_s)),  c_t = Σ_s a_t(s) h̄_s
        h̃_t = tanh(W_c [c_t; h_t])                     attentional hidden state (eq. 5)
        p(y_t) = softmax(W_s h̃_t)                        (eq. 6)
    h̃_t has the embedding width, so W_s costs the same as every model's output layer.
    Without input feeding the LSTM does not wait for the attention, so teacher
    forcing runs it over the whole target in one call and attends for all t at once.
    """

    has_attention = True
    attention_maps = ("cross",)
    config: LuongConfig

    def __init__(self, config: LuongConfig) -> None:
        super().__init__(config)
        c = config
        H, D = c.hidden, c.d_model
        self.encoder = RNNEncoder(
            "lstm", c.src_vocab, D, H, c.layers, c.dropout, bidirectional=False
        )
        self.attention = MultiplicativeAttention(query_size=H, key_size=H, score=c.score)
        self.embedding = nn.Embedding(c.tgt_vocab, D, padding_idx=PAD)
        self.dropout = Dropout(c.dropout)
        if c.input_feeding:
            self.decoder: nn.Module = StackedCells("lstm", D + D, H, c.layers, c.dropout)
        else:
            self.decoder = make_rnn("lstm", D, H, c.layers, c.dropout)
        self.W_c = nn.Linear(H + H, D, bias=False)
        self.W_s = nn.Linear(D, c.tgt_vocab)

    def source_embedding(self) -> nn.Embedding:
        """The encoder's embedding table."""
        return self.encoder.embedding

    def encode(
        self, src: Tensor, src_mask: Tensor, need_weights: bool = False
    ) -> AttentionalMemory:
        """Run the source LSTM; its top-layer states h̄_s are the keys and values."""
        outputs, hidden, cell = self.encoder(src, src_mask)  # [B, S, H], [B, L, 1, H]
        keys = self.attention.project_keys(outputs)  # [B, S, H]
        return AttentionalMemory(
            mask=src_mask, keys=keys, values=outputs, hidden=hidden[:, :, 0], cell=cell[:, :, 0]
        )

    def attend(self, h: Tensor, memory: AttentionalMemory) -> tuple[Tensor, Tensor]:
        """From decoder states h [B, T, H]: attentional states h̃ [B, T, D], alignment [B, T, S]."""
        alignment = soft_alignment(self.attention(h, memory.keys), memory.mask)  # a_t, [B, T, S]
        context = context_vectors(alignment, memory.values)  # c_t, [B, T, H]
        return torch.tanh(self.W_c(torch.cat([context, h], dim=-1))), alignment

    def decode(
        self,
        memory: AttentionalMemory,
        tgt_in: Tensor,
        state: AttentionalState | None = None,
        need_weights: bool = False,
    ) -> Step[AttentionalState]:
        """Run the attentive LSTM decoder over tgt_in [B, T]."""
        if state is None:
            feed = (
                memory.hidden.new_zeros(tgt_in.size(0), self.config.d_model)
                if self.config.input_feeding
                else None
            )
            state = AttentionalState(hidden=memory.hidden, cell=memory.cell, feed=feed)
        embedded = self.dropout(self.embedding(tgt_in))  # [B, T, D]
        if self.config.input_feeding:
            attentional, alignment, state = self.feed_steps(memory, embedded, state)
        else:
            assert state.cell is not None, "Luong's LSTMs always carry a memory cell"
            initial = (to_pytorch(state.hidden), to_pytorch(state.cell))  # [L, B, H] each
            outputs, (h, c) = self.decoder(embedded, initial)  # [B, T, H]
            attentional, alignment = self.attend(outputs, memory)
            state = AttentionalState(hidden=from_pytorch(h), cell=from_pytorch(c))
        logits = self.W_s(self.dropout(attentional))  # [B, T, V]
        return Step(logits=logits, state=state, attention={"cross.0": alignment.unsqueeze(1)})

    def feed_steps(
        self, memory: AttentionalMemory, embedded: Tensor, state: AttentionalState
    ) -> tuple[Tensor, Tensor, AttentionalState]:
        """Input feeding: a loop, since step t's input holds step t-1's h̃."""
        h, c, feed = state.hidden, state.cell, state.feed
        assert feed is not None, "input feeding starts from h̃_0 = 0"
        attentionals, alignments = [], []
        for y_prev in embedded.unbind(1):  # unbind: one backward for all T slices (see Bahdanau)
            h, c = self.decoder(torch.cat([y_prev, feed], dim=-1), h, c)  # [B, L, H]
            attentional, alignment = self.attend(h[:, -1:], memory)  # [B, 1, D], [B, 1, S]
            feed = attentional[:, 0]
            attentionals.append(attentional)
            alignments.append(alignment)
        state = AttentionalState(hidden=h, cell=c, feed=feed)
        return torch.cat(attentionals, dim=1), torch.cat(alignments, dim=1), state
