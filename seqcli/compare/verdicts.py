"""The lecture notes' claims, judged by what a campaign measured.

Each claim of the notes (../shared/seeds: the evolution table and the attention
notes) is one `Claim` in `CLAIMS`: its statement and a rule, a small function
whose docstring says, in words, which numbers it compares. A rule returns one or
more comparisons "A < B" or "A > B" between numbers of the report; each number is
the mean over the seeds, with its spread (sample standard deviation over seeds).

A comparison is
- borne out when the difference goes the claimed way by more than the margin,
- not borne out when it goes the other way by more than the margin,
- inconclusive otherwise: the difference is within the seed spread.
The margin is the sum of the two spreads, and never less than a floor (`FLOORS`):
1 BLEU point, 5 points of a share, 10% of a time or a speed. With one seed the
spread is unknown and the floor alone decides; `--seeds 3` measures it.

A claim with several comparisons is borne out when all are, not borne out when any
is not, inconclusive otherwise. A claim whose architectures were not all trained is
"not measured". Nothing here trains or scores: it reads the report's entries.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from seqcli.compare.curves import Point, mean_sd, time_to
from seqcli.compare.plan import duration
from seqcli.compare.seeds import seed_values
from seqcli.models.catalog import NO_ATTENTION, ROLES

BORNE_OUT, NOT_BORNE_OUT, INCONCLUSIVE, NOT_MEASURED = "borne out", "not borne out", "inconclusive", "not measured"
FLOORS = {"BLEU": 1.0, "share": 0.05}  # absolute floors of the margin, by unit
RELATIVE_FLOOR = 0.10  # for times and speeds: 10% of the larger of the two
KEEP = 0.8  # "keeps quality": at least this share of its short-sentence BLEU on the longest sentences
# Below this BLEU on its shortest sentences a model has learned too little for the share it
# keeps on long ones to mean anything (a quick look's gru: 4.15 and 6.12 BLEU, "147%").
LEARNED = 10.0

# The architectures by the role they play in the story (models/catalog.py names them).
FEEDFORWARD, PLAIN_RNN, GATED_RNN, FIXED_CONTEXT, BIDIRECTIONAL, ADDITIVE, MULTIPLICATIVE, SELF_ATTENTION = (
    ROLES[r] for r in ("feedforward", "plain_rnn", "gated_rnn", "fixed_context", "bidirectional",
                       "additive_attention", "multiplicative_attention", "self_attention"))
ORDER_AWARE = tuple(ROLES[r] for r in NO_ATTENTION)  # recurrent, without attention


class Unmeasurable(Exception):
    """A rule's numbers exist but cannot carry the comparison (e.g. nothing was learned)."""


class NotMeasured(Unmeasurable):
    """A rule needs an architecture the campaign did not train."""


@dataclass(frozen=True)
class Estimate:
    """One measured number: its mean over seeds, spread (None with one seed) and unit."""

    label: str
    mean: float
    spread: float | None
    unit: str  # BLEU | share | s | tok/s

    def text(self) -> str:
        """`gru BLEU 21.88 ±1.13`; a time reads `gru reached ... in 1m06s`."""
        value = in_unit(self.mean, self.unit) + (f" ±{in_unit(self.spread, self.unit)}" if self.spread else "")
        return f"{self.label}{' in' if self.unit == 's' else ''} {value}".strip()


def in_unit(value: float, unit: str) -> str:
    """A number as its unit is read: 21.88 (BLEU), 75% (share), 1m06s (s), 18,060 tok/s."""
    if unit == "share":
        return f"{value:.0%}"
    if unit == "s":
        return duration(value)
    if unit == "tok/s":
        return f"{value:,.0f} tok/s"
    return f"{value:.2f}"


@dataclass(frozen=True)
class Comparison:
    """left < right (relation "<") or left > right (">"), as a claim expects."""

    left: Estimate
    relation: str
    right: Estimate

    def margin(self) -> float:
        spread = (self.left.spread or 0.0) + (self.right.spread or 0.0)
        floor = FLOORS.get(self.left.unit)
        if floor is None:
            floor = RELATIVE_FLOOR * max(abs(self.left.mean), abs(self.right.mean))
        return max(floor, spread)

    def outcome(self) -> str:
        gap = self.right.mean - self.left.mean if self.relation == "<" else self.left.mean - self.right.mean
        margin = self.margin()
        return BORNE_OUT if gap > margin else NOT_BORNE_OUT if gap < -margin else INCONCLUSIVE

    def text(self) -> str:
        return f"{self.left.text()} {self.relation} {self.right.text()}"


def below(left: Estimate, right: Estimate) -> Comparison:
    return Comparison(left, "<", right)


