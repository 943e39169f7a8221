"""PLACEHOLDER: being written; replaced by the real model."""
from dataclasses import dataclass
from seqcli.models.base import ModelConfig, Seq2Seq
@dataclass(frozen=True)
class BahdanauConfig(ModelConfig):
    pass
@dataclass(frozen=True)
class LuongConfig(ModelConfig):
    pass
class Bahdanau(Seq2Seq):
    pass
class Luong(Seq2Seq):
    pass
