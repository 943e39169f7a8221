"""Draw random sentence structures from the aurora lexicon.

`Grammar(rng, rich).sentence()` returns a `syntax.Sentence`; `rich` (about 0 to
1.3) scales how often optional parts appear — adjectives, relative clauses (nested
up to `MAX_DEPTH` deep), coordinated predicates and clauses — and so the length.
Only `random.Random` drives the choices and every candidate list is a tuple built
in lexicon order, so a seed always gives the same sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from itertools import accumulate

from seqcli.data.aurora import english
from seqcli.data.aurora.lexicon import (
    ADJECTIVES,
    ANIMATE,
    CONCRETE,
    POSTPOSITIONS,
    PRONOUNS,
    TIMES,
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
)
from seqcli.data.aurora.verbs import VERBS

MAX_DEPTH = 5  # relative clauses inside relative clauses, at most
_POST_SUBJECTS = (*ANIMATE, *CONCRETE, "surface")  # things that can be "next to X"


def _nouns(spec: Sequence[str]) -> tuple[str, ...]:
    """Noun keys named by a list of kinds and/or noun keys, in lexicon order."""
    return tuple(k for k, n in NOUNS.items() if k in spec or n.kind in spec)


def _be_places(kind: str) -> tuple[str, ...]:
    """Where a thing of this kind can sensibly "be" ("the house is on the island")."""
    if kind in ("building",):
        return ("region", "outdoor", "waters")
    if kind in ("outdoor", "waters"):
        return ("region",)
    if kind == "surface":
        return ("building",)
    if kind in ("region", "sight"):
        return ()
    return ("building", "outdoor", "waters", "region", "surface")


_SIGHT_WEIGHT = 6  # the Northern lights, the corpus's favourite sight, count as 6 objects


def _objects(spec: Sequence[str]) -> tuple[str, ...]:
    """Object candidates; repeating a noun makes `rng.choice` pick it more often."""
    nouns = _nouns(spec)
    return tuple(k for k in nouns for _ in range(_SIGHT_WEIGHT if NOUNS[k].kind == "sight" else 1))


_OBJECTS = {v.key: _objects(v.obj) for v in VERBS.values()}
_PLACES = {v.key: _nouns(v.places) for v in VERBS.values()}
_KINDS = tuple(dict.fromkeys(n.kind for n in NOUNS.values()))
_BE_PLACES = {kind: _nouns(_be_places(kind)) for kind in _KINDS}
_SUBJECT_VERBS = {kind: tuple(v for v in VERBS.values() if kind in v.subj) for kind in _KINDS}
_ADJECTIVES = {kind: tuple(a for a, adj in ADJECTIVES.items() if kind in adj.kinds) for kind in _KINDS}
_POST_NOUNS = {p: _nouns(post.kinds) for p, post in POSTPOSITIONS.items()}
_SUBJECTS = {v.key: _nouns(v.subj) for v in VERBS.values()}
_SUBJECTS["be"] = _nouns((*ANIMATE, *CONCRETE, "sight", "building", "outdoor", "region"))
_PURPOSES = {kind: tuple(v for v in VERBS.values() if v.as_purpose and kind in v.subj) for kind in _KINDS}
_TIMES = {past: tuple(t for t, adv in TIMES.items() if (adv.past if past else adv.present))
          for past in (False, True)}
_PRONOUNS = tuple(PRONOUNS)
_MAIN = tuple(v for v in VERBS.values())
_THERE_NOUNS = _nouns(("person", "animal", "thing", "food", "drink"))
_THERE_PLACES = _nouns(("building", "outdoor", "waters", "region", "surface"))


def _relative_verbs(key: str) -> dict[str, tuple[Verb, ...]]:
    """For a noun, the verbs of a relative clause on it, by the noun's role there."""
    noun = NOUNS[key]
    table = {
        "subj": _SUBJECT_VERBS[noun.kind] if noun.kind in ANIMATE else (VERBS["be"],),
        "obj": tuple(v for v in VERBS.values() if key in _OBJECTS[v.key]),
        "at": tuple(v for v in VERBS.values() if "at" in v.locs and key in _PLACES[v.key]
                    and v.key != "be"),
        "to": tuple(v for v in VERBS.values() if v.comp == "to" and key in _PLACES[v.key]),
        "from": tuple(v for v in VERBS.values() if v.comp == "from" and key in _PLACES[v.key]),
    }
    if noun.proper and noun.outer:
        # "Rovaniemellä", yet "Rovaniemi, jossa ..." rather than "jolla": leave these out
        table.update(at=(), to=(), **{"from": ()})
    return table


