"""Render a sentence structure as English.

English needs articles, do-support in negation ("did not see"), "be" for the
progressive ("was sitting") and prepositions; it has no case. Restrictive relative
clauses ("the cat that ...") take no commas, non-restrictive ones (", which ...,")
take two.
"""

from __future__ import annotations

from seqcli.data.aurora.lexicon import ADJECTIVES, POSTPOSITIONS, PRONOUNS, SG3, TIMES, Noun, Verb
from seqcli.data.aurora.nouns import NOUNS
from seqcli.data.aurora.syntax import (
    NP,
    Both,
    Clause,
    Loc,
    Pred,
    Pronoun,
    Purpose,
    Rel,
    Sentence,
    Subject,
    There,
    finish,
    is_plural,
    person_of,
)
from seqcli.data.aurora.verbs import VERBS

# "be" per person (PERSONS order), present and past.
_BE = {False: ("am", "are", "is", "are", "are", "are"), True: ("was", "were", "was", "were", "were", "were")}


def render(sentence: Sentence) -> str:
    """The English sentence, capitalised and ending in "."."""
    return finish(_tokens(sentence))


def count_words(clause: Clause | There) -> int:
    """How many whitespace-separated words the clause has as a sentence of its own."""
    tokens = _there(clause) if isinstance(clause, There) else _clause(clause)
    return sum(token.count(" ") + 1 for token in tokens if token != ",")


def _tokens(sentence: Sentence) -> list[str]:
    tokens: list[str] = []
    for i, clause in enumerate(sentence.clauses):
        if i:
            tokens += [",", sentence.conjs[i - 1]]  # ", and" / ", but" between clauses
        tokens += _there(clause) if isinstance(clause, There) else _clause(clause)
    return tokens


def _clause(clause: Clause) -> list[str]:
    person = person_of(clause.subj)
    words = _subject(clause.subj) + _pred(clause.preds[0], person)
    for conj, pred in zip(clause.conjs, clause.preds[1:], strict=True):
        words += [conj] + _pred(pred, person)
    return words


def _there(there: There) -> list[str]:
    # "There is no cat on the mat": negation moves into the noun phrase as "no".
    number = 5 if is_plural(there.np) else SG3
    det = "no" if there.negative else None
    return ["there", _BE[there.past][number]] + _np(there.np, det) + _loc(there.loc, None)


def _subject(subj: Subject) -> list[str]:
    if isinstance(subj, Pronoun):
        return [PRONOUNS[subj.word].en]
    if isinstance(subj, Both):
        return _np(subj.first) + ["and"] + _np(subj.second)
    return _np(subj)


def _np(np: NP, det: str | None = None) -> list[str]:
    noun = NOUNS[np.noun]
    words = [ADJECTIVES[np.adj].en] if np.adj else []
    words.append(noun.en_pl if np.plural else noun.en)
    det = np.det if det is None else det
    if det and not noun.proper:
        if det == "a" and words[0][0] in "aeiou":
            det = "an"
        words.insert(0, det)
    if np.rel:
        words += _rel(np.rel, noun, np)
    return words


def _verb(verb: Verb, person: int, past: bool, negative: bool, progressive: bool) -> list[str]:
    if verb.key == "be" or progressive:
        words = [_BE[past][person]] + (["not"] if negative else [])
        return words + ([verb.en[3]] if progressive else [])
    if negative:
        do = "did" if past else ("does" if person == SG3 else "do")
        return [do, "not", verb.en[0]]
    if past:
        return [verb.en[2]]
    return [verb.en[1] if person == SG3 else verb.en[0]]


def _pred(pred: Pred, person: int, gap: str = "", stranded: str = "") -> list[str]:
    """The predicate; `gap` names the part a relative pronoun stands for."""
    verb = VERBS[pred.verb]
    words = _verb(verb, person, pred.past, pred.negative, pred.progressive)
    if pred.obj:
        words += ([verb.en_prep] if verb.en_prep else []) + _np(pred.obj)
    elif gap == "obj" and verb.en_prep:
        words.append(verb.en_prep)  # "the cat that we waited for"
    if stranded:
        words.append(stranded)  # "the city that we travelled to"
    if pred.adj:
        words.append(ADJECTIVES[pred.adj].en)
    for loc in pred.locs:
        words += _loc(loc, verb)
    if pred.time:
        words.append(TIMES[pred.time].en)
    if pred.purpose:
        words += _purpose(pred.purpose)
    return words


def _loc(loc: Loc, verb: Verb | None) -> list[str]:
    if loc.kind in POSTPOSITIONS:
        return [loc.kind] + _np(loc.np)
    noun = NOUNS[loc.np.noun]
    style = verb.comp_en if verb and verb.comp == loc.kind else ""
    if style == "direct":
        return _np(loc.np)  # "visit Finland", "leave the hotel"
    prep = noun.at if style == "static" else _preposition(loc.kind, noun)  # "arrive in Finland"
    return [prep] + _np(loc.np)


def _preposition(kind: str, noun: Noun) -> str:
    return {"at": noun.at, "to": noun.to, "from": "from"}[kind]


def _purpose(purpose: Purpose) -> list[str]:
    verb = VERBS[purpose.verb]
    words = ["to", verb.en[0]]
    if purpose.obj:
        words += ([verb.en_prep] if verb.en_prep else []) + _np(purpose.obj)
    return words


def _rel(rel: Rel, noun: Noun, antecedent: NP) -> list[str]:
    word, stranded = _relative_word(rel, noun)
    if rel.role == "subj":
        body = _pred(rel.pred, person_of(antecedent))
    else:
        assert rel.subj is not None, "a relative clause that is not on its subject needs one"
        body = _subject(rel.subj) + _pred(rel.pred, person_of(rel.subj), rel.role, stranded)
    comma = [] if rel.restrictive else [","]
    return comma + [word] + body + comma


def _relative_word(rel: Rel, noun: Noun) -> tuple[str, str]:
    """The relative word, and a preposition left stranded at the verb (or "")."""
    human = noun.kind == "person"
    if rel.role == "subj":
        return ("who" if human else "that" if rel.restrictive else "which"), ""
    as_object = "that" if rel.restrictive else ("whom" if human else "which")
    verb = VERBS[rel.pred.verb]
    if rel.role == "obj" or (verb.comp == rel.role and verb.comp_en == "direct"):
        return as_object, ""  # "the city that we visited"
    if rel.role == "at" or (verb.comp == rel.role and verb.comp_en == "static"):
        return "where", ""  # "the house where we live", "the city where we arrived"
    return as_object, _preposition(rel.role, noun)  # "the city that we came from"
