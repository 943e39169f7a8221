"""Terminal output: rich when stdout is a terminal, plain text when piped, NO_COLOR honoured.

Results go to stdout; progress and messages go to stderr so pipes stay clean.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _color_allowed(stream: object) -> bool:
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


def stdout_console() -> Console:
    """A console for results on stdout; no colour and no wrapping when piped."""
    return Console(file=sys.stdout, no_color=not _color_allowed(sys.stdout), highlight=False,
                   soft_wrap=not sys.stdout.isatty())


def stderr_console() -> Console:
    """A console for progress and messages on stderr."""
    return Console(file=sys.stderr, no_color=not _color_allowed(sys.stderr), highlight=False)


def error_line(message: str) -> None:
    """Print one red line on stderr (plain when colour is off)."""
    from rich.markup import escape  # a message may hold brackets: seqcli[plot], paths

    stderr_console().print(f"[red]{escape(message)}[/red]", markup=True, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """Print an informational line on stderr."""
    stderr_console().print(message, markup=False, highlight=False, soft_wrap=True)
