"""sacreBLEU wrappers: corpus BLEU, chrF, TER, and BLEU by source-length bucket.

Scores are always computed on detokenized text, as sacreBLEU intends; the
signature is returned with each score so a number can be reproduced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

# From the defining modules: sacrebleu.metrics does not re-export them for a type checker.
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF
from sacrebleu.metrics.ter import TER

from seqcli.core.errors import SeqcliError

BUCKET = 10  # words per source-length bucket, as in Bahdanau et al. 2014, fig. 2
MIN_BUCKET = 10  # a long-end length bucket with fewer sentences is merged into the one before

# sacreBLEU warns through `logging` at every call that sees tokenized-looking text (three
# lines each validation on a word-level corpus), burying the progress lines. `seqcli bleu`
# says it once itself (`looks_tokenized`); sacreBLEU's errors still get through.
logging.getLogger("sacrebleu").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Score:
    """One metric's value and the sacreBLEU signature that reproduces it."""

    name: str
    score: float
    signature: str
    detail: str = ""  # e.g. BLEU's n-gram precisions and brevity penalty

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "score": round(self.score, 2), "signature": self.signature,
                "detail": self.detail}


def _check(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> None:
    for i, ref in enumerate(refs):
        if len(ref) != len(hyps):
            raise SeqcliError(f"hypothesis has {len(hyps)} lines but reference {i + 1} has {len(ref)} lines")


def bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> Score:
    """Corpus BLEU (sacreBLEU defaults: 13a tokenisation, exp smoothing)."""
    _check(hyps, refs)
    metric = BLEU()
    result = metric.corpus_score(list(hyps), [list(r) for r in refs])
    detail = "/".join(f"{p:.1f}" for p in result.precisions) + f" (BP = {result.bp:.3f})"
    return Score("BLEU", result.score, str(metric.get_signature()), detail)


def chrf(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> Score:
    """Corpus chrF (character n-gram F-score, Popović 2015)."""
    _check(hyps, refs)
    metric = CHRF()
    return Score("chrF", metric.corpus_score(list(hyps), [list(r) for r in refs]).score,
                 str(metric.get_signature()))


def ter(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> Score:
    """Corpus TER (translation edit rate; lower is better)."""
    _check(hyps, refs)
    metric = TER()
    return Score("TER", metric.corpus_score(list(hyps), [list(r) for r in refs]).score,
                 str(metric.get_signature()))


def bucket_of(n_words: int, width: int = BUCKET) -> str:
    """The bucket label of a sentence length: 1-10, 11-20, ..."""
    low = ((max(n_words, 1) - 1) // width) * width + 1
    return f"{low}-{low + width - 1}"


def length_groups(srcs: Sequence[str], width: int = BUCKET,
                  min_sentences: int = MIN_BUCKET) -> list[tuple[str, list[int]]]:
    """Group sentence indices by source length in words: [("1-10", [...]), ..., ("41+", [...])].

    The one bucketer of seqcli: `seqcli bleu --by-length`, `seqcli compare` and the
    training record all bucket with it. Long buckets hold few sentences and one
    sentence swings their BLEU, so groups at the long end with fewer than
    `min_sentences` are merged into their neighbour, which is then labelled "<low>+".
    """
    groups: dict[int, list[int]] = {}
    for i, src in enumerate(srcs):
        low = ((max(len(src.split()), 1) - 1) // width) * width + 1
        groups.setdefault(low, []).append(i)
    ordered = [(low, bucket_of(low, width), idx) for low, idx in sorted(groups.items())]
    while len(ordered) > 1 and len(ordered[-1][2]) < min_sentences:
        _, _, tail = ordered.pop()
        low, _, idx = ordered.pop()
        ordered.append((low, f"{low}+", idx + tail))
    return [(label, idx) for _, label, idx in ordered]


def bleu_by_length(hyps: Sequence[str], refs: Sequence[str], srcs: Sequence[str], width: int = BUCKET,
                   min_sentences: int = MIN_BUCKET) -> dict[str, tuple[float, int]]:
    """BLEU per source-length bucket (`length_groups`): {"1-10": (bleu, n_sentences), ...}, in length order."""
    if not (len(hyps) == len(refs) == len(srcs)):
        raise SeqcliError(f"line counts differ: {len(hyps)} hypotheses, {len(refs)} references, {len(srcs)} sources")
    return {label: (BLEU().corpus_score([hyps[i] for i in idx], [[refs[i] for i in idx]]).score, len(idx))
            for label, idx in length_groups(srcs, width, min_sentences)}


_TOKENIZED = re.compile(r"@@( |$)|▁|Ġ| &apos;| &quot;")


def looks_tokenized(lines: Sequence[str]) -> str | None:
    """Say why lines look like tokenized or subword text (which BLEU must not see), or None."""
    sample = [line for line in lines[:2000] if line]
    if not sample:
        return None
    hits = sum(1 for line in sample if _TOKENIZED.search(line))
    if hits / len(sample) > 0.1:
        return "subword markers (@@, ▁, Ġ) or Moses escapes found"
    spaced = sum(1 for line in sample if re.search(r"\w \.$| , \w| n't\b| 's\b", line))
    if spaced / len(sample) > 0.5:
        return "punctuation is split off by spaces, as a tokenizer leaves it"
    return None
