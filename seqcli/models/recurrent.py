"""Recurrent encoder-decoders with a fixed context vector: rnn, lstm, gru, birnn.

One class, four stages of the evolution, chosen by `RecurrentConfig`:

- rnn: Elman 1990, "Finding Structure in Time" — a tanh hidden state carried across
  time, h_t = tanh(W x_t + U h_{t-1} + b). The encoder's final state is the context
  and the decoder's initial state.
- lstm: Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural
  Networks", section 2 — the same encoder-decoder with LSTM cells (Hochreiter &
  Schmidhuber 1997); the decoder starts from the encoder's final (h, c).
- gru: Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder",
  section 2.2 — GRU cells; the summary c = tanh(V h_N) of the encoder's final state
  starts the decoder (Cho's h'_0 = tanh(V' c), folded into one layer here) and is
  fed again at every step, to the recurrence (h'_t = f(h'_{t-1}, y_{t-1}, c)) and
  to the readout (g(h'_t, y_{t-1}, c)).
- birnn: Schuster & Paliwal 1997, "Bidirectional Recurrent Neural Networks" — a
  forward and a backward encoder; the forward state at the last real token and the
  backward state at the first together form the context, projected to the
  decoder's size.

Sources are right-padded and run through packed sequences, so padding never
reaches a final state. The decoder has no attention-feedback, so teacher forcing
runs the whole target through one nn.RNN/LSTM/GRU call.

Every model ends in the same readout: a tanh layer to the embedding width, then
the vocabulary projection, so the vocabulary costs the same in every architecture
and parameter counts compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqcli.core.errors import unknown
from seqcli.core.tokens import PAD
from seqcli.models.base import Dropout, Memory, ModelConfig, Seq2Seq, State, Step

CELLS = ("rnn", "lstm", "gru")


@dataclass(frozen=True)
class RecurrentConfig(ModelConfig):
    """Fields of the fixed-context encoder-decoders (rnn, lstm, gru, birnn)."""

    cell: str = "lstm"  # rnn (Elman, tanh) | lstm | gru
    hidden: int = 256  # units per layer (per direction in the encoder)
    layers: int = 1  # stacked layers, in the encoder and in the decoder
    bidirectional: bool = False  # encoder reads forward and backward
    feed_context: bool = False  # feed the context vector to every decoder step (Cho)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise unknown("cell", self.cell, CELLS)


def make_rnn(
    cell: str,
    input_size: int,
    hidden: int,
    layers: int,
    dropout: float,
    bidirectional: bool = False,
) -> nn.RNNBase:
    """Build a batch-first nn.RNN (tanh) / nn.LSTM / nn.GRU."""
    kind: type[nn.RNN | nn.LSTM | nn.GRU] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
    # PyTorch applies this dropout between stacked layers only, and warns when L = 1.
    between = dropout if layers > 1 else 0.0
    return kind(
        input_size, hidden, layers, batch_first=True, dropout=between, bidirectional=bidirectional
    )


class RNNEncoder(nn.Module):
    """Embed a right-padded source and run it through a (bi)directional RNN.

    Shared by every recurrent model, the attentional ones included.
    """

    def __init__(
        self,
        cell: str,
        vocab: int,
        d_model: int,
        hidden: int,
        layers: int,
        dropout: float,
        bidirectional: bool,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model, padding_idx=PAD)
        self.dropout = Dropout(dropout)
        self.rnn = make_rnn(cell, d_model, hidden, layers, dropout, bidirectional)
        self.directions = 2 if bidirectional else 1

    def forward(self, src: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Encode src [B, S] (mask [B, S]).

        Returns the outputs [B, S, dirs*H] (zeros on padding) and the final hidden
        (and LSTM cell) state of every layer and direction, [B, L, dirs, H]; the
        backward direction's "final" state is the one at the first token.
        """
        B, S = src.shape
        embedded = self.dropout(self.embedding(src))  # [B, S, D]
        # Packing stops each row at its last real token, so padding never reaches
        # the final state; an empty row still runs one step, to stay well-defined.
        lengths = src_mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, final = self.rnn(packed)
        outputs, _ = pad_packed_sequence(
            packed_out, batch_first=True, total_length=S
        )  # [B, S, dirs*H]
        hidden, cell = final if isinstance(final, tuple) else (final, None)

        def batch_first(h: Tensor) -> Tensor:
            # PyTorch's [L*dirs, B, H] -> [L, dirs, B, H] -> [B, L, dirs, H]
            return h.view(-1, self.directions, B, h.size(-1)).permute(2, 0, 1, 3)

        return outputs, batch_first(hidden), None if cell is None else batch_first(cell)


