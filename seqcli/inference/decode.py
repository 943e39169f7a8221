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

from seqcli.core.device import autocast
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


def _never_emit(logp: Tensor, early: bool = False) -> Tensor:
    """<pad> and <bos> are never outputs (an undertrained model must not emit them); <eos> not when early."""
    logp[:, PAD] = -math.inf
    logp[:, BOS] = -math.inf
    if early:  # fewer than min_len tokens so far
        logp[:, EOS] = -math.inf
    return logp


@torch.no_grad()
def greedy(model: Seq2Seq[MemoryT, StateT], src: Tensor, src_mask: Tensor, max_lens: Sequence[int],
           min_len: int = 0) -> list[Hypothesis]:
    """Pick the most probable token at each step until <eos> or the length limit.

    <eos> is not a choice before min_len tokens (min_len = max_len: exactly that many).

    All bookkeeping is on tensors, rows in step: one host sync per step (has a row
    ended?), and a finished sentence leaves the batch.
    """
    B, device = src.size(0), src.device
    T = max(max_lens)
    memory = model.encode(src, src_mask)
    step = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=device))
    limits = torch.tensor(max_lens, device=device)
    rows = torch.arange(B, device=device)  # original index of each row still decoding
    out = torch.full((B, T), EOS, dtype=torch.long, device=device)  # the tokens; <eos> after the last
    # float64 sums the float32 step log-probabilities exactly as the Python floats did
    logprob = torch.zeros(B, dtype=torch.float64, device=device)
    for t in range(T):
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1), t < min_len)  # [B', V]
        best_lp, best = logp.max(dim=-1)
        logprob.index_add_(0, rows, best_lp.double())
        out[rows, t] = best
        ended = (best == EOS) | (limits[rows] <= t + 1)  # [B']
        state = step.state
        if ended.any():
            keep = (~ended).nonzero().squeeze(1)
            if keep.numel() == 0:
                break
            memory, state, best, rows = memory.select(keep), state.select(keep), best[keep], rows[keep]
        step = model.decode(memory, best[:, None], state)
    ids, lps = out.tolist(), logprob.tolist()
    return [Hypothesis(_until_eos(ids[b]), lps[b], lps[b]) for b in range(B)]


def _until_eos(ids: list[int]) -> list[int]:
    """The tokens before the first <eos> (all of them when there is none)."""
    return ids[: ids.index(EOS)] if EOS in ids else ids


@dataclass
class _Finished:
    """Each sentence's best finished hypotheses so far, best first: the n-best list as tensors.

    score, logprob: [B, n] float64 (-inf = no hypothesis yet); ids: [B, n, T] tokens,
    length: [B, n] how many of them count. Float64 keeps a normalised score exactly
    what Python's float division of the float32 log-probability gives.
    """

    score: Tensor
    logprob: Tensor
    ids: Tensor
    length: Tensor

    @classmethod
    def empty(cls, B: int, n: int, T: int, device: torch.device) -> _Finished:
        """No hypotheses yet."""
        return cls(torch.full((B, n), -math.inf, dtype=torch.float64, device=device),
                   torch.zeros(B, n, dtype=torch.float64, device=device),
                   torch.zeros(B, n, T, dtype=torch.long, device=device),
                   torch.zeros(B, n, dtype=torch.long, device=device))

    def merge(self, sents: Tensor, score: Tensor, logprob: Tensor, ids: Tensor, length: Tensor) -> None:
        """Keep the n best of the kept ones and new candidates [N, C] (-inf scores: none) of sentences `sents`.

        A stable sort over (kept, then candidates in rank order) breaks ties as a
        stable sort of all finished hypotheses in the order they ended would.
        """
        n, T = self.score.size(1), self.ids.size(2)
        scores = torch.cat([self.score[sents], score], dim=1)  # [N, n + C]
        best = scores.sort(dim=1, descending=True, stable=True).indices[:, :n]  # [N, n]
        self.score[sents] = scores.gather(1, best)
        self.logprob[sents] = torch.cat([self.logprob[sents], logprob], dim=1).gather(1, best)
        self.length[sents] = torch.cat([self.length[sents], length], dim=1).gather(1, best)
        ids = F.pad(ids, (0, T - ids.size(2)))  # [N, C, T]
        self.ids[sents] = torch.cat([self.ids[sents], ids], dim=1).gather(1, best[:, :, None].expand(-1, -1, T))

    def hypotheses(self) -> list[list[Hypothesis]]:
        """Each sentence's finished hypotheses, best first."""
        scores, logprobs, ids, lengths = (x.tolist() for x in (self.score, self.logprob, self.ids, self.length))
        return [[Hypothesis(i[:n], lp, s) for s, lp, i, n in zip(ss, lps, ii, nn, strict=True) if s > -math.inf]
                for ss, lps, ii, nn in zip(scores, logprobs, ids, lengths, strict=True)]


