"""Token-budget batching: layout of each batch, budget, exactly-once, determinism, padding."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.data.batching import (
    Batch,
    Encoded,
    batch_plan,
    collate_source,
    encode_pairs,
    make_batches,
    padding_fraction,
)
from seqcli.data.tokenizers import Tokenizer

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def synthetic(n: int, seed: int = 0, mean_len: float = 2.5) -> Encoded:
    """n pairs with log-normal lengths (like real sentences) and random ids >= 4."""
    rng = random.Random(seed)
    src = [[rng.randrange(4, 500) for _ in range(max(1, int(rng.lognormvariate(mean_len, 0.5))))]
           for _ in range(n)]
    tgt = [[rng.randrange(4, 500) for _ in range(max(1, int(len(s) * rng.uniform(0.8, 1.25))))] for s in src]
    return Encoded(src, tgt)


def all_indices(batches: list[Batch]) -> list[int]:
    return sorted(torch.cat([b.index for b in batches]).tolist())


def test_batch_layout_matches_the_encoded_ids() -> None:
    data = synthetic(200)
    for batch in make_batches(data, 256, shuffle=True, seed=3):
        for row, i in enumerate(batch.index.tolist()):
            s, t = data.src[i], data.tgt[i]
            assert batch.src[row, : len(s) + 1].tolist() == [*s, EOS]
            assert batch.tgt_in[row, : len(t) + 1].tolist() == [BOS, *t]
            assert batch.tgt_out[row, : len(t) + 1].tolist() == [*t, EOS]
            assert batch.src_mask[row].sum() == len(s) + 1 and batch.tgt_mask[row].sum() == len(t) + 1
        assert (batch.src[~batch.src_mask] == PAD).all() and (batch.tgt_in[~batch.tgt_mask] == PAD).all()
        assert (batch.tgt_out[~batch.tgt_mask] == PAD).all()
        assert batch.src.dtype == torch.long and batch.src_mask.dtype == torch.bool
        assert batch.n_src_tokens == int(batch.src_mask.sum()) and batch.n_tgt_tokens == int(batch.tgt_mask.sum())


def test_every_batch_fits_the_budget_except_a_lone_long_pair() -> None:
    data = synthetic(500)
    data.src.append(list(range(4, 4 + 300)))  # longer than the budget by itself
    data.tgt.append([5, 6])
    data.index.append(500)
    batches = make_batches(data, 200, shuffle=True, seed=1)
    for batch in batches:
        longest = max(batch.src.shape[1], batch.tgt_out.shape[1])
        assert len(batch) * longest <= 200 or len(batch) == 1
    assert any(len(b) == 1 and b.index.item() == 500 for b in batches)
    assert all_indices(batches) == list(range(501))


@given(lengths=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=300),
       budget=st.integers(1, 600), seed=st.integers(0, 5), epoch=st.integers(0, 5), shuffle=st.booleans())
@settings(max_examples=150, deadline=None)
def test_every_pair_appears_exactly_once(lengths: list[tuple[int, int]], budget: int, seed: int,
                                         epoch: int, shuffle: bool) -> None:
    data = Encoded([[7] * a for a, _ in lengths], [[8] * b for _, b in lengths])
    plan = batch_plan(data, budget, shuffle=shuffle, seed=seed, epoch=epoch)
    assert sorted(i for batch in plan for i in batch) == list(range(len(lengths)))
    sizes = data.lengths()
    assert all(len(b) == 1 or len(b) * max(max(sizes[i]) for i in b) <= budget for b in plan)


def test_order_is_a_pure_function_of_seed_and_epoch() -> None:
    data = synthetic(400)
    plan = batch_plan(data, 300, shuffle=True, seed=1, epoch=2)
    assert plan == batch_plan(data, 300, shuffle=True, seed=1, epoch=2)
    assert plan != batch_plan(data, 300, shuffle=True, seed=1, epoch=3)
    assert plan != batch_plan(data, 300, shuffle=True, seed=2, epoch=2)
    fixed = batch_plan(data, 300, shuffle=False, seed=1, epoch=0)
    assert fixed == batch_plan(data, 300, shuffle=False, seed=9, epoch=4)
    a, b = make_batches(data, 300, shuffle=True, seed=1, epoch=2), make_batches(data, 300, shuffle=True, seed=1, epoch=2)
    assert all(torch.equal(x.src, y.src) and torch.equal(x.index, y.index) for x, y in zip(a, b, strict=True))


def test_padding_is_low_for_realistic_lengths() -> None:
    # ~70 batches, as 20k pairs give with the default 4096 budget; with only a handful
    # of batches each would have to span a wide range of lengths.
    batches = make_batches(synthetic(5000), 1024, shuffle=True, seed=0)
    assert len(batches) > 50
    assert padding_fraction(batches) < 0.10


def test_padding_fraction_counts_pad_positions() -> None:
    data = Encoded([[5], [5, 6, 7]], [[8, 9], [8]])
    (batch,) = make_batches(data, 1000, shuffle=False)
    # src rows: 2 and 4 real of 4 positions; tgt rows: 3 and 2 real of 3 positions.
    assert padding_fraction([batch]) == pytest.approx(1 - (2 + 4 + 3 + 2) / (2 * 4 + 2 * 3))
    assert padding_fraction([]) == 0.0


def test_encode_pairs_drops_and_counts_long_pairs() -> None:
    pairs = [("a b", "c d"), ("a " * 30, "c"), ("a", "d " * 30), ("b", "c")]
    tok = Tokenizer.train([p for pair in pairs for p in pair], "word", vocab_size=50)
    kept = encode_pairs(pairs, tok, tok, max_tokens=10)
    assert kept.index == [0, 3] and kept.dropped == 2
    assert kept.src == [tok.encode("a b"), tok.encode("b")]
    (batch,) = make_batches(kept, 100, shuffle=False)
    assert sorted(batch.index.tolist()) == [0, 3]  # positions in the original pair list
    everything = encode_pairs(pairs, tok, tok)
    assert len(everything) == 4 and everything.dropped == 0


def test_collate_source_appends_eos_and_masks() -> None:
    src, mask = collate_source([[5, 6, 7], [8]])
    assert src.tolist() == [[5, 6, 7, EOS], [8, EOS, PAD, PAD]]
    assert mask.tolist() == [[True] * 4, [True, True, False, False]]
    empty, empty_mask = collate_source([])
    assert empty.shape == empty_mask.shape == (0, 0)
    assert make_batches(Encoded([], []), 100, shuffle=True) == []


def test_batch_to_moves_every_tensor() -> None:
    (batch,) = make_batches(synthetic(3), 10_000, shuffle=False)
    moved = batch.to("cpu")
    assert torch.equal(moved.tgt_out, batch.tgt_out) and moved.index.device.type == "cpu"


@pytest.mark.skipif(not (CORPORA / "multi30k").is_dir(), reason=f"shared corpora not found at {CORPORA}")
def test_padding_on_a_multi30k_slice_is_below_ten_percent() -> None:
    from seqcli.data.corpus import load_corpus
    from seqcli.data.tokenizers import train_tokenizers

    pairs = load_corpus(str(CORPORA / "multi30k"), src="en", tgt="de").train[:4000]
    src_tok, tgt_tok = train_tokenizers(pairs, "bpe", 2000, joint=False)
    batches = make_batches(encode_pairs(pairs, src_tok, tgt_tok), 4096, shuffle=True, seed=1)
    assert padding_fraction(batches) < 0.10