def above(left: Estimate, right: Estimate) -> Comparison:
    return Comparison(left, ">", right)


class Measures:
    """The numbers the rules compare, per architecture, from a report's entries (first entry per arch)."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        for e in report.get("architectures", []):
            if isinstance(e, dict) and "arch" in e:
                self.entries.setdefault(e["arch"], e)

    def has(self, arch: str) -> bool:
        return arch in self.entries

    def _estimate(self, arch: str, label: str, unit: str, pick: Callable[[dict[str, Any]], float | None]) -> Estimate:
        mean, spread = mean_sd(seed_values(self.entries[arch], pick))
        if mean is None:
            raise Unmeasurable(f"{arch} has no {label.removeprefix(arch).strip() or 'value'}")
        return Estimate(label, mean, spread, unit)

    def bleu(self, arch: str) -> Estimate:
        return self._estimate(arch, f"{arch} BLEU", "BLEU", lambda e: e.get("test", {}).get("bleu"))

    def bucket(self, arch: str, index: int) -> Estimate:
        """BLEU on one length bucket: 0 the shortest sentences, -1 the longest."""
        buckets = self.entries[arch].get("by_length") or []
        if not buckets:
            raise Unmeasurable(f"{arch} has no BLEU by length")
        label = buckets[index]["bucket"]
        return self._estimate(arch, f"{arch} BLEU {label}", "BLEU",
                              lambda e: next((b["bleu"] for b in e.get("by_length", []) if b["bucket"] == label), None))

    def retention(self, arch: str) -> Estimate:
        """BLEU on the longest sentences as a share of BLEU on the shortest."""
        def share(e: dict[str, Any]) -> float | None:
            by = e.get("by_length") or []
            if not by or by[0]["bleu"] < LEARNED:
                return None
            return float(by[-1]["bleu"]) / float(by[0]["bleu"])
        try:
            return self._estimate(arch, f"{arch} longest/shortest", "share", share)
        except Unmeasurable:
            raise Unmeasurable(f"{arch} scored under {LEARNED:g} BLEU on its shortest sentences: "
                               "too little learned to keep") from None

    def speed(self, arch: str) -> Estimate:
        return self._estimate(arch, f"{arch} training", "tok/s", lambda e: e.get("tokens_per_s"))

    def best_valid(self, arch: str) -> Estimate:
        return self._estimate(arch, f"{arch} best valid BLEU", "BLEU", lambda e: e.get("best_valid_bleu"))

    def time_to(self, arch: str, target: float) -> Estimate:
        """Seconds of training until validation BLEU first reached `target` (a run that never did: unmeasurable)."""
        def seconds(e: dict[str, Any]) -> float | None:
            curve = [Point(p["step"], p["seconds"], p["bleu"]) for p in e.get("curve", [])]
            return time_to(curve, target)
        return self._estimate(arch, f"{arch} reached valid BLEU {target:.1f}", "s", seconds)

    def best_of(self, archs: Sequence[str]) -> str:
        """The measured architecture among `archs` with the highest mean test BLEU."""
        present = [a for a in archs if self.has(a)]
        if not present:
            raise NotMeasured(f"needs one of {', '.join(archs)}" if archs else "needs another architecture")
        return max(present, key=lambda a: self.bleu(a).mean)


Rule = Callable[[Measures], list[Comparison]]


@dataclass(frozen=True)
class Claim:
    """A claim of the lecture notes, the architectures it needs, and the rule that judges it.

    The first architecture it needs is the one the claim is about: `seqcli evolution`
    shows the verdict in that architecture's row.
    """

    key: str
    statement: str
    needs: tuple[str, ...]
    rule: Rule

    @property
    def doc(self) -> str:
        """The rule in words: its docstring."""
        return inspect.getdoc(self.rule) or ""


def ann_order(m: Measures) -> list[Comparison]:
    """ann's test BLEU is below that of the best recurrent model without attention (rnn, lstm, gru, birnn)."""
    return [below(m.bleu(FEEDFORWARD), m.bleu(m.best_of(ORDER_AWARE)))]


def rnn_forgets(m: Measures) -> list[Comparison]:
    """rnn's BLEU on the longest source sentences is below its BLEU on the shortest."""
    return [below(m.bucket(PLAIN_RNN, -1), m.bucket(PLAIN_RNN, 0))]


def lstm_gates(m: Measures) -> list[Comparison]:
    """lstm's BLEU on the longest source sentences is above rnn's."""
    return [above(m.bucket(GATED_RNN, -1), m.bucket(PLAIN_RNN, -1))]