@torch.no_grad()
def beam_search(
    model: Seq2Seq[MemoryT, StateT],
    src: Tensor,
    src_mask: Tensor,
    max_lens: Sequence[int],
    beam: int = 5,
    alpha: float = 0.6,
    n_best: int = 1,
    min_len: int = 0,
) -> list[list[Hypothesis]]:
    """Beam search with a GNMT length penalty; returns the n best hypotheses per sentence.

    No hypothesis ends with <eos> before min_len tokens.

    Each step ranks the top 2*beam continuations: those ending in <eos> that rank in
    the top `beam` become finished hypotheses, the best `beam` others stay alive (so
    beam 1 with alpha 0 is exactly greedy search). A sentence stops only when
    no live beam can still beat its n-th best finished one — with a length penalty a
    live beam's normalised score can still rise, so stopping when the top beam ends
    would be wrong. The bound used: log-probabilities only fall, so a live beam with
    log-prob s < 0 can at best reach s / lp(max_len).

    The bookkeeping is on tensors for all sentences at once ([N, 2*beam] candidates,
    the n-best list in `_Finished`, the history [N*beam, t]); a step syncs with the
    host once, to learn which sentences stopped.
    """
    B, K, device = src.size(0), beam, src.device
    T = max(max_lens)
    memory, step = _first_step(model, src, src_mask, K)
    limits = torch.tensor(max_lens, device=device)  # [B]
    # The bound's denominator lp(max_len) per sentence, as Python computes it.
    bound_lp = torch.tensor([length_penalty(m, alpha) for m in max_lens], dtype=torch.float64, device=device)
    finished = _Finished.empty(B, n_best, T, device)
    scores = torch.full((B, K), -math.inf, device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one so the top-K are distinct
    history = torch.zeros(B * K, 0, dtype=torch.long, device=device)  # [N*K, t] tokens of each live beam
    sents = torch.arange(B, device=device)  # original index of each sentence still searching
    rank, first = torch.arange(2 * K, device=device), torch.arange(K, device=device)
    for t in range(T):
        N = sents.numel()
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1), t < min_len)  # [N*K, V]
        V = logp.size(-1)
        C = min(2 * K, K * V)
        top_s, top_i = _top_candidates(logp, scores, C)  # [N, C], best first; top_i indexes [K*V]
        tok = top_i % V
        row = top_i // V + (torch.arange(N, device=device) * K)[:, None]  # the beam each extends, [N, C]
        valid, is_eos = top_s > -math.inf, tok == EOS
        at_limit = (limits[sents] <= t + 1)[:, None]  # [N, 1]
        # An ending only counts when it ranks among the top `beam` (so beam 1 == greedy).
        ends = valid & torch.where(is_eos, rank[:C] < K, at_limit)
        live = valid & ~is_eos & ~at_limit
        # The first K live candidates in rank order; a sentence with fewer is padded with dead beams (-inf).
        pick = torch.where(live, rank[:C], rank[:C] + C).argsort(dim=1)[:, :K]  # [N, K]
        alive = first < live.sum(1, keepdim=True)  # [N, K]
        next_s = top_s.gather(1, pick).masked_fill(~alive, -math.inf)
        next_row, next_tok = row.gather(1, pick), tok.gather(1, pick)
        ended = torch.where(ends, top_s.double() / length_penalty(t + 1, alpha), -math.inf)  # [N, C]
        finished.merge(sents, ended, top_s.double(),
                       torch.cat([history[row.flatten()].view(N, C, t), tok[:, :, None]], dim=2),
                       t + (~is_eos).long())
        # Done when no live beam can still enter the n best: a live log-prob s < 0 reaches at best s / lp(max_len).
        best_alive = next_s[:, 0].double()  # -inf when none is alive: then done
        bound = torch.where(best_alive < 0, best_alive / bound_lp[sents], best_alive)
        searching = bound > finished.score[sents, n_best - 1]  # a full n-best list's worst, else -inf
        keep = searching.nonzero().squeeze(1)
        if keep.numel() == 0:
            break
        if keep.numel() < N:  # sentences finished: drop their rows. A sentence's K beams share one
            # memory, so following the beams needs no copy of it (only the state moves).
            memory = memory.select((keep[:, None] * K + first).flatten())
            sents, next_s, next_row, next_tok = sents[keep], next_s[keep], next_row[keep], next_tok[keep]
        index = next_row.flatten()
        history = torch.cat([history[index], next_tok.view(-1, 1)], dim=1)
        scores = next_s
        state = step.state.select(index)
        step = model.decode(memory, next_tok.view(-1, 1), state)
    return finished.hypotheses()


# Vocabulary blocks for `_top_candidates`: a block's maximum stands for it in the first round.
_BLOCK = 64


