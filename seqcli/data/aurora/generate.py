"""Generate the aurora corpus: draw sentences, fill length buckets, write the splits.

Splits: `test` is stratified by English length (`TEST_PER_BUCKET` pairs in each of
the buckets 1-10 ... 51-60 words); `valid` and `train` follow `TRAIN_SHARES`, more
short and medium sentences than long ones. No English sentence appears twice in
the corpus, so nothing in test or valid is in train. The seed sentences of the
project's running example are in train, verbatim.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqcli.data.aurora import english, finnish
from seqcli.data.aurora.grammar import Grammar
from seqcli.data.aurora.lexicon import ADJECTIVES
from seqcli.data.aurora.nouns import NOUNS
from seqcli.data.aurora.syntax import NP, Clause, Loc, Pred, Purpose, Rel, Sentence
from seqcli.data.aurora.verbs import VERBS

SEED = 20240521
MIN_WORDS, MAX_WORDS = 3, 60  # English words (whitespace-separated)
BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, 60))
TRAIN_SIZE, VALID_SIZE, TEST_PER_BUCKET = 40_000, 2_000, 200
TRAIN_SHARES = (0.30, 0.30, 0.17, 0.11, 0.07, 0.05)  # per bucket, train and valid

Pair = tuple[str, str]

# The running example and the two lecture sentences, always in train.
SEEDS: tuple[Sentence, ...] = (
    Sentence((Clause(NP("tourist", plural=True, det=""), (
        Pred("visit", locs=(Loc("at", NP("Finland", det="")),),
             purpose=Purpose("watch", NP("Northern lights", det=""))),)),)),
    Sentence((Clause(NP("cat"), (Pred("be", locs=(Loc("at", NP("mat")),)),)),)),
    Sentence((Clause(NP("cat", rel=Rel("subj", Pred(
        "sit", past=True, progressive=True, locs=(Loc("at", NP("mat", rel=Rel(
            "subj", Pred("be", past=True, locs=(Loc("next to", NP("dog")),)),
            restrictive=False))),)))), (Pred("jump", past=True),)),)),
)


def bucket_of(words: int) -> int:
    """Index of the length bucket holding a sentence of this many words."""
    return min((words - 1) // 10, len(BUCKETS) - 1)


def bucket_name(index: int) -> str:
    """ "1-10", "11-20", ..."""
    low, high = BUCKETS[index]
    return f"{low}-{high}"


def quotas(total: int, shares: Sequence[float]) -> list[int]:
    """Split total over the buckets by shares; rounding leftovers go to the first."""
    counts = [int(total * share) for share in shares]
    counts[0] += total - sum(counts)
    return counts


def fill(rng: random.Random, wanted: Sequence[int], seen: set[str]) -> list[Pair]:
    """Draw new pairs until every bucket holds its wanted count.

    Each draw aims at the bucket with the largest share still missing.
    """
    need = list(wanted)
    pairs: list[Pair] = []
    grammar = Grammar(rng, 0.0)
    while any(need):
        target = max(range(len(need)), key=lambda b: need[b] / max(wanted[b], 1))
        low, high = BUCKETS[target]
        sentence = grammar.sentence(max(low, MIN_WORDS), high)
        if sentence is None:
            continue
        en = english.render(sentence)
        words = en.count(" ") + 1
        if not MIN_WORDS <= words <= MAX_WORDS or en in seen:
            continue
        b = bucket_of(words)
        if need[b] <= 0:
            continue
        seen.add(en)
        pairs.append((en, finnish.render(sentence)))
        need[b] -= 1
    return pairs


def generate(seed: int = SEED) -> dict[str, list[Pair]]:
    """All three splits, deterministic for a seed."""
    rng = random.Random(seed)
    seeds = [(english.render(s), finnish.render(s)) for s in SEEDS]
    seen = {en for en, _ in seeds}
    test = fill(rng, [TEST_PER_BUCKET] * len(BUCKETS), seen)
    valid = fill(rng, quotas(VALID_SIZE, TRAIN_SHARES), seen)
    train = seeds + fill(rng, quotas(TRAIN_SIZE - len(seeds), TRAIN_SHARES), seen)
    rng.shuffle(train)
    return {"train": train, "valid": valid, "test": test}


def write_corpus(out_dir: Path, seed: int = SEED) -> dict[str, dict[str, Any]]:
    """Generate the corpus into out_dir as train/valid/test .en/.fi files; return statistics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = generate(seed)
    for name, pairs in splits.items():
        for side, lang in enumerate(("en", "fi")):
            text = "".join(pair[side] + "\n" for pair in pairs)
            (out_dir / f"{name}.{lang}").write_text(text, encoding="utf-8", newline="\n")
    return statistics(splits)


def statistics(splits: dict[str, list[Pair]]) -> dict[str, dict[str, Any]]:
    """Pairs, length buckets, mean lengths and vocabulary sizes of the splits."""
    stats: dict[str, dict[str, Any]] = {"pairs": {}, "buckets": {}, "mean_words": {}}
    vocab: dict[str, set[str]] = {"en": set(), "fi": set()}
    for name, pairs in splits.items():
        counts = [0] * len(BUCKETS)
        for en, fi in pairs:
            counts[bucket_of(len(en.split()))] += 1
            vocab["en"].update(_words(en))
            vocab["fi"].update(_words(fi))
        stats["pairs"][name] = len(pairs)
        stats["buckets"][name] = {bucket_name(b): n for b, n in enumerate(counts)}
        stats["mean_words"][name] = {
            lang: round(sum(len(p[side].split()) for p in pairs) / max(len(pairs), 1), 2)
            for side, lang in enumerate(("en", "fi"))}
    stats["vocabulary"] = {"en_words": len(vocab["en"]), "fi_words": len(vocab["fi"])}
    stats["lexicon"] = {"nouns": len(NOUNS), "adjectives": len(ADJECTIVES), "verbs": len(VERBS)}
    return stats


def _words(text: str) -> list[str]:
    """Lower-cased words without punctuation, for vocabulary counts."""
    return [w.strip(".,").lower() for w in text.split()]
