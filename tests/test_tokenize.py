"""Tokenizers: fixed special ids, exact round trip, readable tokens, save/load."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import BOS, EOS, PAD, UNK
from seqcli.data.corpus import normalize_text
from seqcli.data.tokenizers import SPECIALS, Tokenizer, train_tokenizers

ENGLISH = [
    "Tourists visit Finland to watch Northern lights.",
    "Tourists watch the lights in Lapland.",
    "The Northern lights are green tonight!",
    "Do you visit Finland in winter?",
    "We watch the sky; the lights dance.",
]
FINNISH = [
    "Turistit vierailevat Suomessa katsomassa revontulia.",
    "Turistit katsovat valoja Lapissa.",
    "Revontulet ovat vihreitä tänä yönä!",
    "Vierailetko Suomessa talvella?",
    "Katsomme taivasta; valot tanssivat.",
]
PAIRS = list(zip(ENGLISH * 4, FINNISH * 4, strict=True))


@pytest.fixture(scope="module")
def bpe() -> Tokenizer:
    return Tokenizer.train(ENGLISH * 4 + FINNISH * 4, "bpe", vocab_size=400)


@pytest.fixture(scope="module")
def word() -> Tokenizer:
    return Tokenizer.train(ENGLISH + FINNISH, "word", vocab_size=1000)


@pytest.mark.parametrize("kind", ["bpe", "word"])
def test_specials_have_fixed_ids(kind: str) -> None:
    tok = Tokenizer.train(ENGLISH, kind, vocab_size=300)
    assert [tok.id_to_token(i) for i in (PAD, UNK, BOS, EOS)] == list(SPECIALS)


@pytest.mark.parametrize("text", [*ENGLISH, *FINNISH, "Hyvää yötä, Åsa! “Quoted” — 3.5 km/h (ok)?"])
def test_bpe_round_trip_of_normal_text(bpe: Tokenizer, text: str) -> None:
    ids = bpe.encode(text)
    assert bpe.decode(ids) == text
    assert all(i >= len(SPECIALS) for i in ids)  # no <unk>, no specials, even for unseen letters


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_bpe_round_trips_any_text_after_normalisation(text: str) -> None:
    tok = _shared_bpe()
    assert tok.decode(tok.encode(text)) == normalize_text(text)


_CACHE: dict[str, Tokenizer] = {}


def _shared_bpe() -> Tokenizer:
    """One tokenizer for all hypothesis examples (fixtures do not mix with @given)."""
    if "bpe" not in _CACHE:
        _CACHE["bpe"] = Tokenizer.train(ENGLISH + FINNISH, "bpe", vocab_size=350)
    return _CACHE["bpe"]


def test_literal_special_token_text_is_plain_text(bpe: Tokenizer) -> None:
    ids = bpe.encode("stop <eos> here <pad>")
    assert EOS not in ids and PAD not in ids
    assert bpe.decode(ids) == "stop <eos> here <pad>"


def test_decode_drops_specials(bpe: Tokenizer) -> None:
    ids = bpe.encode(FINNISH[0])
    assert bpe.decode([BOS, *ids, EOS, PAD, PAD]) == FINNISH[0]


def test_encode_batch_matches_encode(bpe: Tokenizer) -> None:
    texts = [*FINNISH, "", "  spaced   out  ", "stop <eos> now"]
    assert bpe.encode_batch(texts) == [bpe.encode(t) for t in texts]


def test_tokens_are_readable_and_align_with_ids(bpe: Tokenizer) -> None:
    text = ENGLISH[0]
    tokens = bpe.tokens(text)
    assert len(tokens) == len(bpe.encode(text))
    assert "".join(tokens).replace("▁", " ").strip() == text
    assert tokens[0].startswith("▁")  # word starts are marked, also the first word
    finnish = bpe.tokens("Tänä yönä")
    assert "".join(finnish).replace("▁", " ").strip() == "Tänä yönä"  # ä learnt as one token


def test_training_is_deterministic_and_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    first = Tokenizer.train(ENGLISH + FINNISH, "bpe", vocab_size=320)
    second = Tokenizer.train(ENGLISH + FINNISH, "bpe", vocab_size=320)
    assert first.to_str() == second.to_str()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_vocab_is_capped_by_what_the_corpus_allows(word: Tokenizer) -> None:
    bpe = Tokenizer.train(ENGLISH, "bpe", vocab_size=8000)
    assert 256 + len(SPECIALS) <= bpe.vocab_size < 8000  # every byte, plus the merges seen twice
    distinct = {w for text in ENGLISH + FINNISH for w in word.tokens(text)}
    assert word.vocab_size == len(distinct) + len(SPECIALS)


def test_word_level_round_trip_and_unknown_words(word: Tokenizer) -> None:
    for text in ENGLISH + FINNISH:
        assert word.decode(word.encode(text)) == text
    ids = word.encode("Tourists visit Mars.")
    assert ids.count(UNK) == 1
    assert word.decode(ids) == "Tourists visit."  # the unknown word (and its space) is dropped
    assert word.tokens("lights.") == ["▁lights", "."]


@pytest.mark.parametrize("kind", ["bpe", "word"])
def test_save_and_load_give_the_same_tokenizer(tmp_path: Path, kind: str) -> None:
    tok = Tokenizer.train(ENGLISH + FINNISH, kind, vocab_size=500)
    tok.save(tmp_path / "tok.json")
    loaded = Tokenizer.load(tmp_path / "tok.json")
    assert loaded.kind == kind and loaded.vocab_size == tok.vocab_size
    for text in [*FINNISH, "stop <eos> here"]:
        assert loaded.encode(text) == tok.encode(text)
        assert loaded.decode(tok.encode(text)) == tok.decode(tok.encode(text))
    assert Tokenizer.from_str(tok.to_str()).to_str() == tok.to_str()


def test_load_errors_name_the_file(tmp_path: Path, bpe: Tokenizer) -> None:
    with pytest.raises(SeqcliError, match="cannot read tokenizer .*missing.json"):
        Tokenizer.load(tmp_path / "missing.json")
    for name, content in [("broken.json", "{not json"), ("other.json", '{"hello": 1}')]:
        (tmp_path / name).write_text(content)
        with pytest.raises(SeqcliError, match=f"{name}: not a valid tokenizer file"):
            Tokenizer.load(tmp_path / name)
    shifted = bpe.to_str().replace('"<pad>"', '"<nil>"')  # <pad> no longer at id 0
    (tmp_path / "shifted.json").write_text(shifted)
    with pytest.raises(SeqcliError, match="shifted.json: .*<pad>.*expected 0"):
        Tokenizer.load(tmp_path / "shifted.json")


def test_train_tokenizers_separate_and_joint() -> None:
    src, tgt = train_tokenizers(PAIRS, "bpe", 300, joint=False)
    assert src is not tgt and src.to_str() != tgt.to_str()
    shared_src, shared_tgt = train_tokenizers(PAIRS, "word", 300, joint=True)
    assert shared_src is shared_tgt
    assert UNK not in shared_src.encode(FINNISH[0]) and UNK not in shared_src.encode(ENGLISH[0])
    with pytest.raises(SeqcliError, match="unknown tokenizer kind 'unigram'"):
        train_tokenizers(PAIRS, "unigram", 300, joint=False)
