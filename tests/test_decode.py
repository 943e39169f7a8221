"""Decoding over the one interface: greedy, beam search, batching invariance."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.inference.decode import (
    _top_candidates,
    beam_search,
    greedy,
    length_penalty,
    max_lengths,
)
from seqcli.models.registry import REGISTRY, get_arch
from seqcli.runs.config import make_model_config

ARCHS = sorted(REGISTRY)


def tiny_model(arch: str, vocab: int = 12, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = get_arch(arch).model(make_model_config(arch, "tiny", vocab, vocab))
    # Random weights give near-uniform outputs; sharpen them so search has real choices.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval()


def batch(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    src = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
    return src, src != PAD


SOURCES = [[5, 6, 7, EOS], [8, EOS], [4, 9, 10, 11, 5, 6, EOS], [7, 7, EOS]]


@pytest.mark.parametrize("arch", ARCHS)
def test_beam_one_equals_greedy(arch: str) -> None:
    model = tiny_model(arch)
    src, mask = batch(SOURCES)
    lens = max_lengths(mask, 50, ratio=1.0, extra=4)
    g = greedy(model, src, mask, lens)
    b = beam_search(model, src, mask, lens, beam=1, alpha=0.0)
    assert [h.ids for h in g] == [hs[0].ids for hs in b]
    for gh, bh in zip(g, b, strict=True):
        assert gh.logprob == pytest.approx(bh[0].logprob, abs=1e-4)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("beam", [1, 4])
def test_batched_equals_one_at_a_time(arch: str, beam: int) -> None:
    model = tiny_model(arch)
    src, mask = batch(SOURCES)
    lens = max_lengths(mask, 50, ratio=1.0, extra=4)
    together = beam_search(model, src, mask, lens, beam=beam, n_best=beam)
    for i, row in enumerate(SOURCES):
        s, m = batch([row])
        alone = beam_search(model, s, m, [lens[i]], beam=beam, n_best=beam)[0]
        assert [h.ids for h in alone] == [h.ids for h in together[i]]


@pytest.mark.parametrize("arch", ["transformer", "bahdanau", "gru"])
def test_wide_beam_finds_exhaustive_optimum(arch: str) -> None:
    """A beam as wide as every prefix finds what exhaustive search scores highest.

    <pad> and <bos> are never emitted, so the search space excludes them.
    """
    vocab, max_len, alpha = 6, 4, 0.6
    model = tiny_model(arch, vocab=vocab, seed=3)
    src_row = [4, 5, EOS]
    candidates = []
    for length in range(1, max_len + 1):
        for ids in itertools.product([t for t in range(vocab) if t not in (PAD, BOS)], repeat=length):
            # An <eos> ends a hypothesis; without one, only the length limit does.
            if EOS not in ids[:-1] and (ids[-1] == EOS or length == max_len):
                candidates.append(list(ids))
    logps = sequence_logprobs(model, src_row, candidates)
    scores = [lp / length_penalty(len(ids), alpha) for lp, ids in zip(logps, candidates, strict=True)]
    best = max(range(len(candidates)), key=scores.__getitem__)
    s, m = batch([src_row])
    found = beam_search(model, s, m, [max_len], beam=(vocab - 2) ** (max_len - 1), alpha=alpha)[0][0]
    assert found.ids == [t for t in candidates[best] if t != EOS]
    assert found.score == pytest.approx(scores[best], abs=1e-4)


def sequence_logprobs(model: torch.nn.Module, src: list[int], seqs: list[list[int]]) -> list[float]:
    """Teacher-forced log-probability of each sequence, all in one batch."""
    width = max(len(q) for q in seqs)
    s, m = batch([src] * len(seqs))
    tgt_in = torch.tensor([[BOS] + q[:-1] + [PAD] * (width - len(q)) for q in seqs])
    logp = F.log_softmax(model.decode(model.encode(s, m), tgt_in).logits.float(), -1)  # [N, T, V]
    return [sum(logp[n, t, tok].item() for t, tok in enumerate(q)) for n, q in enumerate(seqs)]


def test_n_best_sorted_and_distinct() -> None:
    model = tiny_model("transformer")
    src, mask = batch(SOURCES[:1])
    hyps = beam_search(model, src, mask, [8], beam=5, n_best=5)[0]
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    assert len({tuple(h.ids) for h in hyps}) == len(hyps) == 5


def test_no_steps_after_every_sentence_ends() -> None:
    """Once every sentence has ended, decoding stops: no wasted decode calls."""
    model = tiny_model("gru")
    original, calls = model.decode, []

    def eos_after_two(memory, tgt_in, state=None, need_weights=False):  # type: ignore[no-untyped-def]
        calls.append(1)
        step = original(memory, tgt_in, state, need_weights)
        if len(calls) >= 2:  # from the second step on, <eos> is certain
            step.logits[..., EOS] = 1e4
        return step

    model.decode = eos_after_two  # type: ignore[method-assign]
    src, mask = batch(SOURCES)
    hyps = greedy(model, src, mask, [30] * len(SOURCES))
    assert [len(h.ids) for h in hyps] == [1] * len(SOURCES)
    assert len(calls) == 2
    calls.clear()
    beams = beam_search(model, src, mask, [30] * len(SOURCES), beam=3)
    assert all(len(hs[0].ids) <= 1 for hs in beams)
    assert len(calls) <= 3


def test_length_penalty_gnmt() -> None:
    assert length_penalty(1, 0.6) == pytest.approx(1.0)
    assert length_penalty(7, 1.0) == pytest.approx(2.0)
    assert length_penalty(10, 0.0) == 1.0


# ---- the batched, tensor-only search against a plain one ---------------------------


def reference_beam(model: torch.nn.Module, src_row: list[int], max_len: int, beam: int, alpha: float,
                   n_best: int) -> list[tuple[list[int], float, float]]:
    """The documented beam search for one sentence, written out: one beam, one token at a time.

    Scores are summed in float32 as the batched search sums them. Returns the n best
    (ids, logprob, score), best first.
    """
    s, m = batch([src_row])
    memory = model.encode(s, m)
    beams: list[tuple[list[int], torch.Tensor, object]] = [([], torch.tensor(0.0), None)]  # ids, logprob, state
    finished: list[tuple[list[int], float, float]] = []
    for t in range(max_len):
        candidates = []  # (score, beam, token, state after the beam's last token)
        for k, (ids, logprob, state) in enumerate(beams):
            step = model.decode(memory, torch.tensor([[ids[-1] if ids else BOS]]), state)
            logp = F.log_softmax(step.logits[0, -1].float(), dim=-1)
            logp[PAD] = logp[BOS] = -float("inf")
            candidates += [(logprob + logp[tok], k, tok, step.state) for tok in range(logp.numel())]
        candidates.sort(key=lambda c: -c[0].item())  # stable: among equals, the lower beam and token first
        alive: list[tuple[list[int], torch.Tensor, object]] = []
        at_limit = t + 1 >= max_len
        for rank, (score, k, tok, state) in enumerate(candidates[: 2 * beam]):
            if score.item() == -float("inf"):
                break
            if tok == EOS and rank >= beam:
                continue  # an ending counts only among the top `beam`
            if tok == EOS or at_limit:
                ids = beams[k][0] + ([] if tok == EOS else [tok])
                finished.append((ids, score.item(), score.item() / length_penalty(t + 1, alpha)))
            elif len(alive) < beam:
                alive.append((beams[k][0] + [tok], score, state))
        if at_limit or not alive:
            break
        if len(finished) >= n_best:
            worst_kept = sorted((f[2] for f in finished), reverse=True)[n_best - 1]
            best = alive[0][1].item()
            if (best / length_penalty(max_len, alpha) if best < 0 else best) <= worst_kept:
                break
        beams = alive
    return sorted(finished, key=lambda f: -f[2])[:n_best]


@pytest.mark.parametrize("arch", ["transformer", "bahdanau", "luong", "gru"])
@pytest.mark.parametrize(("vocab", "beam", "alpha", "n_best"),
                         [(12, 3, 0.6, 2), (12, 4, 0.0, 4), (1000, 3, 0.6, 2), (1000, 1, 0.0, 1)])
def test_batched_search_matches_the_plain_one(arch: str, vocab: int, beam: int, alpha: float, n_best: int) -> None:
    """Same hypotheses and scores as `reference_beam`, sentence by sentence, with limits that are hit.

    vocab 1000 takes `_top_candidates`' block shortcut (and its tail: 1000 = 15 * 64 + 40).
    """
    model = tiny_model(arch, vocab=vocab, seed=5)
    rows = [[5, 6, 7, EOS], [8, EOS], [4, 9, 10, 11, 5, 6, EOS], [7, 7, EOS], [9, 4, EOS]]
    lens = [5, 1, 7, 3, 6]  # 1 and 3: most hypotheses end at the limit, not at <eos>
    src, mask = batch(rows)
    found = beam_search(model, src, mask, lens, beam=beam, alpha=alpha, n_best=n_best)
    for row, limit, hyps in zip(rows, lens, found, strict=True):
        expected = reference_beam(model, row, limit, beam, alpha, n_best)
        assert [h.ids for h in hyps] == [ids for ids, _, _ in expected]
        for h, (_, logprob, score) in zip(hyps, expected, strict=True):
            # one sentence alone vs in a padded batch: the same sums up to float rounding
            assert h.logprob == pytest.approx(logprob, rel=1e-4) and h.score == pytest.approx(score, rel=1e-4)
    assert any(len(h.ids) == limit for hs, limit in zip(found, lens, strict=True) for h in hs)


@pytest.mark.parametrize("arch", ["transformer", "gru"])
def test_beam_one_equals_greedy_with_a_large_vocabulary(arch: str) -> None:
    model = tiny_model(arch, vocab=1000, seed=2)
    src, mask = batch(SOURCES)
    lens = [3, 8, 5, 2]
    g = greedy(model, src, mask, lens)
    b = beam_search(model, src, mask, lens, beam=1, alpha=0.0)
    assert [h.ids for h in g] == [hs[0].ids for hs in b]
    assert [h.logprob for h in g] == pytest.approx([hs[0].logprob for hs in b], abs=1e-5)


@pytest.mark.parametrize("vocab", [700, 1000, 8000])
def test_top_candidates_is_topk(vocab: int) -> None:
    """The two-round ranking gives topk's values and indices, ties (bf16-like logits) and dead beams included."""
    g = torch.Generator().manual_seed(vocab)
    N, K = 6, 5
    logits = (torch.randn(N * K, vocab, generator=g) * 4).bfloat16().float()  # coarse values: many exact ties
    logp = F.log_softmax(logits, dim=-1)
    logp[:, PAD] = logp[:, BOS] = -float("inf")
    scores = -torch.rand(N, K, generator=g) * 3
    scores[0, 1:] = -float("inf")  # a sentence with one live beam
    scores[1, 0] = scores[1, 1]  # two beams with the same score
    expected = (logp + scores.view(-1, 1)).view(N, K * vocab).topk(2 * K, dim=1)
    values, indices = _top_candidates(logp, scores, 2 * K)
    assert torch.equal(values, expected.values) and torch.equal(indices, expected.indices)


@pytest.mark.parametrize("arch", ["transformer", "gru"])
def test_min_len_holds_back_eos_and_equal_limits_fix_the_length(arch: str) -> None:
    """No output ends before min_len tokens; min_len = max_len gives exactly that many (the equal-work bench)."""
    model = tiny_model(arch, seed=3)
    original = model.decode

    def eos_first(memory, tgt_in, state=None, need_weights=False):  # type: ignore[no-untyped-def]
        step = original(memory, tgt_in, state, need_weights)
        step.logits[..., EOS] = 50.0  # the model wants to stop at once
        return step

    model.decode = eos_first  # type: ignore[method-assign]
    src, mask = batch(SOURCES)
    assert all(h.ids == [] for h in greedy(model, src, mask, [9] * 4))
    for min_len in (3, 9):
        hyps = greedy(model, src, mask, [9] * 4, min_len=min_len)
        assert [len(h.ids) for h in hyps] == [min_len] * 4 and all(EOS not in h.ids for h in hyps)
        beams = beam_search(model, src, mask, [9] * 4, beam=3, n_best=3, min_len=min_len)
        assert all(len(h.ids) == min_len and EOS not in h.ids for hs in beams for h in hs)