def _top_candidates(logp: Tensor, scores: Tensor, C: int) -> tuple[Tensor, Tensor]:
    """The C best continuations of each sentence: values logp + score, indices into its [K*V].

    logp: [N*K, V] each beam's next-token log-probabilities; scores: [N, K] the beams'.
    Exactly topk over (logp + scores) viewed [N, K*V], found in two cheap rounds. Each
    row's vocabulary is cut into blocks of _BLOCK entries; a block outside the C + 1
    with the highest maximum (+ the beam's score) in its sentence has C + 1 entries at
    least as high as any of its own, so the second round ranks only those blocks'
    entries. topk over all K*V values reads them in a slow partial sort; the block
    maxima are one vectorised pass. Where the C + 1 best of a sentence hold a tie
    (bf16 logits tie often) the order among equals is topk's own business, so those
    sentences are ranked again by topk over all their values: the result never
    depends on the shortcut.
    """
    R, V = logp.shape
    N, K = scores.shape
    blocks = V // _BLOCK
    if blocks <= C:  # a small vocabulary: nothing to gain
        return (logp + scores.view(-1, 1)).view(N, K * V).topk(C, dim=1)
    # Block maxima plus the beam's score, [N, K*blocks]: fl(max(x) + s) == max(fl(x + s)), rounding is monotone.
    head = logp[:, : blocks * _BLOCK].view(R, blocks, _BLOCK)
    block_best = (head.amax(dim=2) + scores.view(-1, 1)).view(N, K * blocks)
    chosen = block_best.topk(C + 1, dim=1).indices  # [N, C + 1] block numbers, beam-major
    beam, block = chosen // blocks, chosen % blocks
    # Candidate positions in [K*V]: every entry of the chosen blocks, and each beam's last V % _BLOCK entries.
    offsets = torch.arange(_BLOCK, device=logp.device)
    index = ((beam * V + block * _BLOCK)[:, :, None] + offsets).view(N, -1)
    if blocks * _BLOCK < V:
        tail = torch.arange(blocks * _BLOCK, V, device=logp.device)
        tails = (torch.arange(K, device=logp.device)[:, None] * V + tail).view(1, -1).expand(N, -1)
        index = torch.cat([index, tails], dim=1)
    flat = logp.view(N, K * V)
    values = flat.gather(1, index) + scores.gather(1, index // V)  # the same sums as logp + score
    top_s, picked = values.topk(C + 1, dim=1)
    top_i = index.gather(1, picked)
    tied = ((top_s[:, 1:] == top_s[:, :-1]) & (top_s[:, 1:] > -math.inf)).any(dim=1).nonzero().squeeze(1)
    if tied.numel():
        again = (flat[tied].view(-1, K, V) + scores[tied, :, None]).view(-1, K * V).topk(C, dim=1)
        top_s[tied, :C], top_i[tied, :C] = again.values, again.indices
    return top_s[:, :C], top_i[:, :C]


def _first_step(model: Seq2Seq[MemoryT, StateT], src: Tensor, src_mask: Tensor,
                K: int) -> tuple[MemoryT, Step[StateT]]:
    """Encode, and decode the first step for each sentence's K beams (memory and state copied K times)."""
    B, device = src.size(0), src.device
    # All K beams of a sentence start identical: decode the first step once per sentence, then copy.
    memory = model.encode(src, src_mask)
    first = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=device))
    expand = torch.arange(B, device=device).repeat_interleave(K)
    return memory.select(expand), Step(first.logits.index_select(0, expand), first.state.select(expand))


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
    min_len: int = 0,
    batch_tokens: int = 2048,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> list[Translation]:
    """Translate lines with a loaded run, in input order; an empty line gives an empty line.

    Lines are sorted by length and batched for speed: by a token budget (batch_tokens
    source tokens per beam, padding included), or with batch_size by a number of
    sentences. The batch a sentence lands in never changes its translation (masks
    make padding invisible). No output ends before min_len tokens (OpenNMT-py's
    -min_length, HF's min_new_tokens); min_len = max_len fixes every output's length.
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
    batches = ([order[k:k + batch_size] for k in range(0, len(order), batch_size)] if batch_size
               else _token_batches(order, encoded, max(1, batch_tokens // max(1, beam))))
    for batch in batches:
        srcs = [encoded[i] + [EOS] for i in batch]
        width = max(len(s) for s in srcs)
        src = torch.tensor([s + [PAD] * (width - len(s)) for s in srcs], device=device)
        src_mask = src != PAD
        lens = [max_len] * len(batch) if max_len else max_lengths(src_mask, limit)
        with autocast(device, run.precision):  # the run's precision (load_run resolved it)
            if beam == 1:
                hyps = [[h] for h in greedy(model, src, src_mask, lens, min_len)]
            else:
                hyps = beam_search(model, src, src_mask, lens, beam=beam, alpha=alpha, n_best=n_best, min_len=min_len)
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
