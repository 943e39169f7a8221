"""The training loop's state: every field it carries from step to step, declared once.

The fields marked SAVED are what a resume needs. They travel as JSON in the metadata
of train_state.safetensors, beside the weights, optimizer and RNG state, under the
same keys every seqcli version has written, so older run directories resume as they
are. The other fields live as long as one process: clocks and throughput counters.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

SAVED = {"saved": True}  # field metadata: written to the checkpoint, read back on resume

# Absent from the checkpoint until the first validation sets them, as it has always been.
_WRITTEN_ONCE_SET = ("best_loss", "last_valid")


@dataclass
class TrainState:
    """Where training stands: its place in the data, the best validation so far, its clocks."""

    # ---- saved in the checkpoint ----------------------------------------------------------
    step: int = field(default=0, metadata=SAVED)  # optimizer steps taken
    epoch: int = field(default=0, metadata=SAVED)  # the epoch being read
    position: int = field(default=0, metadata=SAVED)  # batches of that epoch this rank has used
    elapsed: float = field(default=0.0, metadata=SAVED)  # training seconds, as of the last save
    tokens: int = field(default=0, metadata=SAVED)  # real target tokens this rank trained on
    best: float | None = field(default=None, metadata=SAVED)  # best validation BLEU; None: none yet
    best_step: int = field(default=0, metadata=SAVED)  # the step that scored it (best.safetensors)
    best_loss: float | None = field(default=None, metadata=SAVED)  # its loss: breaks BLEU ties
    bad_evals: int = field(default=0, metadata=SAVED)  # validations since the best (--patience)
    last_valid: dict[str, float] | None = field(default=None, metadata=SAVED)  # loss, ppl, bleu

    # ---- this process only --------------------------------------------------------------
    t_start: float = 0.0  # monotonic clock at step 0: now minus the seconds already trained
    t_saved: float = 0.0  # monotonic clock at the last checkpoint this process wrote
    saved_step: int | None = None  # step of the checkpoint on disk; None: none yet
    step_tokens: int = 0  # real target tokens (all processes) of this process's steps, for tokens/s
    step_seconds: float = 0.0  # wall seconds of those steps, reading their batches included
    last_loss: float = math.nan  # the latest training loss

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> TrainState:
        """The state a checkpoint's metadata holds; a key an older run lacks keeps its default."""
        return cls(**{f.name: meta[f.name] for f in fields(cls) if f.metadata.get("saved") and f.name in meta})

    def to_meta(self) -> dict[str, Any]:
        """The fields to save, as the checkpoint's metadata."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("saved")
                and not (f.name in _WRITTEN_ONCE_SET and getattr(self, f.name) is None)}

    # ---- clocks and counters -------------------------------------------------------------

    def start_clock(self) -> None:
        """Start timing this process, continuing from the seconds already trained."""
        now = time.monotonic()
        self.t_start, self.t_saved = now - self.elapsed, now

    def seconds(self) -> float:
        """Training seconds so far, earlier processes of a resumed run included."""
        return time.monotonic() - self.t_start

    def seconds_since_save(self) -> float:
        return time.monotonic() - self.t_saved

    def mark_saved(self) -> None:
        """Note that the checkpoint on disk is now this step's."""
        self.saved_step, self.t_saved = self.step, time.monotonic()

    @property
    def tokens_per_s(self) -> float:
        return self.step_tokens / max(self.step_seconds, 1e-9)

    # ---- validation --------------------------------------------------------------------

    def note_validation(self, record: dict[str, float], bleu: float, loss: float) -> bool:
        """Record a validation; True if it is the best so far (higher BLEU, then lower loss)."""
        self.last_valid = record
        improved = (self.best is None or bleu > self.best
                    or (bleu == self.best and (self.best_loss is None or loss < self.best_loss)))
        if improved:
            self.best, self.best_step, self.best_loss, self.bad_evals = bleu, self.step, loss, 0
        else:
            self.bad_evals += 1
        return improved


__all__ = ["TrainState"]
