"""PLACEHOLDER: being written; replaced by the real model."""
from dataclasses import dataclass
from seqcli.models.base import ModelConfig, Seq2Seq
@dataclass(frozen=True)
class TransformerConfig(ModelConfig):
    pass
class Transformer(Seq2Seq):
    pass
