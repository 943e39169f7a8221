"""Properties over arbitrary input, checked with hypothesis.

derandomize=True: every run draws the same examples, so the suite is deterministic
and a failure reproduces. Strategies mix plain arbitrary text or bytes with pieces
chosen to be hard: combining marks, exotic whitespace and line separators, control
characters, broken UTF-8, special-token look-alikes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqcli.core.textio import clean_line, split_lines
from seqcli.core.tokens import EOS, PAD
from seqcli.data.batching import Encoded, make_batches
from seqcli.data.corpus import normalize_text
from seqcli.data.tokenizers import Tokenizer
from seqcli.runs.directory import Run, load_run
from seqcli.training import distributed as dist

FAST = {"deadline": None, "derandomize": True, "suppress_health_check": [HealthCheck.too_slow]}
RUNS = {"tokenizer": 300, "translate": 60, "batching": 150}  # examples per property (reported)

ENGLISH = ["tourists visit Finland to watch Northern lights.", "we see the lakes and the forests!",
           "do children love the winter?", "they watch lights; we visit lakes."]
FINNISH = ["turistit vierailevat Suomessa katsomassa revontulia.", "näemme järvet ja metsät!",
           "rakastavatko lapset talvea?", "he katsovat valoja; me vierailemme järvillä."]

TRICKY = ["e\u0301", "\u0301", "\u00a0", "\u2028", "\u2029", "\u200b", "\ufeff", "\u3000", "\x85", "\x0c",
          "\r", "\t", "\x00", "\x1b", "<eos>", "<pad>", "<unk>", "▁", "\u212b", "ﬁ", "İ", "ß", "🇫🇮", "\U0010ffff"]
texts = st.one_of(st.text(max_size=60),
                  st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=4)), max_size=15).map("".join))

BYTE_PIECES = [b"\n", b"\r\n", b"\r", b"\x00", b"\xff", b"\xc3", b"\xa4", b" ", b"\t", b"tourists", b"visit",
               b"Suomessa", "\u2028".encode(), b"\x85", b"\xc2\x85", b"\x1b[0m", b"<eos>",
               "🇫🇮".encode(), b"\x0b\x0c", b"x" * 300]
raw_bytes = st.one_of(st.binary(max_size=200), st.lists(st.sampled_from(BYTE_PIECES), max_size=30).map(b"".join))


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; idle OpenMP workers spinning on a shared machine cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tokenizer]:
    """BPE tokenizers as a run directory holds them: trained, saved to JSON, loaded back."""
    base = tmp_path_factory.mktemp("tok")
    out = {}
    for name, texts_ in (("en", ENGLISH * 3), ("fi", FINNISH * 3)):
        Tokenizer.train(texts_, "bpe", 300).save(base / f"{name}.json")
        out[name] = Tokenizer.load(base / f"{name}.json")
    return out


# ---- tokenizers -----------------------------------------------------------------------------


@given(text=texts)
@settings(max_examples=RUNS["tokenizer"], **FAST)
def test_bpe_round_trips_any_text_after_normalisation(tokenizers: dict[str, Tokenizer], text: str) -> None:
    for tok in tokenizers.values():
        assert tok.decode(tok.encode(text)) == normalize_text(text)


@given(text=texts)
@settings(max_examples=RUNS["tokenizer"], **FAST)
def test_translate_input_cleaning_is_one_normalised_line(tokenizers: dict[str, Tokenizer], text: str) -> None:
    """What translate feeds the model: one line, already normalised, round-tripping exactly."""
    line = clean_line(text)
    assert normalize_text(line) == line and normalize_text(normalize_text(text)) == normalize_text(text)
    assert len(split_lines(line.encode())) <= 1 and line.splitlines() in ([], [line])
    assert tokenizers["en"].decode(tokenizers["en"].encode(line)) == line


@given(words=st.lists(st.sampled_from(" ".join(FINNISH).replace(";", "").replace(".", "").split()), min_size=1,
                      max_size=12), end=st.sampled_from(["", ".", "!", "?"]))
@settings(max_examples=RUNS["tokenizer"] // 3, **FAST)
def test_word_tokenizer_round_trips_known_words(words: list[str], end: str) -> None:
    tok = _word_tokenizer()
    sentence = " ".join(words) + end
    assert tok.decode(tok.encode(sentence)) == sentence


_WORD: list[Tokenizer] = []


def _word_tokenizer() -> Tokenizer:
    if not _WORD:
        _WORD.append(Tokenizer.train(FINNISH, "word", 500))
    return _WORD[0]


# ---- translate --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A 1-step tiny Transformer (max_len 40 keeps every decode short), loaded once."""
    from seqcli.training.loop import train

    base = tmp_path_factory.mktemp("props")
    corpus = base / "en-fi.tsv"
    corpus.write_text("".join(f"{e}\t{f}\n" for e, f in zip(ENGLISH * 10, FINNISH * 10, strict=True)) +
                      "".join(f"we see {n} lakes.\tme näemme {n} järveä.\n" for n in range(30)), encoding="utf-8")
    flags = {"arch": "transformer", "size": "tiny", "steps": 1, "corpus": str(corpus), "out": str(base / "run"),
             "vocab_size": 500, "batch_tokens": 1024, "device": "cpu", "model": {"max_len": 40}}
    train(flags, evaluate_test=False)
    return load_run(base / "run")


