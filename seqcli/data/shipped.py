"""Where the shipped aurora corpus lives: one answer for the installed package and the checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# In the source tree the corpus sits in the top-level corpora/ folder (with its README);
# pyproject.toml installs that folder as the package `seqcli.corpora`.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "corpora" / "aurora"


def shipped_dir() -> Path:
    """The corpus folder: package data when installed, else the checkout's corpora/aurora."""
    try:
        return Path(str(files("seqcli.corpora") / "aurora"))
    except ModuleNotFoundError:  # running from a checkout that was never installed
        return SOURCE_DIR
