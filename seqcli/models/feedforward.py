"""The feedforward translation model: a fixed window, no memory.

Bengio et al. 2003, "A Neural Probabilistic Language Model", section 2: the next
word is predicted from the embeddings of the previous n-1 words, concatenated and
put through a tanh hidden layer. Devlin et al. 2014, "Fast and Robust Neural
Network Joint Models for Statistical Machine Translation", section 2: condition
that same network on the source too (their NNJM: two hidden layers over a target
history window and a source window).

Here the source part is a bag of words — the masked mean of the source
embeddings — since there is no word alignment to centre a source window on. The
target part is the K previous tokens (K = `context`), left-padded with PAD before
BOS. There is no recurrence and no attention: anything further back than K tokens
is forgotten, and word order in the source is invisible. The decoding state is
just the last K tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import PAD
from seqcli.models.base import Dropout, Memory, ModelConfig, Seq2Seq, State, Step


@dataclass(frozen=True)
class FeedForwardConfig(ModelConfig):
    """Fields of the feedforward model."""

    hidden: int = 512  # width of the first hidden layer
    context: int = 4  # K: how many previous target tokens the model sees

    def __post_init__(self) -> None:
        if self.context < 1:
            raise SeqcliError(f"context must be at least 1, got {self.context}")


@dataclass(kw_only=True)
class FeedForwardMemory(Memory):
    """The source as one vector: source [B, D], the mean of its embeddings."""

    source: Tensor


@dataclass(kw_only=True)
class WindowState(State):
    """The last K target tokens seen, tokens [B, K] (PAD before the start)."""

    tokens: Tensor


class FeedForward(Seq2Seq[FeedForwardMemory, WindowState]):
    """An MLP over a bag of source words and a window of previous target words."""

    has_attention = False
    attention_maps = ()
    config: FeedForwardConfig

    def __init__(self, config: FeedForwardConfig) -> None:
        super().__init__(config)
        c = config
        self.src_embedding = nn.Embedding(c.src_vocab, c.d_model, padding_idx=PAD)
        self.tgt_embedding = nn.Embedding(c.tgt_vocab, c.d_model, padding_idx=PAD)
        self.dropout = Dropout(c.dropout)
        # Devlin's two tanh hidden layers; the second narrows to the embedding width
        # so the vocabulary projection is the same size as in every other model.
        self.hidden = nn.Linear((c.context + 1) * c.d_model, c.hidden)
        self.readout = nn.Linear(c.hidden, c.d_model)
        self.generator = nn.Linear(c.d_model, c.tgt_vocab)

    def source_embedding(self) -> nn.Embedding:
        """The table whose mean over the source is the bag of words."""
        return self.src_embedding

    def encode(
        self, src: Tensor, src_mask: Tensor, need_weights: bool = False
    ) -> FeedForwardMemory:
        """Average the embeddings of the real source tokens: a bag of words."""
        mask = src_mask.unsqueeze(-1).to(self.src_embedding.weight.dtype)  # [B, S, 1]
        total = (self.src_embedding(src) * mask).sum(dim=1)  # [B, S, D] -> [B, D]
        count = mask.sum(dim=1).clamp(min=1.0)  # [B, 1]; an empty source averages to 0
        return FeedForwardMemory(mask=src_mask, source=total / count)

    def decode(
        self,
        memory: FeedForwardMemory,
        tgt_in: Tensor,
        state: WindowState | None = None,
        need_weights: bool = False,
    ) -> Step[WindowState]:
        """Score the next token after each position of tgt_in [B, T] from its window."""
        K = self.config.context
        B, T = tgt_in.shape
        if state is None:
            state = WindowState(tokens=tgt_in.new_full((B, K), PAD))
        tokens = torch.cat([state.tokens, tgt_in], dim=1)  # [B, K + T]
        # Position t of tgt_in sits at K + t; its window is the K tokens ending there.
        windows = tokens.unfold(1, K, 1)[:, 1:]  # [B, T + 1, K] -> [B, T, K]
        history = self.tgt_embedding(windows).flatten(2)  # [B, T, K, D] -> [B, T, K*D]
        source = memory.source.unsqueeze(1).expand(-1, T, -1)  # [B, D] -> [B, T, D]
        features = self.dropout(torch.cat([source, history], dim=-1))  # [B, T, (K+1)*D]
        hidden = self.dropout(torch.tanh(self.hidden(features)))  # [B, T, hidden]
        readout = self.dropout(torch.tanh(self.readout(hidden)))  # [B, T, D]
        return Step(logits=self.generator(readout), state=WindowState(tokens=tokens[:, -K:]))
