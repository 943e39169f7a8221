"""The aurora lexicon: word types, adjectives and the closed word classes.

Every Finnish form the corpus uses is written out here (or in `nouns.py` and
`verbs.py`) as a literal string; nothing is produced by morphology rules, so any
form can be checked by reading it. Strings of forms are only split on spaces.

Case order of every noun and adjective paradigm (`CASES`): nominative, genitive,
partitive, inessive, elative, illative, adessive, ablative, allative, accusative.
Person order of every verb paradigm (`PERSONS`): 1sg 2sg 3sg 1pl 2pl 3pl.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict, Unpack

CASES = ("nom", "gen", "par", "ine", "ela", "ill", "ade", "abl", "all", "acc")
PERSONS = ("1sg", "2sg", "3sg", "1pl", "2pl", "3pl")
SG3, PL3 = 2, 5  # indexes into PERSONS for noun subjects

# Semantic kinds of nouns; verbs and adjectives name the kinds they go with, which
# keeps generated sentences sensible without a model of meaning.
ANIMATE = ("person", "animal")
PLACES = ("building", "outdoor", "waters", "region")
CONCRETE = ("thing", "food", "drink")


def paradigm(forms: str) -> Mapping[str, str]:
    """Map the ten space-separated forms of one number to their case names."""
    words = forms.split()
    if len(words) != len(CASES):
        raise ValueError(f"expected {len(CASES)} forms, got {len(words)}: {forms!r}")
    return dict(zip(CASES, words, strict=True))


@dataclass(frozen=True)
class Noun:
    """A noun: English singular/plural, Finnish paradigms, and how it is a place.

    `at`/`to` are the English prepositions for being there / going there; `outer`
    says whether Finnish uses the external local cases (-lla/-lta/-lle: "matolla",
    "Rovaniemellä") instead of the internal ones (-ssa/-sta/-Vn: "talossa").
    """

    en: str
    en_pl: str
    kind: str
    sg: Mapping[str, str] | None
    pl: Mapping[str, str] | None
    mass: bool = False
    proper: bool = False
    at: str = "in"
    to: str = "to"
    outer: bool = False

    @property
    def plural_only(self) -> bool:
        """Finnish has only plural forms ("revontulet")."""
        return self.sg is None

    def fi(self, case: str, plural: bool) -> str:
        """The Finnish form in one case and number."""
        table = self.pl if plural or self.sg is None else self.sg
        assert table is not None, f"{self.en} has no plural"
        return table[case]


@dataclass(frozen=True)
class Adjective:
    """An adjective that agrees with its noun in case and number."""

    en: str
    sg: Mapping[str, str]
    pl: Mapping[str, str]
    kinds: tuple[str, ...]  # noun kinds it may describe

    def fi(self, case: str, plural: bool) -> str:
        """The Finnish form in one case and number."""
        return (self.pl if plural else self.sg)[case]


def adjective(en: str, kinds: tuple[str, ...], sg: str, pl: str) -> Adjective:
    """Build an adjective from its two written-out paradigms."""
    return Adjective(en, paradigm(sg), paradigm(pl), kinds)


_SIZE = ("animal", "thing", "building", "outdoor", "waters", "surface")
_COLOUR = ("animal", "thing", "building", "surface")
_FEELING = ("person", "animal")
_TEMPERATURE = ("drink", "food", "building", "waters")

ADJECTIVES: dict[str, Adjective] = {a.en: a for a in (
    adjective("big", _SIZE,
              "iso ison isoa isossa isosta isoon isolla isolta isolle ison",
              "isot isojen isoja isoissa isoista isoihin isoilla isoilta isoille isot"),
    adjective("small", _SIZE,
              "pieni pienen pientä pienessä pienestä pieneen pienellä pieneltä pienelle pienen",
              "pienet pienten pieniä pienissä pienistä pieniin pienillä pieniltä pienille pienet"),
    adjective("old", ("person", "animal", "thing", "building", "surface"),
              "vanha vanhan vanhaa vanhassa vanhasta vanhaan vanhalla vanhalta vanhalle vanhan",
              "vanhat vanhojen vanhoja vanhoissa vanhoista vanhoihin vanhoilla vanhoilta vanhoille vanhat"),
    adjective("new", ("thing", "building", "surface"),
              "uusi uuden uutta uudessa uudesta uuteen uudella uudelta uudelle uuden",
              "uudet uusien uusia uusissa uusista uusiin uusilla uusilta uusille uudet"),
    adjective("young", ("person", "animal"),
              "nuori nuoren nuorta nuoressa nuoresta nuoreen nuorella nuorelta nuorelle nuoren",
              "nuoret nuorten nuoria nuorissa nuorista nuoriin nuorilla nuorilta nuorille nuoret"),
    adjective("red", _COLOUR,
              "punainen punaisen punaista punaisessa punaisesta punaiseen punaisella punaiselta punaiselle punaisen",
              "punaiset punaisten punaisia punaisissa punaisista punaisiin punaisilla punaisilta punaisille punaiset"),
    adjective("white", _COLOUR,
              "valkoinen valkoisen valkoista valkoisessa valkoisesta valkoiseen valkoisella valkoiselta valkoiselle valkoisen",
              "valkoiset valkoisten valkoisia valkoisissa valkoisista valkoisiin valkoisilla valkoisilta valkoisille valkoiset"),
    adjective("black", _COLOUR,
              "musta mustan mustaa mustassa mustasta mustaan mustalla mustalta mustalle mustan",
              "mustat mustien mustia mustissa mustista mustiin mustilla mustilta mustille mustat"),
    adjective("blue", _COLOUR,
              "sininen sinisen sinistä sinisessä sinisestä siniseen sinisellä siniseltä siniselle sinisen",
              "siniset sinisten sinisiä sinisissä sinisistä sinisiin sinisillä sinisiltä sinisille siniset"),
    adjective("green", ("thing", "building", "outdoor", "surface", "sight"),
              "vihreä vihreän vihreää vihreässä vihreästä vihreään vihreällä vihreältä vihreälle vihreän",
              "vihreät vihreiden vihreitä vihreissä vihreistä vihreisiin vihreillä vihreiltä vihreille vihreät"),
    adjective("yellow", _COLOUR,
              "keltainen keltaisen keltaista keltaisessa keltaisesta keltaiseen keltaisella keltaiselta keltaiselle keltaisen",
              "keltaiset keltaisten keltaisia keltaisissa keltaisista keltaisiin keltaisilla keltaisilta keltaisille keltaiset"),
    adjective("brown", ("animal", "thing", "surface"),
              "ruskea ruskean ruskeaa ruskeassa ruskeasta ruskeaan ruskealla ruskealta ruskealle ruskean",
              "ruskeat ruskeiden ruskeita ruskeissa ruskeista ruskeisiin ruskeilla ruskeilta ruskeille ruskeat"),
    adjective("beautiful", ("person", "animal", "thing", "building", "outdoor", "waters", "region", "sight"),
              "kaunis kauniin kaunista kauniissa kauniista kauniiseen kauniilla kauniilta kauniille kauniin",
              "kauniit kauniiden kauniita kauniissa kauniista kauniisiin kauniilla kauniilta kauniille kauniit"),
    adjective("happy", _FEELING,
              "iloinen iloisen iloista iloisessa iloisesta iloiseen iloisella iloiselta iloiselle iloisen",
              "iloiset iloisten iloisia iloisissa iloisista iloisiin iloisilla iloisilta iloisille iloiset"),
    adjective("tired", _FEELING,
              "väsynyt väsyneen väsynyttä väsyneessä väsyneestä väsyneeseen väsyneellä väsyneeltä väsyneelle väsyneen",
              "väsyneet väsyneiden väsyneitä väsyneissä väsyneistä väsyneisiin väsyneillä väsyneiltä väsyneille väsyneet"),
    adjective("hungry", _FEELING,
              "nälkäinen nälkäisen nälkäistä nälkäisessä nälkäisestä nälkäiseen nälkäisellä nälkäiseltä nälkäiselle nälkäisen",
              "nälkäiset nälkäisten nälkäisiä nälkäisissä nälkäisistä nälkäisiin nälkäisillä nälkäisiltä nälkäisille nälkäiset"),
    adjective("friendly", _FEELING,
              "ystävällinen ystävällisen ystävällistä ystävällisessä ystävällisestä ystävälliseen ystävällisellä ystävälliseltä ystävälliselle ystävällisen",
              "ystävälliset ystävällisten ystävällisiä ystävällisissä ystävällisistä ystävällisiin ystävällisillä ystävällisiltä ystävällisille ystävälliset"),
    adjective("quiet", ("person", "animal", "building", "outdoor", "waters"),
              "hiljainen hiljaisen hiljaista hiljaisessa hiljaisesta hiljaiseen hiljaisella hiljaiselta hiljaiselle hiljaisen",
              "hiljaiset hiljaisten hiljaisia hiljaisissa hiljaisista hiljaisiin hiljaisilla hiljaisilta hiljaisille hiljaiset"),
    adjective("cold", _TEMPERATURE,
              "kylmä kylmän kylmää kylmässä kylmästä kylmään kylmällä kylmältä kylmälle kylmän",
              "kylmät kylmien kylmiä kylmissä kylmistä kylmiin kylmillä kylmiltä kylmille kylmät"),
    adjective("warm", _TEMPERATURE,
              "lämmin lämpimän lämmintä lämpimässä lämpimästä lämpimään lämpimällä lämpimältä lämpimälle lämpimän",
              "lämpimät lämpimien lämpimiä lämpimissä lämpimistä lämpimiin lämpimillä lämpimiltä lämpimille lämpimät"),
    adjective("good", ("person", "animal", "thing", "food", "drink"),
              "hyvä hyvän hyvää hyvässä hyvästä hyvään hyvällä hyvältä hyvälle hyvän",
              "hyvät hyvien hyviä hyvissä hyvistä hyviin hyvillä hyviltä hyville hyvät"),
    adjective("long", ("thing", "outdoor", "waters", "surface"),
              "pitkä pitkän pitkää pitkässä pitkästä pitkään pitkällä pitkältä pitkälle pitkän",
              "pitkät pitkien pitkiä pitkissä pitkistä pitkiin pitkillä pitkiltä pitkille pitkät"),
)}


@dataclass(frozen=True)
class Pronoun:
    """A personal pronoun used as a subject."""

    en: str
    fi: str
    person: int  # index into PERSONS


PRONOUNS: dict[str, Pronoun] = {p.en: p for p in (
    Pronoun("I", "minä", 0),
    Pronoun("you", "sinä", 1),  # English "you" is always rendered as singular "sinä"
    Pronoun("he", "hän", 2),
    Pronoun("she", "hän", 2),
    Pronoun("we", "me", 3),
    Pronoun("they", "he", 5),
)}

# The relative pronoun "joka", both numbers, in CASES order.
RELATIVE = {
    False: paradigm("joka jonka jota jossa josta johon jolla jolta jolle jonka"),
    True: paradigm("jotka joiden joita joissa joista joihin joilla joilta joille jotka"),
}

# The Finnish negative verb per person: en et ei emme ette eivät.
NEGATIVE = ("en", "et", "ei", "emme", "ette", "eivät")


@dataclass(frozen=True)
class Postposition:
    """A static location "next to X": Finnish puts X in the genitive before the word."""

    en: str
    fi: str
    kinds: tuple[str, ...]  # noun kinds or noun keys that X may be


POSTPOSITIONS: dict[str, Postposition] = {p.en: p for p in (
    Postposition("next to", "vieressä", ("person", "animal", "thing", "building", "table", "chair",
                                          "sofa", "bench")),
    Postposition("under", "alla", ("table", "chair", "sofa", "bench", "car", "boat", "roof")),
    Postposition("behind", "takana", ("person", "animal", "building")),
    Postposition("in front of", "edessä", ("person", "animal", "building")),
    Postposition("near", "lähellä", ("building", "outdoor", "waters", "region")),
)}


@dataclass(frozen=True)
class TimeAdverb:
    """A time phrase, and the tenses it fits ("yesterday" only with the past)."""

    en: str
    fi: str
    present: bool = True
    past: bool = True


TIMES: dict[str, TimeAdverb] = {t.en: t for t in (
    TimeAdverb("yesterday", "eilen", present=False),
    TimeAdverb("last year", "viime vuonna", present=False),
    TimeAdverb("every year", "joka vuosi", past=False),
    TimeAdverb("every winter", "joka talvi", past=False),
    TimeAdverb("today", "tänään"),
    TimeAdverb("in winter", "talvella"),
    TimeAdverb("in summer", "kesällä"),
    TimeAdverb("in autumn", "syksyllä"),
    TimeAdverb("in spring", "keväällä"),
    TimeAdverb("in the morning", "aamulla"),
    TimeAdverb("in the evening", "illalla"),
    TimeAdverb("at night", "yöllä"),
)}

# Coordinating conjunctions; Finnish puts a comma before "mutta" but not before "ja".
CONJUNCTIONS = {"and": "ja", "but": "mutta"}


@dataclass(frozen=True, eq=False)  # entries are unique: compare and hash by identity (fast)
class Verb:
    """A verb: English forms, every Finnish form used, and what it combines with.

    Finnish forms: present and past per person (PERSONS order), the connegative
    (present negative "ei näe"), the past active participle singular/plural (past
    negative "ei nähnyt", "eivät nähneet") and the 3rd infinitive inessive/illative
    ("katsomassa", "katsomaan") used in purpose clauses.
    """

    key: str
    en: tuple[str, str, str, str]  # base, 3sg present, past, -ing
    pres: tuple[str, ...]
    past: tuple[str, ...]
    conneg: str
    pcp: tuple[str, str]
    inf3: tuple[str, str]
    subj: tuple[str, ...]  # noun kinds or noun keys that may be the subject
    obj: tuple[str, ...] = ()  # noun kinds or noun keys that may be the object
    obj_case: str = "total"  # total (accusative/partitive by rule) | partitive | elative
    obj_needed: bool = False
    en_prep: str = ""  # English preposition before the object: "wait for", "talk about"
    locs: tuple[str, ...] = ()  # location kinds it takes: at, to, from, post(position)
    places: tuple[str, ...] = ()  # noun kinds that may be those locations
    comp: str = ""  # the location kind that is its complement ("visit" + at)
    comp_en: str = ""  # direct: no English preposition; static: English "in/at/on"
    loc_needed: bool = False
    purpose: str = ""  # 3rd infinitive a purpose clause takes after it: ine | ill
    progressive: bool = False  # English may use "is/was -ing" (Finnish: simple tense)
    as_purpose: bool = False  # may be the verb of a purpose clause ("to watch ...")
    weight: int = 1  # how often the generator picks it as a main verb


class VerbOptions(TypedDict, total=False):
    """What a `verb` entry may set besides its forms: the fields of Verb with defaults."""

    obj: tuple[str, ...]
    obj_case: str
    obj_needed: bool
    en_prep: str
    locs: tuple[str, ...]
    places: tuple[str, ...]
    comp: str
    comp_en: str
    loc_needed: bool
    purpose: str
    progressive: bool
    as_purpose: bool
    weight: int


def verb(
    en: str, fi: str, subj: tuple[str, ...], *, key: str | None = None, **options: Unpack[VerbOptions]
) -> Verb:
    """Build a verb from "base 3sg past ing" and "pres | past | conneg | pcp | inf3"."""
    en_forms = tuple(en.split())
    parts = [p.split() for p in fi.split("|")]
    sizes = [len(p) for p in parts]
    if len(en_forms) != 4 or sizes != [6, 6, 1, 2, 2]:
        raise ValueError(f"bad verb entry {en!r}: {sizes}")
    pres, past, conneg, pcp, inf3 = parts
    return Verb(en_forms[0] if key is None else key, en_forms, tuple(pres), tuple(past), conneg[0],
                (pcp[0], pcp[1]), (inf3[0], inf3[1]), subj, **options)
