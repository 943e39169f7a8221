"""`seqcli compare` and `seqcli evolution`."""

from __future__ import annotations

from seqcli.cli import app  # noqa: F401
