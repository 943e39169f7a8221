"""seqcli: every stage of the sequence-model evolution on one translation task."""

__version__ = "0.1.0"
