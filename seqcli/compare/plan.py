"""What a campaign trains and the events it reports: light, so the CLI imports it for --help."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqcli.views.progress import Silent

if TYPE_CHECKING:
    pass


# Seconds of training per architecture. Measured on aurora, size small, on the shared
# 2-core CPU with one torch thread: everything but the training loop (tokenizers,
# final validation, scoring 1,200 test sentences, decoding an untrained model to the
# length limit: the worst case) took 24-57 s per architecture, 272 s for all eight,
# so 8 x 90 s + 272 s is about 16.5 minutes, inside the ~20 minutes asked for.
DEFAULT_BUDGET = 90.0


@dataclass(frozen=True)
class Plan:
    """What a campaign trains: the same settings for every architecture."""

    archs: list[str]
    out: Path = Path("runs/compare")
    corpus: str = "aurora"
    size: str = "small"
    budget: float | None = DEFAULT_BUDGET  # seconds of training per architecture
    steps: int | None = None  # or this many optimizer steps each
    seed: int = 1
    device: str = "auto"
    train_flags: dict[str, Any] = field(default_factory=dict)  # other TrainConfig fields, shared

    def flags(self, arch: str) -> dict[str, Any]:
        """The `train()` flags of one architecture."""
        return {**self.train_flags, "arch": arch, "corpus": self.corpus, "size": self.size,
                "steps": self.steps, "time_budget": None if self.steps else self.budget,
                "seed": self.seed, "device": None if self.device == "auto" else self.device,
                "out": str(self.out / arch)}


class Campaign(Silent):
    """Campaign events on top of the per-architecture training reporter; this one shows nothing.

    One object serves both levels, so it is passed to `train()` as its reporter and
    the display can show the architecture's own progress inside the campaign's.
    """

    def begin(self, names: list[str], budget: float | None, steps: int | None) -> None: ...
    def arch_start(self, name: str) -> None: ...
    def phase(self, text: str) -> None: ...
    def arch_done(self, name: str, seconds: float, reused: bool) -> None: ...
    def end(self) -> None: ...


def duration(seconds: float | None) -> str:
    """Seconds as 45s, 2m00s or 1h05m."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
