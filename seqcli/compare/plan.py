"""What a campaign trains and the events it reports: light, so the CLI imports it for --help."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqcli.runs.defaults import TrainConfig
from seqcli.views.progress import Silent

# The defaults of `seqcli compare`, in one place: the Plan below holds them and the
# command line's --help reads them from DEFAULTS. How they were chosen (measured on
# aurora, size small, the shared 2-core CPU): see the Plan's docstring.


@dataclass(frozen=True)
class Plan:
    """What a campaign trains: the same settings for every architecture.

    Each architecture trains until its validation BLEU stops improving (`patience`
    validations, `eval_every` steps apart, without a new best on `valid_sentences`
    validation pairs) or until it reaches the cap (`budget` seconds, or `steps`),
    once per seed. `patience=0` turns the plateau rule off: a fixed budget.

    Defaults, measured on aurora at size small on the shared 2-core CPU (one torch
    thread, other work running, so times are upper bounds):
    - total 25 minutes per seed (the issue's target): each run's cap is a share of it
      (`share`), so the campaign's wall time is the total by construction, and what
      an architecture that plateaus early does not use goes to the ones after it.
    - eval_every 250, valid_sentences 200: one validation (loss over the 2,000
      validation pairs, greedy BLEU on the first `valid_sentences`) took 4-13 s, and
      250 steps are 20-40 s of training, so watching costs about a sixth of the time.
    - patience 2: 500 steps without a new best. luong's validation BLEU sat flat for
      about 300 steps (2.96, 2.64, 2.95 at steps 200-400) before it took off; a
      plateau rule must outlast such a stretch, and each further validation of
      patience is time taken from the architectures after it.
    - size, batch, learning rates: `seqcli train`'s (TrainConfig, the registry's
      presets), so a campaign's run is the run `seqcli train --arch` makes.
    """

    archs: list[str] = field(default_factory=list)
    out: Path = Path("runs/compare")
    corpus: str = TrainConfig.corpus  # what a campaign shares with `seqcli train` is train's default
    size: str = TrainConfig.size
    total: float | None = 1500.0  # seconds of campaign per seed, shared out among its runs (see `share`)
    budget: float | None = None  # a fixed cap instead: seconds of training per architecture and seed
    steps: int | None = None  # or this many optimizer steps each
    patience: int = 2  # validations without a new best BLEU before an architecture counts as plateaued
    eval_every: int = 250  # steps between validations (a multiple of 50: the loop's timing records)
    valid_sentences: int = 200  # validation pairs decoded for the validation BLEU
    seed: int = TrainConfig.seed
    seeds: int = 1  # runs per architecture, seeds seed, seed+1, ...
    device: str = TrainConfig.device
    precision: str = TrainConfig.precision  # training and scoring alike
    train_flags: dict[str, Any] = field(default_factory=dict)  # other TrainConfig fields, shared

    def seed_list(self) -> list[int]:
        """The seeds every architecture is trained with."""
        return [self.seed + k for k in range(self.seeds)]

    def run_dir(self, arch: str, seed: int) -> Path:
        """Where one run goes: out/<arch> for the first seed, out/<arch>-seed<N> for the others."""
        return self.out / (arch if seed == self.seed else f"{arch}-seed{seed}")

    def share(self, runs_left: int, elapsed: float, overhead: float) -> float | None:
        """The training-time cap of the next run, in seconds (None: no time cap).

        With `total` (seconds per seed), each run gets an equal share of the campaign
        time that is left (less FINISH), less its expected `overhead` (data, tokenizers,
        scoring: the costliest of the runs before it), so a run that plateaus early leaves its time
        to the ones after it; `budget`, when given, caps the share. With `steps` the
        cap is in steps.
        """
        if self.steps:
            return None
        if self.total is None:
            return self.budget
        left = self.total * self.seeds - FINISH - elapsed
        share = max(left / max(runs_left, 1) - overhead, MIN_SHARE)
        return min(share, self.budget) if self.budget else share

    def flags(self, arch: str, seed: int | None = None, cap: float | None = None) -> dict[str, Any]:
        """The `train()` flags of one architecture and seed; `cap`: its seconds of training."""
        seed = self.seed if seed is None else seed
        return {"patience": self.patience, "eval_every": self.eval_every,
                "valid_bleu_sentences": self.valid_sentences, **self.train_flags, "arch": arch,
                "corpus": self.corpus, "size": self.size, "steps": self.steps,
                "time_budget": None if self.steps else cap or self.budget, "seed": seed,
                "device": None if self.device == "auto" else self.device,
                "precision": None if self.precision == "auto" else self.precision, "out": str(self.run_dir(arch, seed))}


MIN_SHARE = 30.0  # seconds: the smallest cap a run gets, however late in the campaign
OVERHEAD = 30.0  # seconds a run spends outside training, assumed until one has been measured
# Seconds kept back from --total for what follows the last run: the report, the charts
# (PNGs), the tables, and the process's own start. The first default campaign, without
# it, ended at 25m07s: its loop took 1,502 s of 1,500, the rest another 5.6 s.
FINISH = 15.0
DEFAULTS = Plan()
PLATEAU = "early stopping"  # the loop's `stopped` when validation BLEU stopped improving (patience)
DEFAULT_BUDGET = DEFAULTS.budget


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
