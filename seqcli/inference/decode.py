"""Decoding over the one interface: greedy and beam search, batched, for every model.

Nothing here knows which architecture it drives: it calls `encode` once, then
`decode` one token at a time with the explicit state, and reorders memory and
state with `select` (DESIGN.md). Finished sentences leave the batch, so no step is
spent on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.models.base import MemoryT, Seq2Seq, StateT, Step
from seqcli.runs.directory import Run


@dataclass
class Hypothesis:
    """One output sequence: token ids (no specials), log-probability, normalised score."""

    ids: list[int]
    logprob: float
    score: float  # logprob / length penalty; equals logprob for greedy


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al. 2016, eq. 14): ((5 + |Y|) / 6) ** alpha."""
    penalty: float = ((5.0 + length) / 6.0) ** alpha  # typeshed: float ** float may be complex
    return penalty


def max_lengths(src_mask: Tensor, limit: int, ratio: float = 2.0, extra: int = 10) -> list[int]:
    """Longest output (tokens, with <eos>) per sentence: ratio * source length + extra, capped."""
    lengths = src_mask.sum(1).tolist()
    return [max(1, min(limit, int(ratio * n + extra))) for n in lengths]


def _never_emit(logp: Tensor) -> Tensor:
    """<pad> and <bos> are never outputs: an undertrained model must not emit them."""
    logp[:, PAD] = -math.inf
    logp[:, BOS] = -math.inf
    return logp


@torch.no_grad()
def greedy(model: Seq2Seq[MemoryT, StateT], src: Tensor, src_mask: Tensor, max_lens: Sequence[int]) -> list[Hypothesis]:
    """Pick the most probable token at each step until <eos> or the length limit."""
    B = src.size(0)
    memory = model.encode(src, src_mask)
    step = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=src.device))
    active = list(range(B))  # original index of each row still decoding
    ids: list[list[int]] = [[] for _ in range(B)]
    logprob = [0.0] * B
    for t in range(max(max_lens)):
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1))  # [B', V]
        best_lp, best = logp.max(dim=-1)
        keep = []
        for row, (b, tok, lp) in enumerate(zip(active, best.tolist(), best_lp.tolist(), strict=True)):
            logprob[b] += lp
            if tok == EOS:
                continue
            ids[b].append(tok)
            if t + 1 < max_lens[b]:
                keep.append(row)
        if not keep:
            break
        if len(keep) < len(active):  # drop finished sentences from the batch
            index = torch.tensor(keep, device=src.device)
            memory, state, best = memory.select(index), step.state.select(index), best[index]
        else:
            state = step.state
        active = [active[r] for r in keep]
        step = model.decode(memory, best[:, None], state)
    return [Hypothesis(ids[b], logprob[b], logprob[b]) for b in range(B)]


@dataclass
class _Sentence:
    """Beam-search bookkeeping for one sentence."""

    max_len: int
    finished: list[Hypothesis] = field(default_factory=list)


@torch.no_grad()
def beam_search(
    model: Seq2Seq[MemoryT, StateT],
    src: Tensor,
    src_mask: Tensor,
    max_lens: Sequence[int],
    beam: int = 5,
    alpha: float = 0.6,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """Beam search with a GNMT length penalty; returns the n best hypotheses per sentence.

    Each step ranks the top 2*beam continuations: those ending in <eos> that rank in
    the top `beam` become finished hypotheses, the best `beam` others stay alive (so
    beam 1 with alpha 0 is exactly greedy search). A sentence stops only when
    no live beam can still beat its n-th best finished one — with a length penalty a
    live beam's normalised score can still rise, so stopping when the top beam ends
    would be wrong. The bound used: log-probabilities only fall, so a live beam with
    log-prob s < 0 can at best reach s / lp(max_len).
    """
    B, K, device = src.size(0), beam, src.device
    sents = [_Sentence(m) for m in max_lens]
    memory, step = _first_step(model, src, src_mask, K)
    scores = torch.full((B, K), -math.inf, device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one so the top-K are distinct
    history: list[list[int]] = [[] for _ in range(B * K)]
    active = list(range(B))
    for t in range(max(max_lens)):
        N = len(active)
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1))  # [N*K, V]
        V = logp.size(-1)
        cand = logp.add_(scores.view(-1, 1)).view(N, K * V)  # [N, K*V]; in place: no new [N*K, V] each step
        top_s, top_i = cand.topk(min(2 * K, K * V), dim=1)
        keep, beams = _next_beams([sents[a] for a in active], K, V, t, top_s, top_i, history, alpha, n_best)
        if not keep:
            break
        active = [active[n] for n in keep]
        index = torch.tensor([row for row, _, _ in beams], device=device)
        history = [history[row] + [tok] for row, tok, _ in beams]
        scores = torch.tensor([s for _, _, s in beams], device=device).view(len(keep), K)
        if len(keep) < N:  # sentences finished: drop their rows. A sentence's K beams share one
            # memory, so following the beams needs no copy of it (only the state moves).
            memory = memory.select(torch.tensor([n * K + k for n in keep for k in range(K)], device=device))
        state = step.state.select(index)
        step = model.decode(memory, torch.tensor([tok for _, tok, _ in beams], device=device)[:, None], state)
    return [_n_best(sent, n_best) for sent in sents]