_RELATIVE = {key: _relative_verbs(key) for key in NOUNS}


def _rich_for(words: float) -> float:
    """The richness whose clauses have about this many English words (measured)."""
    return min(max((words - 6.0) / 14.0, 0.0), 1.6)


def _adjectives(subj: Subject) -> tuple[str | None, ...]:
    """Adjectives a subject already carries, itself or in "that is/are ..." after it."""
    if not isinstance(subj, NP):
        return ()
    said = subj.rel.pred.adj if subj.rel and subj.rel.role == "subj" else None
    return (subj.adj, said)


_CUMULATIVE: dict[tuple[Verb, ...], list[int]] = {}  # cumulative weights per verb list
_ROLE_WEIGHTS = {"subj": 5, "obj": 3, "at": 2, "to": 1, "from": 1}


class Grammar:
    """Random sentence structures; `rich` scales the optional parts."""

    def __init__(self, rng: random.Random, rich: float) -> None:
        self.rng = rng
        self.random = rng.random  # bound once: called millions of times
        self.set_rich(rich)

    def set_rich(self, rich: float) -> None:
        """Scale the optional parts: 0 gives short plain sentences, 1.3 long ones."""
        self.rich = rich
        self.p_adj = 0.12 + 0.2 * rich
        self.p_rel = min(0.9, 0.8 * rich)
        self.rel_decay = 0.65 + 0.2 * min(rich, 1.2)  # long sentences nest deeper
        self.p_pred = min(0.5, 0.06 + 0.25 * rich)
        self.p_time = 0.08 + 0.12 * rich
        self.p_loc = min(0.85, 0.35 + 0.3 * rich)

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.random() < p

    def weighted(self, verbs: tuple[Verb, ...]) -> Verb:
        """A verb, drawn by its weight."""
        cumulative = _CUMULATIVE.get(verbs)
        if cumulative is None:
            cumulative = _CUMULATIVE[verbs] = list(accumulate(v.weight for v in verbs))
        return self.rng.choices(verbs, cum_weights=cumulative)[0]

    def sentence(self, low: int = 3, high: int = 60) -> Sentence | None:
        """Coordinated clauses in one tense with low..high English words, or None.

        A target length is drawn inside the range and split over one to four
        clauses; each clause gets the richness that makes about its share likely
        and is drawn again (a few times) when it would overshoot.
        """
        past = self.chance(0.5)
        target = self.rng.randint(low, high)
        planned = self.clause_count(target)
        clauses: list[Clause | There] = []
        words = -1  # each clause after the first adds one word: "and" / "but"
        while words < low or (len(clauses) < planned and words < target):
            if len(clauses) == 4:
                return None
            share = (target - words - 1) / max(planned - len(clauses), 1) - 1
            for _ in range(6):
                self.set_rich(_rich_for(share) * self.rng.uniform(0.8, 1.2))
                clause = self.clause(past)
                n = english.count_words(clause)
                if words + 1 + n <= high:
                    break
            else:
                return None
            clauses.append(clause)
            words += 1 + n
        conjs = tuple(self.rng.choice(("and", "and", "but")) for _ in clauses[1:])
        return Sentence(tuple(clauses), conjs)

    def clause_count(self, target: int) -> int:
        """How many clauses to aim for: one for short sentences, up to three for long."""
        if target < 8:
            return 1
        if target <= 20:
            return self.rng.choices((1, 2), weights=(4, 1))[0]
        if target <= 40:
            return self.rng.choices((1, 2, 3), weights=(4, 3, 1))[0]
        return self.rng.choices((1, 2, 3), weights=(2, 3, 1))[0]

    def clause(self, past: bool) -> Clause | There:
        """A subject with one to three predicates, or now and then "there is"."""
        if self.chance(0.07):
            return self.there(past)
        verb = self.weighted(_MAIN)
        subj, kind = self.subject(verb)
        used = _adjectives(subj)  # "the red houses are red" says nothing
        preds = [self.pred(verb, kind, past, 0, used=used)]
        conjs: list[str] = []
        while len(preds) < 3 and self.chance(self.p_pred):
            conj = self.rng.choice(("and", "and", "but"))
            other = self.weighted(_SUBJECT_VERBS[kind])
            if any(p.verb == other.key for p in preds):
                break  # "is warm but is in the school" reads badly: stop instead
            pred = self.pred(other, kind, past, 0, used=used)
            if conj == "and" and pred.negative:
                pred = replace(pred, negative=False)  # Finnish would want "eikä"
            preds.append(pred)
            conjs.append(conj)
        return Clause(subj, tuple(preds), tuple(conjs))

    def there(self, past: bool) -> There:
        """ "There is a cat on the mat." """
        key = self.rng.choice(_THERE_NOUNS)
        noun = NOUNS[key]
        plural = not noun.mass and self.chance(0.45)
        np = NP(key, plural, "" if plural or noun.mass else "a", self.adjective(noun.kind))
        loc = self.post_loc(noun.kind) if self.chance(0.25) else None
        return There(np, loc or Loc("at", self.np(_THERE_PLACES, "loc")), past, self.chance(0.3))

    def subject(self, verb: Verb, depth: int = 0, with_rel: bool = True) -> tuple[Subject, str]:
        """A subject for the verb, and its noun kind."""
        if "person" in verb.subj and self.chance(0.12):
            return Pronoun(self.rng.choice(_PRONOUNS)), "person"
        key = self.rng.choice(_SUBJECTS[verb.key])
        kind = NOUNS[key].kind
        if kind in ANIMATE and self.chance(0.04):
            other = self.rng.choice(_nouns((kind,)))
            return Both(self.np((key,), "subj"), self.np((other,), "subj")), kind
        np = self.np((key,), "subj")
        if with_rel:
            np = self.attach(np, depth)
        return np, kind

    def np(self, nouns: Sequence[str], role: str) -> NP:
        """A noun phrase without a relative clause; role: subj, obj or loc."""
        key = self.rng.choice(nouns)
        noun = NOUNS[key]
        if noun.proper:
            return NP(key, det="")
        if noun.plural_only or noun.mass:
            return NP(key, det=self.rng.choice(("", "the")), adj=self.adjective(noun.kind))
        plural = self.chance(0.15 if role == "loc" else 0.45)
        if plural:
            det = "the" if role == "loc" or self.chance(0.55) else ""
        else:
            det = "the" if self.chance(0.85 if role == "loc" else 0.7) else "a"
        return NP(key, plural, det, self.adjective(noun.kind))

    def adjective(self, kind: str) -> str | None:
        """Now and then an adjective that fits the noun kind."""
        options = _ADJECTIVES[kind]
        if options and kind != "region" and self.chance(self.p_adj):
            return self.rng.choice(options)
        return None

    def attach(self, np: NP, depth: int) -> NP:
        """Maybe give the noun phrase a relative clause."""
        if depth >= MAX_DEPTH or not self.chance(self.p_rel * self.rel_decay ** depth):
            return np
        rel = self.rel(np, depth + 1)
        return NP(np.noun, np.plural, np.det, np.adj, rel) if rel else np

    def rel(self, np: NP, depth: int) -> Rel | None:
        """A relative clause on np: the cat that sat / the house that we saw / where we live."""
        table = _RELATIVE[np.noun]
        roles = [r for r in _ROLE_WEIGHTS if table[r]]
        if not roles:
            return None
        role = self.rng.choices(roles, weights=[_ROLE_WEIGHTS[r] for r in roles])[0]
        verb = self.weighted(table[role])
        past = self.chance(0.5)
        noun = NOUNS[np.noun]
        restrictive = not noun.proper and self.chance(0.7)  # "Lapland, which ..."
        kind = noun.kind
        if role == "subj":
            return Rel(role, self.pred(verb, kind, past, depth, used=(np.adj,)), None, restrictive)
        subj, subj_kind = self.subject(verb, depth, with_rel=False)
        return Rel(role, self.pred(verb, subj_kind, past, depth, gap=role), subj, restrictive)

    def pred(self, verb: Verb, kind: str, past: bool, depth: int, gap: str = "",
             used: tuple[str | None, ...] = ()) -> Pred:
        """A predicate for a subject of this kind; `gap` is left out for a relative pronoun.

        `used`: adjectives the subject already has, not to be said again after "is".
        """
        negative = self.chance(0.18)
        progressive = verb.progressive and self.chance(0.25)
        obj = None
        if verb.obj and gap != "obj" and (verb.obj_needed or self.chance(0.5)):
            obj = self.np(_OBJECTS[verb.key], "obj")
        adj: str | None = None
        locs: tuple[Loc, ...] = ()
        if verb.key == "be":
            adj, locs = self.be_complement(kind, used)
        elif gap not in ("at", "to", "from"):
            locs = self.locs(verb, kind)
        time = self.time(past)
        purpose = self.purpose(verb, kind) if locs or verb.key != "be" else None
        pred = Pred(verb.key, past, negative, progressive, obj, adj, locs, time, purpose)
        return self.attach_last(pred, depth)

    def be_complement(self, kind: str, used: tuple[str | None, ...]) -> tuple[str | None, tuple[Loc, ...]]:
        """ "is red", "is on the mat" or "is next to the dog"."""
        places = _BE_PLACES[kind]
        adjectives = tuple(a for a in _ADJECTIVES[kind] if a not in used) or _ADJECTIVES[kind]
        if adjectives and (not places or self.chance(0.35)):
            return self.rng.choice(adjectives), ()
        if kind in _POST_SUBJECTS and self.chance(0.3):
            return None, (self.post_loc(kind),)
        return None, (Loc("at", self.np(places, "loc")),)

    def locs(self, verb: Verb, kind: str) -> tuple[Loc, ...]:
        """Where: "in Finland", "to the station", "from Turku to Oulu", "under the table"."""
        if not verb.locs or not (verb.loc_needed or self.chance(self.p_loc)):
            return ()
        places = _PLACES[verb.key]
        if "to" in verb.locs or "from" in verb.locs:
            kinds = [k for k in ("to", "from") if k in verb.locs]
            if len(kinds) == 2:
                r = self.rng.random()
                kinds = ["to"] if r < 0.55 else ["from"] if r < 0.8 else ["from", "to"]
            first = self.np(places, "loc")
            if len(kinds) == 1:
                return (Loc(kinds[0], first),)
            second = self.np([p for p in places if p != first.noun], "loc")
            return (Loc("from", first), Loc("to", second))
        if "post" in verb.locs and kind in _POST_SUBJECTS and self.chance(0.25):
            return (self.post_loc(kind),)
        return (Loc("at", self.np(places, "loc")),)

    def post_loc(self, kind: str) -> Loc:
        """ "next to the dog", "under the table": a postposition with a genitive noun."""
        post = self.rng.choice(tuple(POSTPOSITIONS))
        return Loc(post, self.np(_POST_NOUNS[post], "loc"))

    def time(self, past: bool) -> str | None:
        """Now and then a time phrase that fits the tense."""
        if not self.chance(self.p_time):
            return None
        return self.rng.choice(_TIMES[past])

    def purpose(self, verb: Verb, kind: str) -> Purpose | None:
        """ "to watch Northern lights", after verbs of being somewhere or going."""
        if not verb.purpose or not self.chance(0.45):
            return None
        options = _PURPOSES[kind]
        if not options:
            return None
        chosen = self.weighted(options)
        obj = None
        if chosen.obj and (chosen.obj_needed or self.chance(0.6)):
            obj = self.np(_OBJECTS[chosen.key], "obj")
        return Purpose(chosen.key, obj)

    def attach_last(self, pred: Pred, depth: int) -> Pred:
        """Maybe put a relative clause on the predicate's last noun phrase.

        Only the last one, so the clause never stands between a noun and what
        follows it ("saw the cat in the house" keeps "in the house" unambiguous).
        """
        if pred.purpose:
            if pred.purpose.obj:
                obj = self.attach(pred.purpose.obj, depth)
                if obj is not pred.purpose.obj:
                    return replace(pred, purpose=Purpose(pred.purpose.verb, obj))
        elif pred.time:
            pass
        elif pred.locs and pred.locs[-1].kind not in POSTPOSITIONS:
            last = pred.locs[-1]
            np = self.attach(last.np, depth)
            if np is not last.np:
                return replace(pred, locs=(*pred.locs[:-1], Loc(last.kind, np)))
        elif pred.obj and not pred.locs and not pred.adj:
            obj = self.attach(pred.obj, depth)
            if obj is not pred.obj:
                return replace(pred, obj=obj)
        return pred
