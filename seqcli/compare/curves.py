"""Learning curves from a run's metrics.jsonl: validation BLEU against seconds of training.

The training loop writes a `train` record (with `elapsed` wall seconds) every 50
steps and a `valid` record (step, BLEU) at every validation; nothing else is needed.
The x axis is training time with the validations taken out: a validation's own
cost (decoding the validation sentences, which an untrained model does slowly) is
estimated as the excess of the 50-step window it falls in over the run's median
window, and subtracted from every later point. So the curves compare how fast each
architecture learns, not how fast it decodes while being watched.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Records = Sequence[dict[str, Any]]


@dataclass(frozen=True)
class Point:
    """One validation: the step, the seconds of training before it, its BLEU."""

    step: int
    seconds: float
    bleu: float

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "seconds": round(self.seconds, 1), "bleu": self.bleu}


def _by_step(records: Records, kind: str, field: str) -> dict[int, float]:
    """The last value of `field` per step among records of one kind (a resume replays steps)."""
    out: dict[int, float] = {}
    for r in records:
        if r.get("kind") == kind and isinstance(r.get("step"), int) and isinstance(r.get(field), int | float):
            out[r["step"]] = float(r[field])
    return dict(sorted(out.items()))


def training_clock(records: Records) -> list[tuple[int, float]]:
    """(step, seconds of training) at every train record, validation time taken out."""
    elapsed = _by_step(records, "train", "elapsed")
    valid_steps = sorted(_by_step(records, "valid", "bleu"))
    marks = [(0, 0.0), *elapsed.items()]
    windows = [(a, b, tb - ta) for (a, ta), (b, tb) in zip(marks, marks[1:], strict=False) if b > a]
    # A validation after step v runs between the record at or before v and the next one.
    holds = [any(a <= v < b for v in valid_steps) for a, b, _ in windows]
    plain = [t / (b - a) for (a, b, t), held in zip(windows, holds, strict=True) if not held and a > 0]
    rate = statistics.median(plain) if plain else None  # seconds per step, windows without a validation
    clock, removed = [(0, 0.0)], 0.0
    for (a, b, t), held in zip(windows, holds, strict=True):
        if held and rate is not None:
            removed += max(t - rate * (b - a), 0.0)
        clock.append((b, elapsed[b] - removed))
    return clock


def _seconds_at(clock: list[tuple[int, float]], step: int) -> float:
    """Seconds of training at a step, interpolated between records (extrapolated past the last)."""
    before = [(s, t) for s, t in clock if s <= step]
    after = [(s, t) for s, t in clock if s > step]
    s0, t0 = before[-1] if before else clock[0]
    if after:
        s1, t1 = after[0]
        return t0 + (t1 - t0) * (step - s0) / (s1 - s0)
    if s0 > 0:
        return t0 + t0 / s0 * (step - s0)
    return t0


def learning_curve(records: Records) -> list[Point]:
    """Validation BLEU against seconds of training, one point per validation, in step order."""
    clock = training_clock(records)
    return [Point(step, _seconds_at(clock, step), bleu) for step, bleu in _by_step(records, "valid", "bleu").items()]


def time_to(curve: Sequence[Point], target: float) -> float | None:
    """Seconds of training until validation BLEU first reached `target`, or None if it never did.

    Linear between validations (and from 0 BLEU at 0 seconds), since the crossing
    happened somewhere between the last validation below and the first at or above.
    """
    previous = Point(0, 0.0, 0.0)
    for p in curve:
        if p.bleu >= target:
            if p.bleu <= previous.bleu:
                return p.seconds
            share = (target - previous.bleu) / (p.bleu - previous.bleu)
            return previous.seconds + max(share, 0.0) * (p.seconds - previous.seconds)
        previous = p
    return None


FRACTION = 0.9  # "time to reach 90% of its best BLEU"


def time_to_fraction(curve: Sequence[Point], fraction: float = FRACTION) -> float | None:
    """Seconds of training until validation BLEU reached `fraction` of its best (None without a curve)."""
    best = max((p.bleu for p in curve), default=0.0)
    return time_to(curve, fraction * best) if best > 0 else None


def mean_sd(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation of the known values; sd None with fewer than two."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return None, None
    return statistics.fmean(known), statistics.stdev(known) if len(known) > 1 else None


def mean_curve(curves: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Seeds' curves (report form) merged by step: mean seconds, mean BLEU and its spread over seeds."""
    steps: dict[int, list[dict[str, Any]]] = {}
    for curve in curves:
        for p in curve:
            steps.setdefault(p["step"], []).append(p)
    out = []
    for step, points in sorted(steps.items()):
        seconds, _ = mean_sd([p["seconds"] for p in points])
        bleu, spread = mean_sd([p["bleu"] for p in points])
        out.append({"step": step, "seconds": round(seconds or 0.0, 1), "bleu": round(bleu or 0.0, 2),
                    "spread": None if spread is None else round(spread, 2), "seeds": len(points)})
    return out
