"""Reading user text safely: any bytes in, exactly one clean line per input line out.

Lines are split on "\n" only (a stray "\r", form feed or U+2028 never adds a line),
invalid UTF-8 is replaced, NUL and other control characters become spaces, and
whitespace is collapsed, so `translate` always answers one line per line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE = re.compile(r"\s+")


def clean_line(text: str) -> str:
    """Normalise one input line: NFC, control characters to spaces, collapsed whitespace."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    return _SPACE.sub(" ", text).strip()


def split_lines(data: bytes) -> list[str]:
    """Split raw bytes into decoded lines; a final line without newline still counts."""
    if not data:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    return [p.decode("utf-8", errors="replace").rstrip("\r") for p in parts]


def iter_lines(stream: BinaryIO) -> Iterator[str]:
    """Yield decoded lines as they arrive (interactive use answers each line as typed)."""
    for raw in iter(stream.readline, b""):
        yield raw.rstrip(b"\n").decode("utf-8", errors="replace").rstrip("\r")


def one_line(text: str) -> str:
    """Make sure an output never spans lines."""
    return text.replace("\r", " ").replace("\n", " ")
