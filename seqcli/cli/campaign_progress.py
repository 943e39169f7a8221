"""The campaign's progress on stderr: one bar for the campaign, one for the run in training.

On a terminal, rich bars (`LiveCampaign`); piped, plain lines (`PlainCampaign`). Both
track where the campaign is and estimate when it ends (`campaign_eta`).
"""

from __future__ import annotations

import time
from typing import Any

from seqcli.compare.plan import Campaign, duration


def campaign_eta(done: list[float], left_after: int, elapsed: float, fraction: float | None) -> float | None:
    """Seconds until the campaign ends, or None while there is nothing to go on.

    done: wall seconds of the finished architectures; left_after: how many come after
    the current one; elapsed and fraction (0..1, None if unknown): the current one's.
    Finished architectures are the best guide (they include evaluation); before the
    first has finished, the current one's own rate is extrapolated.
    """
    if done:
        per_arch = sum(done) / len(done)
        return max(per_arch - elapsed, 0.0) + per_arch * left_after
    if not fraction or fraction < 0.02:
        return None
    per_arch = elapsed / fraction
    return per_arch - elapsed + per_arch * left_after


def _line(step: int, fields: dict[str, Any]) -> str:
    """`step 120  loss 3.214  4,210 tgt tok/s` from a training update (real target tokens per second)."""
    parts = [f"step {step}"]
    if fields.get("loss") is not None:
        parts.append(f"loss {fields['loss']:.3f}")
    if fields.get("tgt_tok_s") is not None:
        parts.append(f"{fields['tgt_tok_s']:,.0f} tgt tok/s")
    return "  ".join(parts)


class _Tracker(Campaign):
    """Campaign state shared by the displays: where we are, how far, and the ETA."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index = 0
        self.done: list[float] = []  # wall seconds of finished architectures
        self.t_arch = self.t_train = time.monotonic()
        self.total: int | None = None
        self.budget: float | None = None
        self.first, self.step = 0, 0
        self.fields: dict[str, Any] = {}

    def begin(self, names: list[str], budget: float | None, steps: int | None) -> None:
        self.names = names

    def arch_start(self, name: str) -> None:
        self.index += 1
        self.t_arch, self.step, self.fields, self.total, self.budget = time.monotonic(), 0, {}, None, None

    def start(self, total: int | None, budget: float | None, first_step: int = 0) -> None:
        self.total, self.budget, self.first, self.step = total, budget, first_step, first_step
        self.t_train = time.monotonic()

    def update(self, step: int, **fields: Any) -> None:
        self.step, self.fields = step, fields

    def arch_done(self, name: str, seconds: float, reused: bool) -> None:
        if not reused:  # a reused run took no time, so it says nothing about the rest
            self.done.append(seconds)

    def fraction(self) -> float | None:
        """How far the current architecture's training is, 0..1 (None if unknown)."""
        parts = []
        if self.total:
            parts.append(self.step / self.total)
        if self.budget:
            parts.append((time.monotonic() - self.t_train) / self.budget)
        return min(max(parts), 1.0) if parts else None

    def status(self) -> str:
        """`[3/8] gru` and the campaign's ETA."""
        name = self.names[self.index - 1] if 0 < self.index <= len(self.names) else ""
        eta = campaign_eta(self.done, len(self.names) - self.index, time.monotonic() - self.t_arch, self.fraction())
        rest = f" · rest of campaign ~{duration(eta)}" if eta is not None else ""
        return f"[{self.index}/{len(self.names)}] {name}{rest}"


class PlainCampaign(_Tracker):
    """Lines for logs and pipes: one per event, one per `every` seconds of training."""

    def __init__(self, every: float = 15.0) -> None:
        from seqcli.views.render import stderr_console

        super().__init__()
        self.every, self.last = every, 0.0
        self.console = stderr_console()

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def arch_start(self, name: str) -> None:
        super().arch_start(name)
        self._say(self.status())

    def update(self, step: int, **fields: Any) -> None:
        super().update(step, **fields)
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            self._say(f"{self.status()}  {_line(step, fields)}")

    def message(self, text: str) -> None:
        self._say(f"  {text}")

    def phase(self, text: str) -> None:
        self._say(f"  {text}")

    def arch_done(self, name: str, seconds: float, reused: bool) -> None:
        super().arch_done(name, seconds, reused)
        self._say(f"  {name}: {'kept from the earlier campaign' if reused else 'done in ' + duration(seconds)}")


class LiveCampaign(_Tracker):
    """Two rich bars on stderr: the campaign (architectures done, ETA) and the current training."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from seqcli.views.render import stderr_console

        super().__init__()
        self.progress = Progress(TextColumn("{task.description:<14}"), BarColumn(),
                                 TextColumn("{task.fields[count]:>5}"), TimeElapsedColumn(),
                                 TextColumn("{task.fields[info]}"), console=stderr_console(), transient=False)
        self.overall: Any = None
        self.current: Any = None
        self.done_names: list[str] = []

    def begin(self, names: list[str], budget: float | None, steps: int | None) -> None:
        super().begin(names, budget, steps)
        self.progress.start()
        self.overall = self.progress.add_task("campaign", total=len(names), info="", count=f"0/{len(names)}")
        self.current = self.progress.add_task("", total=100, info="", count="")

    def _refresh(self) -> None:
        fraction = self.fraction()
        # The campaign bar moves within an architecture too: finished ones + this one's fraction.
        self.progress.update(self.overall, info=self.status(), completed=len(self.done_names) + (fraction or 0.0))
        if fraction is not None:
            self.progress.update(self.current, completed=round(100 * fraction), count=f"{fraction:.0%}")

    def arch_start(self, name: str) -> None:
        super().arch_start(name)
        self.progress.reset(self.current, total=100, description=name, info="preparing data and tokenizers",
                            count="")
        self._refresh()

    def update(self, step: int, **fields: Any) -> None:
        super().update(step, **fields)
        self.progress.update(self.current, info=_line(step, fields))
        self._refresh()

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def phase(self, text: str) -> None:
        self.progress.update(self.current, completed=100, info=text)

    def arch_done(self, name: str, seconds: float, reused: bool) -> None:
        super().arch_done(name, seconds, reused)
        self.done_names.append(name)
        self.progress.update(self.overall, completed=len(self.done_names),
                             count=f"{len(self.done_names)}/{len(self.names)}")
        self.message(f"{name}: {'kept from the earlier campaign' if reused else 'done in ' + duration(seconds)}")

    def end(self) -> None:
        self.progress.stop()


def campaign_reporter() -> Campaign:
    """Live bars on a terminal, plain lines when stderr is piped."""
    import sys

    return LiveCampaign() if sys.stderr.isatty() else PlainCampaign()