def bidirectional(m: Measures) -> list[Comparison]:
    """birnn's test BLEU is above gru's (the same GRU encoder-decoder, reading one way)."""
    return [above(m.bleu(BIDIRECTIONAL), m.bleu(FIXED_CONTEXT))]


def bottleneck(m: Measures) -> list[Comparison]:
    """gru keeps a smaller share of its short-sentence BLEU on the longest sentences than bahdanau
    (longest bucket / shortest bucket; both GRU models, one with a fixed context, one with attention)."""
    return [below(m.retention(FIXED_CONTEXT), m.retention(ADDITIVE))]


def attention_long(m: Measures) -> list[Comparison]:
    """bahdanau keeps more than 80% of its short-sentence BLEU on the longest sentences
    (Bahdanau et al. 2014, fig. 2)."""
    return [above(m.retention(ADDITIVE), Estimate("", KEEP, None, "share"))]


def additive_multiplicative(m: Measures) -> list[Comparison]:
    """luong trains more tokens per second than bahdanau (cheaper scores) and its test BLEU is above
    bahdanau's (Luong et al. 2015 report global attention above Bahdanau's)."""
    return [above(m.speed(MULTIPLICATIVE), m.speed(ADDITIVE)), above(m.bleu(MULTIPLICATIVE), m.bleu(ADDITIVE))]


def transformer_best(m: Measures) -> list[Comparison]:
    """The transformer's test BLEU is above the runner-up's (the best other architecture), and it needs
    less training time to reach 90% of the lower of the two best validation BLEUs."""
    runner = m.best_of([a for a in m.entries if a != SELF_ATTENTION])
    target = 0.9 * min(m.best_valid(SELF_ATTENTION).mean, m.best_valid(runner).mean)
    if target <= 0:
        raise Unmeasurable(f"{SELF_ATTENTION} or {runner} never scored above 0 BLEU in validation")
    return [above(m.bleu(SELF_ATTENTION), m.bleu(runner)),
            below(m.time_to(SELF_ATTENTION, target), m.time_to(runner, target))]


CLAIMS: tuple[Claim, ...] = (
    Claim("ann-order", "A feedforward network cannot model word order", (FEEDFORWARD,), ann_order),
    Claim("rnn-forgets", "A plain RNN forgets over long spans (vanishing gradients)", (PLAIN_RNN,), rnn_forgets),
    Claim("lstm-gates", "LSTM gates keep information over long spans", (GATED_RNN, PLAIN_RNN), lstm_gates),
    Claim("bidirectional", "A bidirectional encoder captures more context", (BIDIRECTIONAL, FIXED_CONTEXT),
          bidirectional),
    Claim("bottleneck", "The fixed context vector is a bottleneck on long sentences", (FIXED_CONTEXT, ADDITIVE),
          bottleneck),
    Claim("attention-long", "Attention keeps translation quality on long sentences", (ADDITIVE,), attention_long),
    Claim("multiplicative", "Multiplicative attention (Luong) is cheaper than additive (Bahdanau) "
          "and scores higher", (MULTIPLICATIVE, ADDITIVE), additive_multiplicative),
    Claim("transformer-best", "The Transformer trains faster and scores best", (SELF_ATTENTION,), transformer_best),
)


def combine(outcomes: Sequence[str]) -> str:
    """All borne out: borne out; any not borne out: not borne out; else inconclusive."""
    if outcomes and all(o == BORNE_OUT for o in outcomes):
        return BORNE_OUT
    return NOT_BORNE_OUT if NOT_BORNE_OUT in outcomes else INCONCLUSIVE


def judge(claim: Claim, measures: Measures) -> dict[str, Any]:
    """One claim's verdict and evidence, as report.json keeps it."""
    record = {"claim": claim.key, "statement": claim.statement, "rule": claim.doc}
    missing = [a for a in claim.needs if not measures.has(a)]
    if missing:
        return {**record, "verdict": NOT_MEASURED, "evidence": f"needs {', '.join(missing)}"}
    try:
        comparisons = claim.rule(measures)
    except NotMeasured as e:
        return {**record, "verdict": NOT_MEASURED, "evidence": str(e)}
    except Unmeasurable as e:
        return {**record, "verdict": INCONCLUSIVE, "evidence": str(e)}
    evidence = "; ".join(f"{c.text()} ({c.outcome()}; margin {in_unit(c.margin(), c.left.unit)})"
                         for c in comparisons)
    return {**record, "verdict": combine([c.outcome() for c in comparisons]), "evidence": evidence}


def verdicts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim of `CLAIMS`, judged on a report."""
    measures = Measures(report)
    return [judge(claim, measures) for claim in CLAIMS]
