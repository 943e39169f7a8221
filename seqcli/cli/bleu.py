"""`seqcli bleu`."""

from __future__ import annotations

from seqcli.cli import app  # noqa: F401
