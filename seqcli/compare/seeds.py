"""One report entry per architecture from its runs with several seeds: means and spreads.

A run's own entry (`campaign.run_entry`) is a "seed entry". `aggregate` turns the
seed entries of one architecture into the entry the table, the charts and the
verdicts read: every number is the mean over the seeds, and `spread` (and each
length bucket's and curve point's `spread`) is the sample standard deviation over
the seeds, None with one seed, when the spread is unknown. The seed entries stay
in the entry, under `seeds`, so every verdict can be recomputed from single runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seqcli.compare.curves import mean_curve, mean_sd

SPREAD_FIELDS = ("train_seconds", "tokens_per_s", "valid_ppl", "best_valid_bleu", "time_to_90")
TEST_FIELDS = ("bleu", "chrf", "decode_sent_s", "decode_words_s")


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _bucket_means(seeds: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Length buckets in the first seed's order, BLEU averaged over the seeds that scored them."""
    labels = list(dict.fromkeys(b["bucket"] for e in seeds for b in e.get("by_length", [])))
    out = []
    for label in labels:
        found = [b for e in seeds for b in e.get("by_length", []) if b["bucket"] == label]
        mean, spread = mean_sd([b["bleu"] for b in found])
        out.append({"bucket": label, "sentences": found[0]["sentences"], "bleu": _rounded(mean),
                    "spread": _rounded(spread)})
    return out


def aggregate(seeds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The entry of one architecture: the first seed's identity, the seeds' means and spreads."""
    if not seeds:
        raise ValueError("aggregate needs at least one seed entry")
    first = seeds[0]
    entry = {k: v for k, v in first.items() if k not in ("seeds", "seed", "curve")}
    spread: dict[str, float | None] = {}
    for name in SPREAD_FIELDS:
        mean, spread[name] = mean_sd([e.get(name) for e in seeds])
        entry[name] = _rounded(mean)
    test = dict(first.get("test", {}))
    for name in TEST_FIELDS:
        mean, sd = mean_sd([e.get("test", {}).get(name) for e in seeds])
        if mean is not None:
            test[name] = _rounded(mean)
        if name in ("bleu", "chrf"):
            spread[name] = sd
    stops = {e.get("stopped") for e in seeds}
    steps, _ = mean_sd([e.get("steps") for e in seeds])
    entry.update(test=test, by_length=_bucket_means(seeds), steps=None if steps is None else round(steps),
                 stopped=stops.pop() if len(stops) == 1 else "mixed",
                 plateaued=sum(1 for e in seeds if e.get("plateaued")),
                 spread={k: _rounded(v) for k, v in spread.items()},
                 curve=mean_curve([e.get("curve", []) for e in seeds]), seeds=list(seeds))
    return entry


def seed_values(entry: dict[str, Any], pick: Any) -> list[float | None]:
    """One number per seed of an entry (`pick` maps a seed entry to it; None where unknown)."""
    return [pick(e) for e in entry.get("seeds") or [entry]]