def _first_step(model: Seq2Seq[MemoryT, StateT], src: Tensor, src_mask: Tensor,
                K: int) -> tuple[MemoryT, Step[StateT]]:
    """Encode, and decode the first step for each sentence's K beams (memory and state copied K times)."""
    B, device = src.size(0), src.device
    # All K beams of a sentence start identical: decode the first step once per sentence, then copy.
    memory = model.encode(src, src_mask)
    first = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=device))
    expand = torch.arange(B, device=device).repeat_interleave(K)
    return memory.select(expand), Step(first.logits.index_select(0, expand), first.state.select(expand))


def _next_beams(sents: list[_Sentence], K: int, V: int, t: int, top_s: Tensor, top_i: Tensor,
                history: list[list[int]], alpha: float,
                n_best: int) -> tuple[list[int], list[tuple[int, int, float]]]:
    """Each searching sentence's K beams for the next step, as (row, token, score).

    Returns the indices (into `sents`) of the sentences still searching, and their
    beams, K per sentence in that order; a sentence with fewer live beams is padded
    with dead ones (score -inf).
    """
    keep: list[int] = []
    beams: list[tuple[int, int, float]] = []
    for n, (ss, ii) in enumerate(zip(top_s.tolist(), top_i.tolist(), strict=True)):
        alive = _advance(sents[n], n, K, V, t, ss, ii, history, alpha, n_best)
        if _done(sents[n], alive, n_best, alpha):
            continue
        keep.append(n)
        beams += alive + [alive[-1][:2] + (-math.inf,)] * (K - len(alive))  # pad dead beams
    return keep, beams


def _n_best(sent: _Sentence, n_best: int) -> list[Hypothesis]:
    """A sentence's n best finished hypotheses, best first."""
    sent.finished.sort(key=lambda h: h.score, reverse=True)
    return sent.finished[:n_best]


def _advance(sent: _Sentence, n: int, K: int, V: int, t: int, top_s: list[float], top_i: list[int],
             history: list[list[int]], alpha: float, n_best: int) -> list[tuple[int, int, float]]:
    """Sort one sentence's candidates into finished hypotheses and live beams."""
    alive: list[tuple[int, int, float]] = []
    at_limit = t + 1 >= sent.max_len
    for rank, (s, i) in enumerate(zip(top_s, top_i, strict=True)):
        if s == -math.inf:
            break
        row, tok = n * K + i // V, i % V
        if tok == EOS and rank >= K:
            continue  # an ending only counts when it ranks among the top `beam` (so beam 1 == greedy)
        if tok == EOS or at_limit:
            ids = history[row] + ([] if tok == EOS else [tok])
            sent.finished.append(Hypothesis(ids, s, s / length_penalty(t + 1, alpha)))
        elif len(alive) < K:
            alive.append((row, tok, s))
    if at_limit:
        return []
    return alive


