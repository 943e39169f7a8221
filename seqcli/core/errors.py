"""The one exception users see: a domain error becomes one red line and exit 1."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SeqcliError(Exception):
    """A problem the user can fix; the CLI prints its message on one line and exits 1."""


def unknown(kind: str, name: str, valid: Iterable[str]) -> SeqcliError:
    """Build the error for an unknown name, suggesting the closest valid one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return SeqcliError(f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}")
