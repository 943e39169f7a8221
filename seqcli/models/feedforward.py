"""PLACEHOLDER: being written; replaced by the real model."""
from dataclasses import dataclass
from seqcli.models.base import ModelConfig, Seq2Seq
@dataclass(frozen=True)
class FeedForwardConfig(ModelConfig):
    pass
class FeedForward(Seq2Seq):
    pass