def _done(sent: _Sentence, alive: list[tuple[int, int, float]], n_best: int, alpha: float) -> bool:
    """True when no live beam can still enter this sentence's n best."""
    if not alive:
        return True
    if len(sent.finished) < n_best:
        return False
    worst_kept = sorted((h.score for h in sent.finished), reverse=True)[n_best - 1]
    best_alive = max(s for _, _, s in alive)
    # s / lp is largest at the longest allowed length when s < 0 (alpha >= 0).
    bound = best_alive / length_penalty(sent.max_len, alpha) if best_alive < 0 else best_alive
    return bound <= worst_kept


@dataclass
class Translation:
    """A translated line: text, output ids, score, and the n-best list as (text, score)."""

    text: str
    ids: list[int]
    score: float
    src_ids: list[int]
    nbest: list[tuple[str, float]] = field(default_factory=list)
    truncated: bool = False


def translate(
    run: Run,
    lines: Sequence[str],
    beam: int = 1,
    alpha: float = 0.6,
    n_best: int = 1,
    max_len: int | None = None,
    batch_tokens: int = 2048,
    on_batch: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[Translation]:
    """Translate lines with a loaded run, in input order; an empty line gives an empty line.

    Lines are sorted by length and batched by a token budget for speed; the batch a
    sentence lands in never changes its translation (masks make padding invisible).
    Sources longer than the model's limit are truncated, with a warning.
    """
    model, src_tok, tgt_tok = run.model, run.src_tok, run.tgt_tok
    device = next(model.parameters()).device
    limit = model.config.max_len
    encoded = src_tok.encode_batch(list(lines)) if lines else []
    results: list[Translation | None] = [None] * len(lines)
    order, truncated = [], set()
    for i, ids in enumerate(encoded):
        if not ids:
            results[i] = Translation("", [], 0.0, [], [("", 0.0)] if n_best > 1 else [])
            continue
        if len(ids) > limit - 1:
            if on_warning:
                on_warning(f"line {i + 1}: {len(ids)} tokens exceed the model's limit of {limit - 1}; truncated")
            encoded[i] = ids[: limit - 1]
            truncated.add(i)
        order.append(i)
    order.sort(key=lambda i: len(encoded[i]))
    for batch in _token_batches(order, encoded, max(1, batch_tokens // max(1, beam))):
        srcs = [encoded[i] + [EOS] for i in batch]
        width = max(len(s) for s in srcs)
        src = torch.tensor([s + [PAD] * (width - len(s)) for s in srcs], device=device)
        src_mask = src != PAD
        lens = [max_len] * len(batch) if max_len else max_lengths(src_mask, limit)
        if beam == 1:
            hyps = [[h] for h in greedy(model, src, src_mask, lens)]
        else:
            hyps = beam_search(model, src, src_mask, lens, beam=beam, alpha=alpha, n_best=n_best)
        for i, hs in zip(batch, hyps, strict=True):
            best = hs[0]
            nbest = [(tgt_tok.decode(h.ids), h.score) for h in hs] if n_best > 1 else []
            results[i] = Translation(tgt_tok.decode(best.ids), best.ids, best.score, encoded[i], nbest,
                                     truncated=i in truncated)
        if on_batch:
            on_batch(len(batch))
    return [r for r in results if r is not None]


def _token_batches(order: list[int], encoded: list[list[int]], budget: int) -> list[list[int]]:
    """Group length-sorted indices so batch size * longest source stays within budget."""
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max([len(encoded[j]) for j in current] + [len(encoded[i])]) + 1
        if current and longest * (len(current) + 1) > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def attention_maps(model: Seq2Seq[MemoryT, StateT], src_ids: list[int], tgt_ids: list[int]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Re-run one sentence pair with weights on: (encoder maps, decoder maps), batch size 1.

    src_ids are the source tokens without <eos> (added here); tgt_ids the output
    without specials: the decoder reads [<bos>] + tgt_ids and predicts tgt_ids + [<eos>].
    """
    device = next(model.parameters()).device
    src = torch.tensor([src_ids + [EOS]], device=device)
    memory = model.encode(src, src != PAD, need_weights=True)
    step = model.decode(memory, torch.tensor([[BOS] + tgt_ids], device=device), need_weights=True)
    return dict(memory.attention), dict(step.attention)
