"""Render a sentence structure as Finnish.

Finnish has no articles; it marks roles with case instead. The rules used here:

- subject: nominative; the verb agrees in person and number.
- object: accusative (singular = genitive form, plural = nominative form) when the
  verb is bounded, affirmative and the object definite; partitive under negation,
  after irresultative verbs (katsoa, rakastaa, odottaa, etsiä, auttaa), in the
  progressive, and for a bare plural or mass noun ("osti marjoja"); some verbs
  take the elative instead (pitää kissasta, puhua Lapista).
- locations: inessive/elative/illative for "inner" places (talossa, talosta, taloon),
  adessive/ablative/allative for surfaces and "outer" places (pöydällä, asemalle).
- negation: the negative verb (en, et, ei, emme, ette, eivät) + connegative in the
  present ("ei näe") or the past participle in the past ("ei nähnyt", "eivät nähneet").
- predicative adjective: nominative singular, partitive plural ("Talot ovat
  punaisia"), partitive with mass nouns ("Kahvi on kuumaa"), nominative plural
  with plural-only nouns ("Revontulet ovat kauniit").
- purpose: 3rd infinitive in -massa after being/visiting, -maan after motion.
- commas: before every relative clause and after it unless the sentence ends;
  before "mutta", not before "ja" (unless a relative clause ends there).
"""

from __future__ import annotations

from seqcli.data.aurora.lexicon import (
    ADJECTIVES,
    CONJUNCTIONS,
    NEGATIVE,
    POSTPOSITIONS,
    PRONOUNS,
    RELATIVE,
    SG3,
    TIMES,
    Noun,
    Verb,
)
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

# Local case by (location kind, noun uses the outer cases).
_LOCAL = {
    ("at", False): "ine", ("to", False): "ill", ("from", False): "ela",
    ("at", True): "ade", ("to", True): "all", ("from", True): "abl",
}


def render(sentence: Sentence) -> str:
    """The Finnish sentence, capitalised and ending in "."."""
    tokens: list[str] = []
    for i, clause in enumerate(sentence.clauses):
        if i:
            tokens += _conjunction(sentence.conjs[i - 1])
        tokens += _there(clause) if isinstance(clause, There) else _clause(clause)
    return finish(tokens)


def local_case(kind: str, noun: Noun) -> str:
    """The case of a location of kind at/to/from: "talossa" but "pöydällä"."""
    return _LOCAL[kind, noun.outer]


def object_case(verb: Verb, np: NP | None, negative: bool, progressive: bool) -> str:
    """The case of the verb's object; np None means a relative pronoun (definite)."""
    if verb.obj_case == "elative":
        return "ela"
    if verb.obj_case == "partitive" or negative or progressive:
        return "par"
    if np is not None and np.det == "" and (np.plural or NOUNS[np.noun].mass or NOUNS[np.noun].plural_only):
        return "par"  # an unbounded amount: "ostivat marjoja", "joivat kahvia"
    return "acc"


def _conjunction(conj: str) -> list[str]:
    return [",", CONJUNCTIONS[conj]] if conj == "but" else [CONJUNCTIONS[conj]]


def _clause(clause: Clause) -> list[str]:
    words = _subject(clause.subj) + _pred(clause.preds[0], clause.subj)
    for conj, pred in zip(clause.conjs, clause.preds[1:], strict=True):
        words += _conjunction(conj) + _pred(pred, clause.subj)
    return words


def _there(there: There) -> list[str]:
    # Existential order: place first, "on" always singular, the thing last;
    # partitive for negation, bare plurals and mass nouns ("Lapissa on poroja").
    noun = NOUNS[there.np.noun]
    partitive = there.negative or is_plural(there.np) or noun.mass
    verb = _verb(VERBS["be"], SG3, there.past, there.negative)
    return _loc(there.loc) + verb + _np(there.np, "par" if partitive else "nom")


def _subject(subj: Subject) -> list[str]:
    if isinstance(subj, Pronoun):
        return [PRONOUNS[subj.word].fi]
    if isinstance(subj, Both):
        return _np(subj.first, "nom") + ["ja"] + _np(subj.second, "nom")
    return _np(subj, "nom")


def _np(np: NP, case: str) -> list[str]:
    noun = NOUNS[np.noun]
    plural = is_plural(np)
    words = [ADJECTIVES[np.adj].fi(case, plural)] if np.adj else []
    words.append(noun.fi(case, plural))
    if np.rel:
        words += [","] + _rel(np.rel, np) + [","]
    return words


def _verb(verb: Verb, person: int, past: bool, negative: bool) -> list[str]:
    if not negative:
        return [(verb.past if past else verb.pres)[person]]
    plural = person >= 3
    return [NEGATIVE[person], verb.pcp[plural] if past else verb.conneg]


def _pred(pred: Pred, subj: Subject) -> list[str]:
    verb = VERBS[pred.verb]
    words = _verb(verb, person_of(subj), pred.past, pred.negative)
    if pred.obj:
        words += _np(pred.obj, object_case(verb, pred.obj, pred.negative, pred.progressive))
    if pred.adj:
        words.append(_predicative(pred.adj, subj))
    for loc in pred.locs:
        words += _loc(loc)
    if pred.time:
        words.append(TIMES[pred.time].fi)
    if pred.purpose:
        words += _purpose(pred.purpose, verb)
    return words


def _predicative(adj: str, subj: Subject) -> str:
    forms = ADJECTIVES[adj]
    if isinstance(subj, NP):
        noun = NOUNS[subj.noun]
        if noun.plural_only:
            return forms.fi("nom", True)  # "Revontulet ovat kauniit"
        if noun.mass:
            return forms.fi("par", False)  # "Kahvi on kuumaa"
    return forms.fi("par", True) if person_of(subj) >= 3 else forms.fi("nom", False)


def _loc(loc: Loc) -> list[str]:
    if loc.kind in POSTPOSITIONS:
        return _np(loc.np, "gen") + [POSTPOSITIONS[loc.kind].fi]  # "koiran vieressä"
    return _np(loc.np, local_case(loc.kind, NOUNS[loc.np.noun]))


def _purpose(purpose: Purpose, main: Verb) -> list[str]:
    verb = VERBS[purpose.verb]
    words = [verb.inf3[0 if main.purpose == "ine" else 1]]
    if purpose.obj:
        words += _np(purpose.obj, object_case(verb, purpose.obj, False, False))
    return words


def _rel(rel: Rel, antecedent: NP) -> list[str]:
    pronoun = RELATIVE[is_plural(antecedent)]
    pred = rel.pred
    if rel.role == "subj":
        return [pronoun["nom"]] + _pred(pred, antecedent)
    assert rel.subj is not None, "a relative clause that is not on its subject needs one"
    if rel.role == "obj":
        case = object_case(VERBS[pred.verb], None, pred.negative, pred.progressive)
    else:
        case = local_case(rel.role, NOUNS[antecedent.noun])
    return [pronoun[case]] + _subject(rel.subj) + _pred(pred, rel.subj)
