"""Training progress on stderr: a rich live bar on a terminal, plain lines when piped.

The training loop is handed a reporter and never imports rich itself; `Silent`
is the no-op (pip's pattern, STYLE.md).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from seqcli.views.render import stderr_console


class Silent:
    """A reporter that shows nothing (tests, non-zero DDP ranks)."""

    def start(self, total: int | None, budget: float | None, first_step: int = 0) -> None: ...
    def update(self, step: int, **fields: Any) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


class Plain(Silent):
    """One line every `every` seconds, for logs and pipes."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.last = every, 0.0
        self.console = stderr_console()

    def update(self, step: int, **f: Any) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.console.print(_line(step, f), markup=False, highlight=False)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)


class Live(Silent):
    """A rich progress bar with live loss, perplexity, learning rate and speed."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]step {task.completed:>6.0f}"), BarColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=stderr_console(), transient=False,
        )
        self.task: Any = None
        self.budget: float | None = None
        self.t0 = time.monotonic()

    def start(self, total: int | None, budget: float | None, first_step: int = 0) -> None:
        self.progress.start()
        self.budget, self.t0, self.first = budget, time.monotonic(), first_step
        self.task = self.progress.add_task("train", total=total, completed=first_step, info="")

    def update(self, step: int, **f: Any) -> None:
        self.progress.update(self.task, completed=step, info=_line(None, f))
        if self.budget and self.progress.tasks[0].total is None:
            # A time budget: show the bar as elapsed / budget, scaled to steps.
            done = (time.monotonic() - self.t0) / self.budget
            if done > 0.02:
                self.progress.update(self.task, total=self.first + (step - self.first) / done)

    def message(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        self.progress.stop()


def _line(step: int | None, f: dict[str, Any]) -> str:
    parts = [] if step is None else [f"step {step}"]
    for key, fmt in (("loss", "{:.3f}"), ("ppl", "{:.1f}"), ("lr", "{:.2e}"), ("tgt_tok_s", "{:,.0f} tgt tok/s")):
        if key in f and f[key] is not None:
            parts.append(("" if key == "tgt_tok_s" else f"{key} ") + fmt.format(f[key]))
    return "  ".join(parts)


def reporter() -> Silent:
    """The right reporter for where stderr goes."""
    return Live() if sys.stderr.isatty() else Plain()