def to_pytorch(state: Tensor) -> Tensor:
    """Batch-first state [B, L, H] -> PyTorch's [L, B, H] for nn.RNN/LSTM/GRU."""
    return state.transpose(0, 1).contiguous()


def from_pytorch(state: Tensor) -> Tensor:
    """PyTorch's state [L, B, H] -> batch-first [B, L, H]."""
    return state.transpose(0, 1)


@dataclass(kw_only=True)
class RecurrentMemory(Memory):
    """The fixed context: all the decoder ever sees of the source.

    hidden, cell: [B, L, H] the decoder's initial state (cell only for LSTMs).
    context: [B, H] the context vector fed at every step (feed_context), else None.
    """

    hidden: Tensor
    cell: Tensor | None = None
    context: Tensor | None = None


@dataclass(kw_only=True)
class RecurrentState(State):
    """The decoder's recurrent state: hidden (and LSTM cell) [B, L, H]."""

    hidden: Tensor
    cell: Tensor | None = None


class RecurrentSeq2Seq(Seq2Seq[RecurrentMemory, RecurrentState]):
    """An RNN encoder-decoder whose only link is a fixed-size context vector."""

    has_attention = False
    attention_maps = ()
    config: RecurrentConfig

    def __init__(self, config: RecurrentConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = RNNEncoder(
            c.cell, c.src_vocab, c.d_model, c.hidden, c.layers, c.dropout, c.bidirectional
        )
        # The bridge maps the encoder's final states to the decoder's initial state:
        # Cho's h'_0 = tanh(V' c), and for birnn the [forward; backward] projection.
        self.bridge = (
            nn.Linear(self.encoder.directions * c.hidden, c.hidden)
            if c.bidirectional or c.feed_context
            else None
        )
        self.embedding = nn.Embedding(c.tgt_vocab, c.d_model, padding_idx=PAD)
        self.dropout = Dropout(c.dropout)
        context_width = c.hidden if c.feed_context else 0
        self.decoder = make_rnn(c.cell, c.d_model + context_width, c.hidden, c.layers, c.dropout)
        self.readout = nn.Linear(c.hidden + context_width, c.d_model)
        self.generator = nn.Linear(c.d_model, c.tgt_vocab)

    def source_embedding(self) -> nn.Embedding:
        """The encoder's embedding table."""
        return self.encoder.embedding

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> RecurrentMemory:
        """Read the source into the decoder's initial state (and context vector)."""
        _, hidden, cell = self.encoder(src, src_mask)  # [B, L, dirs, H]
        if self.bridge is None:
            # Sutskever: the decoder starts where the encoder stopped.
            return RecurrentMemory(
                mask=src_mask, hidden=hidden[:, :, 0], cell=None if cell is None else cell[:, :, 0]
            )
        # [B, L, dirs, H] -> [B, L, dirs*H]: forward's last state beside backward's first
        final = hidden.flatten(2)
        start = torch.tanh(self.bridge(final))  # [B, L, H]
        # A bridged LSTM decoder starts with an empty memory cell; h carries the context.
        start_cell = None if cell is None else torch.zeros_like(start)
        context = start[:, -1] if self.config.feed_context else None  # [B, H], top layer
        return RecurrentMemory(mask=src_mask, hidden=start, cell=start_cell, context=context)

    def decode(
        self,
        memory: RecurrentMemory,
        tgt_in: Tensor,
        state: RecurrentState | None = None,
        need_weights: bool = False,
    ) -> Step[RecurrentState]:
        """Run the decoder over tgt_in [B, T] from the context or from a state."""
        if state is None:
            state = RecurrentState(hidden=memory.hidden, cell=memory.cell)
        inputs = self.dropout(self.embedding(tgt_in))  # [B, T, D]
        context = None
        if memory.context is not None:
            # [B, H] -> [B, T, H]: the same context at every step
            context = memory.context.unsqueeze(1).expand(-1, tgt_in.size(1), -1)
            inputs = torch.cat([inputs, context], dim=-1)  # [B, T, D + H]
        hidden = to_pytorch(state.hidden)  # [L, B, H]
        initial = hidden if state.cell is None else (hidden, to_pytorch(state.cell))
        outputs, final = self.decoder(inputs, initial)  # outputs [B, T, H]
        hidden, cell = final if isinstance(final, tuple) else (final, None)
        if context is not None:
            outputs = torch.cat([outputs, context], dim=-1)  # [B, T, 2H]
        readout = self.dropout(torch.tanh(self.readout(outputs)))  # [B, T, D]
        new_state = RecurrentState(
            hidden=from_pytorch(hidden), cell=None if cell is None else from_pytorch(cell)
        )
        return Step(logits=self.generator(readout), state=new_state)
