"""The aurora corpus: hand-written translations, the lexicon, and the shipped files.

The pairs below are written by hand (not copied from the generator's output);
each structure must render to exactly these English and Finnish sentences, which
is where mistakes in cases, agreement, negation and commas get caught.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.data.aurora import english, finnish
from seqcli.data.aurora.__main__ import format_stats, main
from seqcli.data.aurora.generate import (
    BUCKETS,
    MAX_WORDS,
    MIN_WORDS,
    SEEDS,
    TEST_PER_BUCKET,
    bucket_of,
    statistics,
)
from seqcli.data.aurora.grammar import Grammar
from seqcli.data.aurora.lexicon import (
    ADJECTIVES,
    CASES,
    NEGATIVE,
    POSTPOSITIONS,
    PRONOUNS,
    RELATIVE,
    TIMES,
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
    There,
)
from seqcli.data.aurora.verbs import VERBS

SHIPPED = Path(__file__).resolve().parents[1] / "corpora" / "aurora"
FILES = [f"{split}.{lang}" for split in ("train", "valid", "test") for lang in ("en", "fi")]


def sg(noun: str, det: str = "the", **kw: object) -> NP:
    return NP(noun, False, det, **kw)  # type: ignore[arg-type]


def pl(noun: str, det: str = "the", **kw: object) -> NP:
    return NP(noun, True, det, **kw)  # type: ignore[arg-type]


def name(noun: str) -> NP:
    return NP(noun, det="")


def say(subj: NP | Pronoun | Both, *preds: Pred, conjs: tuple[str, ...] = ()) -> Sentence:
    return Sentence((Clause(subj, preds, conjs),))


def at(np: NP) -> tuple[Loc]:
    return (Loc("at", np),)


ME, YOU, SHE, WE, THEY = (Pronoun(w) for w in ("I", "you", "she", "we", "they"))
NL = NP("Northern lights", det="")

CASES_BY_HAND = [
    # the seed sentences
    (SEEDS[0], "Tourists visit Finland to watch Northern lights.",
     "Turistit vierailevat Suomessa katsomassa revontulia."),
    (SEEDS[1], "The cat is on the mat.", "Kissa on matolla."),
    (SEEDS[2], "The cat that was sitting on the mat, which was next to the dog, jumped.",
     "Kissa, joka istui matolla, joka oli koiran vieressä, hyppäsi."),
    # objects: accusative, partitive, elative; agreement; negation
    (say(sg("tourist"), Pred("see", past=True, obj=sg("cat", "a"))), "The tourist saw a cat.",
     "Turisti näki kissan."),
    (say(pl("tourist", ""), Pred("watch", obj=NL)), "Tourists watch Northern lights.",
     "Turistit katsovat revontulia."),
    (say(pl("tourist"), Pred("see", negative=True, obj=sg("cat"))), "The tourists do not see the cat.",
     "Turistit eivät näe kissaa."),
    (say(pl("student"), Pred("see", past=True, obj=pl("cat"))), "The students saw the cats.",
     "Opiskelijat näkivät kissat."),
    (say(pl("student"), Pred("see", past=True, negative=True, obj=pl("cat"))),
     "The students did not see the cats.", "Opiskelijat eivät nähneet kissoja."),
    (say(sg("girl"), Pred("buy", past=True, negative=True, obj=sg("book"))),
     "The girl did not buy the book.", "Tyttö ei ostanut kirjaa."),
    (say(pl("child"), Pred("pick", past=True, obj=pl("berry", ""))), "The children picked berries.",
     "Lapset poimivat marjoja."),
    (say(pl("child"), Pred("pick", past=True, obj=pl("berry"))), "The children picked the berries.",
     "Lapset poimivat marjat."),
    (say(sg("teacher"), Pred("drink", obj=sg("coffee", ""))), "The teacher drinks coffee.",
     "Opettaja juo kahvia."),
    (say(sg("teacher"), Pred("drink", past=True, obj=sg("coffee"))), "The teacher drank the coffee.",
     "Opettaja joi kahvin."),
    (say(pl("child"), Pred("like", obj=sg("dog"))), "The children like the dog.", "Lapset pitävät koirasta."),
    (say(sg("guide"), Pred("talk", past=True, obj=pl("bear"))), "The guide talked about the bears.",
     "Opas puhui karhuista."),
    (say(sg("dog"), Pred("wait", progressive=True, obj=sg("boy"))), "The dog is waiting for the boy.",
     "Koira odottaa poikaa."),
    (say(WE, Pred("help", obj=pl("tourist"))), "We help the tourists.", "Me autamme turisteja."),
    (say(ME, Pred("see", past=True, obj=sg("reindeer"))), "I saw the reindeer.", "Minä näin poron."),
    (say(YOU, Pred("like", negative=True, obj=sg("coffee", ""))), "You do not like coffee.",
     "Sinä et pidä kahvista."),
    (say(WE, Pred("travel", past=True, negative=True, locs=(Loc("to", name("Lapland")),))),
     "We did not travel to Lapland.", "Me emme matkustaneet Lappiin."),
    (say(SHE, Pred("read", past=True, obj=sg("book", "a"))), "She read a book.", "Hän luki kirjan."),
    (say(THEY, Pred("be", past=True, adj="tired")), "They were tired.", "He olivat väsyneitä."),
    (say(ME, Pred("be", adj="happy")), "I am happy.", "Minä olen iloinen."),
    (say(WE, Pred("be", adj="happy")), "We are happy.", "Me olemme iloisia."),
    (say(YOU, Pred("be", past=True, locs=at(name("Oulu")))), "You were in Oulu.", "Sinä olit Oulussa."),
    # places: inner and outer local cases, irregular stems
    (say(pl("student"), Pred("live", locs=at(name("Helsinki")))), "The students live in Helsinki.",
     "Opiskelijat asuvat Helsingissä."),
    (say(pl("tourist"), Pred("travel", past=True, locs=(Loc("to", name("Finland")),))),
     "The tourists travelled to Finland.", "Turistit matkustivat Suomeen."),
    (say(pl("tourist"), Pred("come", past=True, locs=(Loc("from", name("Finland")),))),
     "The tourists came from Finland.", "Turistit tulivat Suomesta."),
    (say(pl("student", ""), Pred("visit", locs=at(name("Lapland")), purpose=Purpose("watch", pl("reindeer", "")))),
     "Students visit Lapland to watch reindeer.", "Opiskelijat vierailevat Lapissa katsomassa poroja."),
    (say(pl("tourist", ""), Pred("travel", locs=(Loc("to", name("Finland")),), purpose=Purpose("watch", NL))),
     "Tourists travel to Finland to watch Northern lights.",
     "Turistit matkustavat Suomeen katsomaan revontulia."),
    (say(sg("cat"), Pred("jump", past=True, locs=(Loc("to", sg("table")),))), "The cat jumped onto the table.",
     "Kissa hyppäsi pöydälle."),
    (say(sg("cat"), Pred("jump", past=True, locs=(Loc("from", sg("table")),))), "The cat jumped from the table.",
     "Kissa hyppäsi pöydältä."),
    (say(sg("book"), Pred("be", locs=at(sg("table")))), "The book is on the table.", "Kirja on pöydällä."),
    (say(pl("child"), Pred("run", past=True, locs=(Loc("from", sg("house")), Loc("to", sg("sauna"))))),
     "The children ran from the house to the sauna.", "Lapset juoksivat talosta saunaan."),
    (say(sg("guide"), Pred("live", locs=at(name("Rovaniemi")))), "The guide lives in Rovaniemi.",
     "Opas asuu Rovaniemellä."),
    (say(pl("student"), Pred("travel", past=True, locs=(Loc("from", name("Rovaniemi")), Loc("to", name("Tampere"))))),
     "The students travelled from Rovaniemi to Tampere.", "Opiskelijat matkustivat Rovaniemeltä Tampereelle."),
    (say(pl("tourist"), Pred("wait", past=True, locs=at(sg("station")))), "The tourists waited at the station.",
     "Turistit odottivat asemalla."),
    (say(pl("tourist"), Pred("arrive", past=True, locs=(Loc("to", sg("airport")),))),
     "The tourists arrived at the airport.", "Turistit saapuivat lentokentälle."),
    (say(pl("tourist"), Pred("arrive", past=True, locs=(Loc("to", name("Helsinki")),))),
     "The tourists arrived in Helsinki.", "Turistit saapuivat Helsinkiin."),
    (say(pl("student"), Pred("leave", past=True, locs=(Loc("from", sg("hotel")),))),
     "The students left the hotel.", "Opiskelijat lähtivät hotellista."),
    (say(pl("friend"), Pred("stay", past=True, locs=at(sg("island")))), "The friends stayed on the island.",
     "Ystävät viipyivät saarella."),
    (say(pl("fisherman"), Pred("fish", past=True, locs=at(sg("lake")))), "The fishermen fished at the lake.",
     "Kalastajat kalastivat järvellä."),
    (say(pl("tourist"), Pred("travel", past=True, locs=(Loc("to", sg("island", "a")),))),
     "The tourists travelled to an island.", "Turistit matkustivat saarelle."),
    # postpositions take the genitive
    (say(sg("cat"), Pred("sleep", progressive=True, locs=(Loc("under", sg("table")),))),
     "The cat is sleeping under the table.", "Kissa nukkuu pöydän alla."),
    (say(sg("dog"), Pred("sit", past=True, locs=(Loc("behind", sg("house")),))), "The dog sat behind the house.",
     "Koira istui talon takana."),
    (say(pl("dog"), Pred("be", locs=(Loc("next to", pl("cat")),))), "The dogs are next to the cats.",
     "Koirat ovat kissojen vieressä."),
    (say(sg("cat"), Pred("sleep", locs=(Loc("next to", sg("dog", adj="big")),))),
     "The cat sleeps next to the big dog.", "Kissa nukkuu ison koiran vieressä."),
    # adjectives agree in case and number
    (say(sg("cat", adj="big"), Pred("be", locs=at(sg("mat", adj="small")))), "The big cat is on the small mat.",
     "Iso kissa on pienellä matolla."),
    (say(pl("man", adj="old"), Pred("live", locs=at(pl("house", adj="big")))),
     "The old men live in the big houses.", "Vanhat miehet asuvat isoissa taloissa."),
    (say(sg("girl"), Pred("walk", past=True, locs=(Loc("to", sg("school", adj="old")),))),
     "The girl walked to the old school.", "Tyttö käveli vanhaan kouluun."),
    (say(pl("boy"), Pred("come", past=True, locs=(Loc("from", sg("library", adj="new")),))),
     "The boys came from the new library.", "Pojat tulivat uudesta kirjastosta."),
    (say(sg("bird"), Pred("jump", past=True, locs=(Loc("from", sg("roof", adj="red")),))),
     "The bird jumped from the red roof.", "Lintu hyppäsi punaiselta katolta."),
    (say(sg("dog"), Pred("jump", past=True, locs=(Loc("to", sg("sofa", adj="white")),))),
     "The dog jumped onto the white sofa.", "Koira hyppäsi valkoiselle sohvalle."),
    (say(pl("tourist"), Pred("buy", past=True, obj=pl("picture", "", adj="beautiful"))),
     "The tourists bought beautiful pictures.", "Turistit ostivat kauniita kuvia."),
    (say(sg("tourist"), Pred("see", past=True, obj=sg("bird", "a", adj="beautiful"))),
     "The tourist saw a beautiful bird.", "Turisti näki kauniin linnun."),
    (say(pl("child"), Pred("see", past=True, negative=True, obj=pl("cat", adj="black"))),
     "The children did not see the black cats.", "Lapset eivät nähneet mustia kissoja."),
    (say(sg("owl", "a", adj="old"), Pred("live", locs=at(sg("forest")))), "An old owl lives in the forest.",
     "Vanha pöllö asuu metsässä."),
    # predicative adjectives: nominative, partitive plural, partitive mass, plural-only nouns
    (say(pl("house"), Pred("be", adj="red")), "The houses are red.", "Talot ovat punaisia."),
    (say(sg("house"), Pred("be", negative=True, adj="red")), "The house is not red.", "Talo ei ole punainen."),
    (say(sg("coffee"), Pred("be", adj="warm")), "The coffee is warm.", "Kahvi on lämmintä."),
    (say(sg("water"), Pred("be", past=True, adj="cold")), "The water was cold.", "Vesi oli kylmää."),
    (say(NP("Northern lights"), Pred("be", adj="beautiful")), "The Northern lights are beautiful.",
     "Revontulet ovat kauniit."),
    (say(Both(sg("cat"), sg("dog")), Pred("be", adj="hungry")), "The cat and the dog are hungry.",
     "Kissa ja koira ovat nälkäisiä."),
    # relative clauses: the pronoun takes the case of its role
    (say(sg("house", rel=Rel("obj", Pred("see", past=True), pl("tourist"))), Pred("be", locs=at(name("Lapland")))),
     "The house that the tourists saw is in Lapland.", "Talo, jonka turistit näkivät, on Lapissa."),
    (say(pl("house", rel=Rel("obj", Pred("see", past=True), pl("tourist"))), Pred("be", locs=at(name("Lapland")))),
     "The houses that the tourists saw are in Lapland.", "Talot, jotka turistit näkivät, ovat Lapissa."),
    (say(sg("cat", rel=Rel("obj", Pred("see", negative=True), pl("child"))), Pred("sleep", progressive=True)),
     "The cat that the children do not see is sleeping.", "Kissa, jota lapset eivät näe, nukkuu."),
    (say(pl("reindeer", rel=Rel("obj", Pred("watch", past=True), pl("tourist"))),
         Pred("be", past=True, locs=at(sg("forest")))),
     "The reindeer that the tourists watched were in the forest.",
     "Porot, joita turistit katsoivat, olivat metsässä."),
    (say(sg("house", rel=Rel("at", Pred("live"), pl("student"))), Pred("be", adj="old")),
     "The house where the students live is old.", "Talo, jossa opiskelijat asuvat, on vanha."),
    (say(sg("island", rel=Rel("at", Pred("stay", past=True), pl("tourist"))), Pred("be", adj="beautiful")),
     "The island where the tourists stayed is beautiful.", "Saari, jolla turistit viipyivät, on kaunis."),
    (say(sg("city", rel=Rel("at", Pred("visit", past=True), pl("tourist"))), Pred("be", locs=at(name("Finland")))),
     "The city that the tourists visited is in Finland.", "Kaupunki, jossa turistit vierailivat, on Suomessa."),
    (say(sg("hotel", rel=Rel("from", Pred("leave", past=True), pl("student"))), Pred("be", past=True, adj="new")),
     "The hotel that the students left was new.", "Hotelli, josta opiskelijat lähtivät, oli uusi."),
    (say(sg("city", rel=Rel("to", Pred("arrive", past=True), pl("tourist"))), Pred("be", locs=at(name("Lapland")))),
     "The city where the tourists arrived is in Lapland.", "Kaupunki, johon turistit saapuivat, on Lapissa."),
    (say(sg("village", rel=Rel("from", Pred("come", past=True), pl("guide"))), Pred("be", adj="small")),
     "The village that the guides came from is small.", "Kylä, josta oppaat tulivat, on pieni."),
    (say(sg("dog", rel=Rel("obj", Pred("talk", past=True), pl("child"))), Pred("be", adj="black")),
     "The dog that the children talked about is black.", "Koira, josta lapset puhuivat, on musta."),
    (say(sg("guide", rel=Rel("subj", Pred("live", locs=at(name("Inari"))), restrictive=False)),
         Pred("meet", past=True, obj=pl("tourist"))),
     "The guide, who lives in Inari, met the tourists.", "Opas, joka asuu Inarissa, tapasi turistit."),
    (say(sg("teacher", rel=Rel("obj", Pred("love"), pl("student"), restrictive=False)),
         Pred("work", locs=at(name("Turku")))),
     "The teacher, whom the students love, works in Turku.",
     "Opettaja, jota opiskelijat rakastavat, työskentelee Turussa."),
    (say(pl("tourist"), Pred("see", past=True, obj=pl("reindeer", rel=Rel(
        "subj", Pred("stand", past=True, progressive=True, locs=at(sg("forest"))))))),
     "The tourists saw the reindeer that were standing in the forest.",
     "Turistit näkivät porot, jotka seisoivat metsässä."),
    (say(pl("girl"), Pred("find", past=True, obj=pl("key", rel=Rel(
        "obj", Pred("look for", past=True, progressive=True), pl("boy"), restrictive=False)))),
     "The girls found the keys, which the boys were looking for.", "Tytöt löysivät avaimet, joita pojat etsivät."),
    (say(pl("tourist"), Pred("visit", past=True, locs=at(pl("city", rel=Rel("at", Pred("live"), pl("student")))))),
     "The tourists visited the cities where the students live.",
     "Turistit vierailivat kaupungeissa, joissa opiskelijat asuvat."),
    # coordination: no comma before "ja", a comma before "mutta"
    (say(pl("tourist"), Pred("visit", past=True, locs=at(name("Finland"))), Pred("watch", past=True, obj=NL),
         conjs=("and",)),
     "The tourists visited Finland and watched Northern lights.",
     "Turistit vierailivat Suomessa ja katsoivat revontulia."),
    (say(pl("tourist"), Pred("visit", past=True, locs=at(name("Lapland"))),
         Pred("see", past=True, negative=True, obj=NL), conjs=("but",)),
     "The tourists visited Lapland but did not see Northern lights.",
     "Turistit vierailivat Lapissa, mutta eivät nähneet revontulia."),
    (Sentence((Clause(sg("cat"), (Pred("sleep"),)), Clause(sg("dog"), (Pred("eat"),))), ("and",)),
     "The cat sleeps, and the dog eats.", "Kissa nukkuu ja koira syö."),
    (Sentence((Clause(pl("student"), (Pred("go", past=True, locs=(Loc("to", name("Helsinki")),)),)),
               Clause(sg("teacher"), (Pred("stay", past=True, locs=at(name("Turku"))),))), ("but",)),
     "The students went to Helsinki, but the teacher stayed in Turku.",
     "Opiskelijat menivät Helsinkiin, mutta opettaja viipyi Turussa."),
    (say(Both(sg("cat"), sg("dog")), Pred("be", locs=at(sg("mat")))), "The cat and the dog are on the mat.",
     "Kissa ja koira ovat matolla."),
    (Sentence((Clause(sg("cat"), (Pred("sit", past=True, locs=at(sg("mat", rel=Rel(
        "subj", Pred("be", past=True, locs=(Loc("next to", sg("dog")),)), restrictive=False)))),)),
        Clause(sg("dog"), (Pred("sleep", past=True),))), ("and",)),
     "The cat sat on the mat, which was next to the dog, and the dog slept.",
     "Kissa istui matolla, joka oli koiran vieressä, ja koira nukkui."),
    # existential clauses: place first, partitive for plurals, mass nouns and negation
    (Sentence((There(sg("cat", "a"), Loc("at", sg("mat"))),)), "There is a cat on the mat.", "Matolla on kissa."),
    (Sentence((There(pl("reindeer", ""), Loc("at", name("Lapland"))),)), "There are reindeer in Lapland.",
     "Lapissa on poroja."),
    (Sentence((There(pl("bear", ""), Loc("at", sg("forest")), past=True, negative=True),)),
     "There were no bears in the forest.", "Metsässä ei ollut karhuja."),
    (Sentence((There(sg("coffee", ""), Loc("at", sg("table"))),)), "There is coffee on the table.",
     "Pöydällä on kahvia."),
    # time, purpose (-massa after being, -maan after motion), progressive, irregular participles
    (say(pl("tourist"), Pred("travel", past=True, locs=(Loc("to", name("Lapland")),), time="in winter",
                              purpose=Purpose("watch", NL))),
     "The tourists travelled to Lapland in winter to watch Northern lights.",
     "Turistit matkustivat Lappiin talvella katsomaan revontulia."),
    (say(pl("student", ""), Pred("go", past=True, locs=(Loc("to", sg("forest")),),
                                 purpose=Purpose("pick", pl("berry", "")))),
     "Students went to the forest to pick berries.", "Opiskelijat menivät metsään poimimaan marjoja."),
    (say(pl("child"), Pred("go", past=True, locs=(Loc("to", sg("lake")),), purpose=Purpose("swim"))),
     "The children went to the lake to swim.", "Lapset menivät järvelle uimaan."),
    (say(pl("photographer"), Pred("be", locs=at(name("Inari")), purpose=Purpose("photograph", NL))),
     "The photographers are in Inari to photograph Northern lights.",
     "Valokuvaajat ovat Inarissa valokuvaamassa revontulia."),
    (say(pl("tourist", ""), Pred("come", past=True, locs=(Loc("to", name("Helsinki")),),
                                 purpose=Purpose("see", NP("Northern lights")))),
     "Tourists came to Helsinki to see the Northern lights.",
     "Turistit tulivat Helsinkiin näkemään revontulet."),
    (say(sg("cat"), Pred("sleep", past=True, negative=True, progressive=True, locs=at(sg("sofa")))),
     "The cat was not sleeping on the sofa.", "Kissa ei nukkunut sohvalla."),
    (say(pl("man"), Pred("stand", past=True, negative=True, progressive=True, locs=at(sg("station")))),
     "The men were not standing at the station.", "Miehet eivät seisseet asemalla."),
    (say(pl("student"), Pred("visit", past=True, negative=True, locs=at(sg("museum")))),
     "The students did not visit the museum.", "Opiskelijat eivät vierailleet museossa."),
    (say(sg("child"), Pred("ski", time="yesterday", past=True)), "The child skied yesterday.",
     "Lapsi hiihti eilen."),
    # a subject 20 words before its verb
    (say(pl("tourist", rel=Rel("subj", Pred("travel", past=True, locs=(
        Loc("from", name("Turku")), Loc("to", sg("city", adj="old", rel=Rel("subj", Pred("be", locs=at(
            NP("Lapland", det="", rel=Rel("at", Pred("fish", time="in winter"), pl("child", adj="small"),
                                          restrictive=False)))), restrictive=False))))))),
         Pred("watch", past=True, obj=NL)),
     "The tourists who travelled from Turku to the old city, which is in Lapland, where the small children "
     "fish in winter, watched Northern lights.",
     "Turistit, jotka matkustivat Turusta vanhaan kaupunkiin, joka on Lapissa, jossa pienet lapset "
     "kalastavat talvella, katsoivat revontulia."),
]


@pytest.mark.parametrize("sentence,en,fi", CASES_BY_HAND, ids=[c[1][:40] for c in CASES_BY_HAND])
def test_hand_written_pairs(sentence: Sentence, en: str, fi: str) -> None:
    assert english.render(sentence) == en
    assert finnish.render(sentence) == fi


def test_enough_hand_written_pairs() -> None:
    assert len(CASES_BY_HAND) >= 50
    assert len({en for _, en, _ in CASES_BY_HAND}) == len(CASES_BY_HAND)


# --- the lexicon -------------------------------------------------------------


def test_accusative_is_genitive_singular_and_nominative_plural() -> None:
    for key, noun in NOUNS.items():
        if noun.sg:
            assert noun.sg["acc"] == noun.sg["gen"], key
        if noun.pl:
            assert noun.pl["acc"] == noun.pl["nom"], key
        assert noun.sg or noun.pl, key
    for key, adj in ADJECTIVES.items():
        assert adj.sg["acc"] == adj.sg["gen"] and adj.pl["acc"] == adj.pl["nom"], key
    assert RELATIVE[False]["acc"] == "jonka" and RELATIVE[True]["acc"] == "jotka"


def test_every_paradigm_is_complete_and_written_out() -> None:
    for noun in NOUNS.values():
        for table in (noun.sg, noun.pl):
            assert table is None or (list(table) == list(CASES) and all(table.values()))
    aurora = NOUNS["Northern lights"]
    assert aurora.plural_only and aurora.fi("par", plural=False) == "revontulia"
    for verb in VERBS.values():
        assert len(verb.pres) == len(verb.past) == len(NEGATIVE) == 6, verb.key
        assert verb.inf3[0].endswith(("massa", "mässä")) and verb.inf3[1].endswith(("maan", "mään")), verb.key


def test_every_kind_and_key_a_verb_names_exists() -> None:
    kinds = {n.kind for n in NOUNS.values()}
    for verb in VERBS.values():
        for name_ in (*verb.subj, *verb.obj, *verb.places):
            assert (name_ in kinds) != (name_ in NOUNS), (verb.key, name_)  # one or the other
        assert set(verb.locs) <= {"at", "to", "from", "post"}, verb.key
        assert verb.obj_case in ("total", "partitive", "elative"), verb.key
    for post in POSTPOSITIONS.values():
        assert all(k in kinds or k in NOUNS for k in post.kinds)


def test_vocabulary_stays_modest() -> None:
    lemmas = len(NOUNS) + len(ADJECTIVES) + len(VERBS) + len(PRONOUNS) + len(POSTPOSITIONS)
    assert 150 <= lemmas <= 300


# --- the generator -----------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bucket=st.integers(0, len(BUCKETS) - 1))
def test_generated_sentences_are_well_formed(seed: int, bucket: int) -> None:
    low, high = BUCKETS[bucket]
    sentence = Grammar(random.Random(seed), 0.0).sentence(max(low, MIN_WORDS), high)
    if sentence is None:
        return  # a draw may give up; the corpus builder draws again
    en, fi = english.render(sentence), finnish.render(sentence)
    assert max(low, MIN_WORDS) <= len(en.split()) <= high
    for text in (en, fi):
        assert text[0].isupper() and text.endswith(".") and text.count(".") == 1
        assert ",," not in text and " ," not in text and ",." not in text and "  " not in text


def test_generator_is_deterministic() -> None:
    def draw(seed: int) -> list[str]:
        grammar = Grammar(random.Random(seed), 0.0)
        return [english.render(s) for s in (grammar.sentence(20, 40) for _ in range(30)) if s]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


# --- the shipped corpus ------------------------------------------------------


def read(name_: str) -> list[str]:
    data = (SHIPPED / name_).read_bytes()
    assert data.endswith(b"\n") and b"\r" not in data, name_
    return data.decode("utf-8").split("\n")[:-1]


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[tuple[str, str]]]:
    splits = {}
    for split in ("train", "valid", "test"):
        en, fi = read(f"{split}.en"), read(f"{split}.fi")
        assert len(en) == len(fi), split
        splits[split] = list(zip(en, fi, strict=True))
    return splits


def test_split_sizes_and_buckets(corpus: dict[str, list[tuple[str, str]]]) -> None:
    assert len(corpus["train"]) >= 40_000 and len(corpus["valid"]) >= 2_000
    for split, pairs in corpus.items():
        counts = [0] * len(BUCKETS)
        for en, _ in pairs:
            assert MIN_WORDS <= len(en.split()) <= MAX_WORDS, en
            counts[bucket_of(len(en.split()))] += 1
        if split == "test":
            assert counts == [TEST_PER_BUCKET] * len(BUCKETS) and TEST_PER_BUCKET >= 150
        else:
            assert all(counts), split  # every length is covered
            assert counts[0] + counts[1] > counts[4] + counts[5]  # mostly short and medium
    long_train = sum(1 for en, _ in corpus["train"] if len(en.split()) > 40)
    assert long_train >= 500


def test_no_leakage_and_no_duplicates(corpus: dict[str, list[tuple[str, str]]]) -> None:
    train = {en for en, _ in corpus["train"]}
    valid = {en for en, _ in corpus["valid"]}
    test = {en for en, _ in corpus["test"]}
    assert len(train) == len(corpus["train"]) and len(valid) == len(corpus["valid"])
    assert len(test) == len(corpus["test"])
    assert not test & train and not test & valid and not valid & train


def test_seed_sentences_in_train_verbatim(corpus: dict[str, list[tuple[str, str]]]) -> None:
    train = set(corpus["train"])
    for en, fi in [c[1:] for c in CASES_BY_HAND[:3]]:
        assert (en, fi) in train


def test_patterns_recur_with_other_words(corpus: dict[str, list[tuple[str, str]]]) -> None:
    fi = [f for _, f in corpus["train"]]
    assert sum("katsomassa revontulia" in f for f in fi) >= 20
    assert sum(" vierailevat " in f and " katsomassa " in f for f in fi) >= 50
    assert sum(" katsomaan " in f for f in fi) >= 200


def test_every_finnish_word_comes_from_the_lexicon(corpus: dict[str, list[tuple[str, str]]]) -> None:
    known = {"ja", "mutta", *NEGATIVE, *(p.fi for p in PRONOUNS.values())}
    known |= {f for n in NOUNS.values() for t in (n.sg, n.pl) if t for f in t.values()}
    known |= {f for a in ADJECTIVES.values() for t in (a.sg, a.pl) for f in t.values()}
    known |= {f for t in RELATIVE.values() for f in t.values()}
    known |= {p.fi for p in POSTPOSITIONS.values()} | {w for t in TIMES.values() for w in t.fi.split()}
    known |= {f for v in VERBS.values() for f in (*v.pres, *v.past, v.conneg, *v.pcp, *v.inf3)}
    known = {w.lower() for w in known}
    for pairs in corpus.values():
        for _, fi in pairs:
            words = {w.strip(",.").lower() for w in fi.split()}
            assert words <= known, words - known


def test_readme_statistics_are_current(corpus: dict[str, list[tuple[str, str]]]) -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    for line in format_stats(statistics(corpus)).splitlines():
        if line.startswith("|"):
            assert line in readme, line


def test_shipped_files_are_small() -> None:
    assert sum((SHIPPED / f).stat().st_size for f in FILES) < 15_000_000


def test_regenerating_gives_identical_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--out", str(tmp_path)])
    printed = capsys.readouterr().out
    for name_ in FILES:
        assert (tmp_path / name_).read_bytes() == (SHIPPED / name_).read_bytes(), name_
    assert "| 51-60 |" in printed and f"**{len(read('train.en'))}**" in printed