@given(data=raw_bytes, json_out=st.booleans(), beam=st.sampled_from([1, 2]))
@settings(max_examples=RUNS["translate"], **FAST)
def test_translate_answers_one_line_per_input_line(run: Run, data: bytes, json_out: bool, beam: int) -> None:
    from seqcli.cli.translate import _emit  # what `seqcli translate` runs on the lines it read

    out = io.StringIO()
    with redirect_stdout(out):
        _emit(run, split_lines(data), {"beam": beam, "alpha": 0.6, "n_best": 1, "max_len": None}, json_out)
    text = out.getvalue()
    expected = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)  # like `wc -l`, plus a last line
    assert text.count("\n") == expected and (text == "" or text.endswith("\n"))
    assert "\r" not in text
    if json_out:
        assert all(isinstance(json.loads(line), dict) for line in text.splitlines() if line)


# ---- batching ---------------------------------------------------------------------------------


@given(lengths=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=120),
       budget=st.integers(1, 400), seed=st.integers(0, 3), epoch=st.integers(0, 3), world=st.integers(1, 4))
@settings(max_examples=RUNS["batching"], **FAST)
def test_batches_hold_every_pair_exactly_once(lengths: list[tuple[int, int]], budget: int, seed: int,
                                              epoch: int, world: int) -> None:
    # Pair k's tokens all carry id 4 + k % 500, so a row can be traced back to its pair.
    data = Encoded([[4 + k % 500] * a for k, (a, _) in enumerate(lengths)],
                   [[4 + k % 500] * b for k, (_, b) in enumerate(lengths)])
    batches = list(make_batches(data, budget, shuffle=True, seed=seed, epoch=epoch))
    assert sorted(int(k) for b in batches for k in b.index) == list(range(len(lengths)))
    for b in batches:
        for row, k in enumerate(b.index.tolist()):
            a, t = lengths[k]
            assert b.src[row].tolist() == [4 + k % 500] * a + [EOS] + [PAD] * (b.src.shape[1] - a - 1)
            assert b.tgt_out[row, : t + 1].tolist() == [4 + k % 500] * t + [EOS]
            assert b.src_mask[row].sum() == a + 1 and b.tgt_mask[row].sum() == t + 1
    # Under DDP each rank takes its own batches: none twice, fewer than `world` left for the next epoch.
    shards = [dist.shard(batches, dist.Context(rank, world)) for rank in range(world)]
    taken = [id(b) for shard in shards for b in shard]
    assert len(taken) == len(set(taken)) and len(batches) - len(taken) < world
    assert len({len(shard) for shard in shards}) == 1  # every rank the same number of steps
