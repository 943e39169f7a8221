"""Sentence structures that render to both English and Finnish.

A sentence is a small tree of frozen dataclasses; `english.render` and
`finnish.render` walk the same tree, so a pair is a translation by construction.
Words are lexicon keys (English lemmas): `NP("cat")`, `Pred("jump", past=True)`.

The running example, "Tourists visit Finland to watch Northern lights.":

    Sentence((Clause(NP("tourist", plural=True, det=""),
                     (Pred("visit", locs=(Loc("at", NP("Finland")),),
                           purpose=Purpose("watch", NP("Northern lights", det=""))),)),))
"""

from __future__ import annotations

from dataclasses import dataclass

from seqcli.data.aurora.lexicon import PL3, PRONOUNS, SG3
from seqcli.data.aurora.nouns import NOUNS


@dataclass(frozen=True)
class NP:
    """A noun phrase: noun, number, English article, adjective, relative clause.

    `det` is "the", "a" (singular count nouns) or "" (bare plural or mass noun);
    place names never show an article. Finnish has no articles, but a bare plural
    or mass object of a bounded verb becomes partitive ("bought berries" → "marjoja").
    """

    noun: str
    plural: bool = False
    det: str = "the"
    adj: str | None = None
    rel: Rel | None = None


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun subject: "I", "you", "he", "she", "we", "they"."""

    word: str


@dataclass(frozen=True)
class Both:
    """Two coordinated noun phrases as one plural subject: "the cat and the dog"."""

    first: NP
    second: NP


Subject = NP | Pronoun | Both


@dataclass(frozen=True)
class Loc:
    """A location: kind "at", "to", "from" or a postposition ("next to", "under")."""

    kind: str
    np: NP


@dataclass(frozen=True)
class Purpose:
    """A purpose clause "to watch X": Finnish 3rd infinitive, -massa or -maan."""

    verb: str
    obj: NP | None = None


@dataclass(frozen=True)
class Pred:
    """A predicate: verb, tense, polarity, aspect and everything after the verb.

    English order and Finnish order agree: verb, object (or predicative adjective,
    with "be"), locations, time, purpose.
    """

    verb: str
    past: bool = False
    negative: bool = False
    progressive: bool = False
    obj: NP | None = None
    adj: str | None = None
    locs: tuple[Loc, ...] = ()
    time: str | None = None
    purpose: Purpose | None = None


@dataclass(frozen=True)
class Rel:
    """A relative clause on the noun before it.

    `role` is what that noun is inside the clause: "subj" (the cat that sat),
    "obj" (the house that we saw) or a location kind "at"/"to"/"from" (the house
    where we live). `subj` is the clause's own subject (None for role "subj").
    English restrictive clauses take no commas; Finnish always encloses them.
    """

    role: str
    pred: Pred
    subj: Subject | None = None
    restrictive: bool = True


@dataclass(frozen=True)
class Clause:
    """A subject with one or more coordinated predicates ("visited X and saw Y")."""

    subj: Subject
    preds: tuple[Pred, ...]
    conjs: tuple[str, ...] = ()  # "and" | "but", one between each two predicates


@dataclass(frozen=True)
class There:
    """An existential clause: "There is a cat on the mat." → "Matolla on kissa."."""

    np: NP
    loc: Loc
    past: bool = False
    negative: bool = False


@dataclass(frozen=True)
class Sentence:
    """Coordinated clauses: "A, and B" → Finnish "A ja B" / "A, mutta B"."""

    clauses: tuple[Clause | There, ...]
    conjs: tuple[str, ...] = ()


def finish(tokens: list[str]) -> str:
    """Join words into a sentence: merge commas, drop a final one, add "." and a capital.

    Relative clauses emit a comma on both sides; where two meet ("..., joka oli
    koiran vieressä, hyppäsi") or one meets the end, the extra commas go here.
    """
    words: list[str] = []
    for token in tokens:
        if token != ",":
            words.append(token)
        elif words and words[-1] != ",":
            words.append(token)
    while words and words[-1] == ",":
        words.pop()
    text = " ".join(words).replace(" ,", ",") + "."
    return text[:1].upper() + text[1:]


def person_of(subj: Subject) -> int:
    """The subject's person and number as an index into `lexicon.PERSONS`."""
    if isinstance(subj, Pronoun):
        return PRONOUNS[subj.word].person
    if isinstance(subj, Both):
        return PL3
    return PL3 if is_plural(subj) else SG3


def is_plural(np: NP) -> bool:
    """Plural in Finnish: a plural phrase, or a plural-only noun ("revontulet")."""
    return np.plural or NOUNS[np.noun].plural_only
