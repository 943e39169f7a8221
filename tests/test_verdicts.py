"""The lecture notes' claims judged on hand-made reports: each rule borne out, not borne out, inconclusive.

The reports are invented numbers, never a measurement: these tests check the rules,
not which architecture wins.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from seqcli.compare.seeds import aggregate
from seqcli.compare.verdicts import (
    BORNE_OUT,
    CLAIMS,
    INCONCLUSIVE,
    NOT_BORNE_OUT,
    NOT_MEASURED,
    Comparison,
    Estimate,
    verdicts,
)
from seqcli.models.catalog import NO_ATTENTION, ROLES
from seqcli.models.registry import REGISTRY

# arch: (test BLEU, BLEU on the shortest bucket, BLEU on the longest, training tok/s, curve [(s, BLEU)])
STORY: dict[str, tuple[float, float, float, float, list[tuple[float, float]]]] = {
    "ann": (2.0, 3.0, 2.0, 35_000, [(5.0, 1.0), (10.0, 2.0)]),
    "rnn": (3.0, 5.0, 1.0, 35_000, [(5.0, 2.0), (10.0, 3.0)]),
    "lstm": (10.0, 12.0, 6.0, 36_000, [(5.0, 5.0), (10.0, 10.0)]),
    "gru": (30.0, 40.0, 10.0, 34_000, [(10.0, 20.0), (20.0, 30.0)]),
    "birnn": (33.0, 42.0, 12.0, 30_000, [(10.0, 20.0), (20.0, 33.0)]),
    "bahdanau": (60.0, 62.0, 55.0, 18_000, [(20.0, 40.0), (40.0, 60.0)]),
    "luong": (64.0, 66.0, 58.0, 23_000, [(30.0, 30.0), (60.0, 62.0)]),
    "transformer": (80.0, 85.0, 75.0, 20_000, [(10.0, 50.0), (20.0, 78.0)]),
}


def _seed(arch: str, bleu: float, short: float, long: float, speed: float,
          curve: list[tuple[float, float]]) -> dict[str, Any]:
    return {"arch": arch, "label": arch, "run": f"runs/{arch}", "year": REGISTRY[arch].history.year,
            "tokens_per_s": speed, "best_valid_bleu": max(b for _, b in curve),
            "test": {"bleu": bleu, "chrf": bleu, "signature": "sig"},
            "by_length": [{"bucket": "1-10", "sentences": 9, "bleu": short},
                          {"bucket": "11-20", "sentences": 9, "bleu": (short + long) / 2},
                          {"bucket": "21+", "sentences": 9, "bleu": long}],
            "curve": [{"step": 100 * (i + 1), "seconds": s, "bleu": b} for i, (s, b) in enumerate(curve)]}


def _report(story: dict[str, Any], seeds: int = 1, jitter: float = 0.0) -> dict[str, Any]:
    """A report of the story; with seeds > 1 each number moves by ±jitter from seed to seed."""
    entries = []
    for arch, (bleu, short, long, speed, curve) in story.items():
        runs = [_seed(arch, bleu + d, short + d, long + d, speed, curve)
                for d in ([0.0] if seeds == 1 else [jitter * (-1) ** k for k in range(seeds)])]
        entries.append(aggregate(runs))
    return {"architectures": entries}


def _verdict(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(v for v in verdicts(report) if v["claim"] == key)


def _with(arch: str, **changes: Any) -> dict[str, Any]:
    story = copy.deepcopy(STORY)
    bleu, short, long, speed, curve = story[arch]
    values = {"bleu": bleu, "short": short, "long": long, "speed": speed, "curve": curve, **changes}
    story[arch] = (values["bleu"], values["short"], values["long"], values["speed"], values["curve"])
    return story


def test_the_story_bears_out_every_claim() -> None:
    assert {v["claim"]: v["verdict"] for v in verdicts(_report(STORY))} == {c.key: BORNE_OUT for c in CLAIMS}


# claim: (the story changed so the claim is not borne out, ... so the difference is within the margin)
FLIPS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "ann-order": (_with("ann", bleu=50.0), _with("ann", bleu=32.5)),
    "rnn-forgets": (_with("rnn", short=5.0, long=9.0), _with("rnn", short=5.5, long=5.0)),
    "lstm-gates": (_with("lstm", long=-1.0), _with("lstm", long=1.5)),
    "bidirectional": (_with("birnn", bleu=25.0), _with("birnn", bleu=30.5)),
    "bottleneck": (_with("gru", long=38.0), _with("gru", long=35.0)),
    "attention-long": (_with("bahdanau", long=40.0), _with("bahdanau", long=50.0)),
    "multiplicative": (_with("luong", bleu=55.0), _with("luong", bleu=60.5)),
    "transformer-best": (_with("transformer", bleu=50.0), _with("transformer", bleu=64.5)),
}


@pytest.mark.parametrize("key", [c.key for c in CLAIMS])
def test_each_rule_can_fail_and_can_be_inconclusive(key: str) -> None:
    against, close = FLIPS[key]
    assert _verdict(_report(against), key)["verdict"] == NOT_BORNE_OUT
    assert _verdict(_report(close), key)["verdict"] == INCONCLUSIVE


def test_a_difference_within_the_seed_spread_is_inconclusive() -> None:
    story = _with("birnn", bleu=33.0)  # 3 BLEU above gru
    assert _verdict(_report(story, seeds=1), "bidirectional")["verdict"] == BORNE_OUT
    noisy = _verdict(_report(story, seeds=4, jitter=2.0), "bidirectional")  # sd about 2.3 each: margin 4.6
    assert noisy["verdict"] == INCONCLUSIVE and "±2.31" in noisy["evidence"]


def test_the_transformer_is_timed_to_a_common_target() -> None:
    slow = _with("transformer", curve=[(100.0, 50.0), (200.0, 78.0)])  # same BLEU, ten times slower
    verdict = _verdict(_report(slow), "transformer-best")
    assert verdict["verdict"] == NOT_BORNE_OUT and "reached valid BLEU 55.8" in verdict["evidence"]


def test_missing_architectures_are_not_measured_and_nothing_learned_is_inconclusive() -> None:
    partial = {a: v for a, v in STORY.items() if a in ("gru", "bahdanau", "transformer")}
    judged = {v["claim"]: v for v in verdicts(_report(partial))}
    assert judged["multiplicative"]["verdict"] == NOT_MEASURED
    assert judged["multiplicative"]["evidence"] == "needs luong"
    assert judged["bottleneck"]["verdict"] == BORNE_OUT and judged["transformer-best"]["verdict"] == BORNE_OUT
    assert verdicts(_report({"transformer": STORY["transformer"]}))[-1]["verdict"] == NOT_MEASURED
    blank = _verdict(_report(_with("gru", short=4.15, long=6.12)), "bottleneck")  # "keeps 147%" of nothing
    assert blank["verdict"] == INCONCLUSIVE and "too little learned" in blank["evidence"]


def test_margins_have_floors_by_unit() -> None:
    def gap(a: float, b: float, unit: str, sa: float | None = None) -> str:
        return Comparison(Estimate("a", a, sa, unit), ">", Estimate("b", b, None, unit)).outcome()

    assert [gap(11.5, 10.0, "BLEU"), gap(10.5, 10.0, "BLEU"), gap(8.0, 10.0, "BLEU")] == \
        [BORNE_OUT, INCONCLUSIVE, NOT_BORNE_OUT]
    assert gap(11.5, 10.0, "BLEU", sa=2.0) == INCONCLUSIVE  # the seed spread widens the margin
    assert [gap(0.56, 0.5, "share"), gap(0.54, 0.5, "share")] == [BORNE_OUT, INCONCLUSIVE]
    assert [gap(1200.0, 1000.0, "tok/s"), gap(1100.0, 1000.0, "tok/s")] == [BORNE_OUT, INCONCLUSIVE]


def test_the_roles_of_the_story_name_every_architecture_once() -> None:
    assert sorted(ROLES.values()) == sorted(REGISTRY) and set(NO_ATTENTION) <= set(ROLES)


def test_every_claim_documents_its_rule_and_speaks_for_one_architecture() -> None:
    assert len({c.key for c in CLAIMS}) == len(CLAIMS)
    assert len({c.needs[0] for c in CLAIMS}) == len(CLAIMS)  # one row of `seqcli evolution` each
    for claim in CLAIMS:
        assert claim.doc and set(claim.needs) <= set(REGISTRY)
        assert _verdict(_report(STORY), claim.key)["rule"] == claim.doc
