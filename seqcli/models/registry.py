"""The registry: one explicit dict from CLI name to model, config, presets and history.

Its keys are the CLI vocabulary (`--arch`). `seqcli archs` and `seqcli evolution`
print from it, so the history table and the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seqcli.core.errors import unknown
from seqcli.models.attentional import Bahdanau, BahdanauConfig, Luong, LuongConfig
from seqcli.models.base import ModelConfig, Seq2Seq
from seqcli.models.catalog import SIZES as SIZES  # re-exported: its users import it from here
from seqcli.models.feedforward import FeedForward, FeedForwardConfig
from seqcli.models.recurrent import RecurrentConfig, RecurrentSeq2Seq
from seqcli.models.transformer import Transformer, TransformerConfig


@dataclass(frozen=True)
class History:
    """An architecture's place in the evolution (the seeds' table)."""

    stage: str  # the row of the evolution table it illustrates
    year: int
    paper: str
    key_idea: str
    features: str  # key features
    challenge: str  # the weakness it left
    next_fix: str  # what the next stage brought


@dataclass(frozen=True)
class TrainDefaults:
    """Per-family optimisation defaults; flags and TOML override them."""

    lr: float
    schedule: str  # "noam" | "inverse_sqrt" | "warmup_constant" | "constant"
    warmup: int
    steps: int  # default step budget for `seqcli train`


@dataclass(frozen=True)
class Arch:
    """One registry entry."""

    name: str
    family: str
    model: type[Seq2Seq[Any, Any]]  # each family has its own Memory and State types
    config: type[ModelConfig]
    history: History
    train: TrainDefaults
    fixed: dict[str, Any] = field(default_factory=dict)  # what makes this preset this arch
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)  # size -> overrides
    shortcuts: tuple[str, ...] = ()  # the options of catalog.SHORTCUTS it accepts (--attention ...)


# Default budgets: a few minutes of training at size small on a 2-core CPU (measured:
# 800 Transformer steps took 159 s on one thread, reaching test BLEU 52.7 on aurora).
# Noam's peak is lr * d_model^-0.5 * warmup^-0.5: 0.7 / sqrt(96 * 150) = 5.8e-3 at small.
RNN_TRAIN = TrainDefaults(lr=3e-3, schedule="inverse_sqrt", warmup=150, steps=800)
# LSTM cells learn slower than GRU and Elman cells at that rate, and twice it suits them
# (issue 11: luong "started late"). Measured on aurora at size small, 500 steps, seed 1:
# luong's validation perplexity 16.3 at 3e-3, 6.4 at 6e-3, 10.2 at 1e-2; its validation
# BLEU at step 1000 went from 48.8 to 74.8 (OpenNMT-py's global attention, same size,
# data and schedule at 3e-3: 61.1). lstm's perplexity at step 500: 18.3 -> 13.6.
LSTM_TRAIN = TrainDefaults(lr=6e-3, schedule="inverse_sqrt", warmup=150, steps=800)
TRANSFORMER_TRAIN = TrainDefaults(lr=0.7, schedule="noam", warmup=150, steps=1500)


def rnn_sizes(small: int, base: int) -> dict[str, dict[str, Any]]:
    """Recurrent presets with per-architecture widths (hidden units at small and base).

    Sizes aim at comparable parameter counts across architectures (see `seqcli archs`):
    with aurora's 1000-token vocabularies about 0.71M at small (the transformer's
    0.72M), so a cheap Elman cell gets more units than a bidirectional GRU with
    attention. small trains well in minutes on a 2-core CPU; base is for a GPU or
    a patient CPU (about 7.8M parameters at 8000-token vocabularies).
    """
    return {
        "tiny": {"d_model": 32, "hidden": 48, "layers": 1, "dropout": 0.0},
        "small": {"d_model": 96, "hidden": small, "layers": 1},
        "base": {"d_model": 256, "hidden": base, "layers": 1},
    }


REGISTRY: dict[str, Arch] = {
    "ann": Arch(
        name="ann",
        family="feedforward",
        model=FeedForward,
        config=FeedForwardConfig,
        history=History(
            stage="ANN",
            year=2003,
            paper="Bengio et al. 2003, A Neural Probabilistic Language Model; Devlin et al. 2014",
            key_idea="a fixed window of previous words and a bag of source words through an MLP",
            features="feedforward structure, no memory",
            challenge="cannot handle sequential data: no notion of order or time",
            next_fix="RNNs carry a hidden state from step to step",
        ),
        train=RNN_TRAIN,
        sizes={
            "tiny": {"d_model": 32, "hidden": 64, "context": 3, "dropout": 0.0},
            "small": {"d_model": 96, "hidden": 736, "context": 4},
            "base": {"d_model": 256, "hidden": 1024, "context": 4},
        },
    ),
    "rnn": Arch(
        name="rnn",
        family="recurrent",
        model=RecurrentSeq2Seq,
        config=RecurrentConfig,
        history=History(
            stage="RNN",
            year=1990,
            paper="Elman 1990, Finding Structure in Time",
            key_idea="a tanh hidden state carried across time steps; the last one is the context",
            features="handles sequential data, has memory",
            challenge="long-term dependencies fade (vanishing gradients)",
            next_fix="LSTM memory cells and gates keep information over long spans",
        ),
        train=RNN_TRAIN,
        fixed={"cell": "rnn"},
        sizes=rnn_sizes(392, 736),
    ),
    "lstm": Arch(
        name="lstm",
        family="recurrent",
        model=RecurrentSeq2Seq,
        config=RecurrentConfig,
        history=History(
            stage="LSTM",
            year=2014,
            paper="Sutskever, Vinyals & Le 2014, Sequence to Sequence Learning (LSTM: Hochreiter & Schmidhuber 1997)",
            key_idea="gated memory cells; the encoder's final state is a fixed context vector",
            features="memory cells, input/output/forget gates",
            challenge="reads the input in one direction only",
            next_fix="bidirectional encoders read forward and backward",
        ),
        train=LSTM_TRAIN,
        fixed={"cell": "lstm"},
        sizes=rnn_sizes(184, 320),
    ),
    "gru": Arch(
        name="gru",
        family="recurrent",
        model=RecurrentSeq2Seq,
        config=RecurrentConfig,
        history=History(
            stage="Encoder-Decoder",
            year=2014,
            paper="Cho et al. 2014, Learning Phrase Representations using RNN Encoder-Decoder",
            key_idea="GRU encoder-decoder; the fixed context vector is fed to every decoder step",
            features="separate encoding and decoding phases, variable-length input and output",
            challenge="one fixed-size vector must hold the whole source sentence",
            next_fix="attention lets the decoder look back at every source position",
        ),
        train=RNN_TRAIN,
        fixed={"cell": "gru", "feed_context": True},
        sizes=rnn_sizes(168, 320),
    ),
    "birnn": Arch(
        name="birnn",
        family="recurrent",
        model=RecurrentSeq2Seq,
        config=RecurrentConfig,
        history=History(
            stage="Bidirectional RNN",
            year=1997,
            paper="Schuster & Paliwal 1997, Bidirectional Recurrent Neural Networks",
            key_idea="forward and backward encoders; both final states form the context",
            features="processes the input forward and backward",
            challenge="still squeezes the sentence into one fixed context vector",
            next_fix="an encoder-decoder with attention reads all encoder states",
        ),
        train=RNN_TRAIN,
        fixed={"cell": "gru", "bidirectional": True, "feed_context": True},
        sizes=rnn_sizes(144, 256),
    ),
    "bahdanau": Arch(
        name="bahdanau",
        family="attention",
        model=Bahdanau,
        config=BahdanauConfig,
        history=History(
            stage="Encoder-Decoder with Attention",
            year=2014,
            paper="Bahdanau, Cho & Bengio 2014, Neural Machine Translation by Jointly Learning to Align and Translate",
            key_idea="additive attention: a context vector per target word from all encoder states",
            features="dynamic focus on the input, better context handling on long sentences",
            challenge="sequential recurrence: slow to train, hard to parallelise",
            next_fix="the Transformer replaces recurrence with self-attention",
        ),
        train=RNN_TRAIN,
        sizes=rnn_sizes(112, 192),
        shortcuts=("attention",),
    ),
    "luong": Arch(
        name="luong",
        family="attention",
        model=Luong,
        config=LuongConfig,
        history=History(
            stage="Encoder-Decoder with Attention",
            year=2015,
            paper="Luong, Pham & Manning 2015, Effective Approaches to Attention-based NMT",
            key_idea="multiplicative (dot/general/concat) global attention with input feeding",
            features="cheaper scores than additive attention; attention after the LSTM step",
            challenge="still recurrent: computation grows step by step",
            next_fix="the Transformer attends in parallel over all positions",
        ),
        train=LSTM_TRAIN,
        sizes=rnn_sizes(152, 288),
    ),
    "transformer": Arch(
        name="transformer",
        family="transformer",
        model=Transformer,
        config=TransformerConfig,
        history=History(
            stage="Transformer",
            year=2017,
            paper="Vaswani et al. 2017, Attention Is All You Need",
            key_idea="multi-head scaled dot-product self-attention, positional encoding, no recurrence",
            features="self-attention, parallel processing over positions",
            challenge="needs substantial compute and data; attention cost grows with length squared",
            next_fix="(the end of this evolution: scaling attention up)",
        ),
        train=TRANSFORMER_TRAIN,
        sizes={
            # Tied target embeddings; ffn = 4 d_model as in the paper. Pre-LN (Xiong et
            # al. 2020) at small and base: it trains stably at the high learning rate
            # that a few CPU minutes need; --set pre_norm=false gives the paper's post-LN.
            "tiny": {"d_model": 48, "heads": 4, "layers": 2, "ffn": 96, "dropout": 0.0},
            "small": {"d_model": 96, "heads": 4, "layers": 2, "ffn": 384, "pre_norm": True},
            "base": {"d_model": 256, "heads": 4, "layers": 2, "ffn": 1024, "pre_norm": True},
        },
    ),
}


def shortcut_archs(option: str) -> list[str]:
    """The architectures that accept a shortcut option (catalog.SHORTCUTS)."""
    return [name for name, arch in REGISTRY.items() if option in arch.shortcuts]


def get_arch(name: str) -> Arch:
    """Look an architecture up by CLI name; unknown names list the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise unknown("architecture", name, REGISTRY) from None
