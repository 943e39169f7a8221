"""Decoding profile (issue 12): greedy and beam 5 on the peers' protocol, this engine against the one before.

    python bench/decode_profile.py RUN_DIR [--corpus /tmp/seqcli-peers/corpus] [--repeats 5]
    python bench/decode_profile.py RUN_DIR --profile [--engine before|after]

The protocol is ../shared/peers/run_seqcli.py's: the corpus's test sources sorted by
length, `translate()` called on chunks of 64 sentences with a token budget large
enough that each chunk is one batch, output length capped at 60 tokens, beam search
with alpha 0.6. Rates are output words (whitespace-separated) per second.

"before" is the engine as it was before issue 12, copied here (not in the package):
greedy with a Python loop over each row, beam search with per-sentence Python
bookkeeping, and (for a Transformer) the decoder's key/value cache re-concatenated
with `torch.cat` at every step. Both engines run in this process, interleaved
(bench/common.py), on the same loaded weights; the bench checks first that they give
the same hypotheses (scores to float rounding).

--profile prints cProfile's and torch.profiler's top entries for one pass of one
engine instead.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import functools
import math
import os
import pstats
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from common import header, interleaved, median, ratio, set_threads, table
from torch import Tensor

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.inference import decode
from seqcli.inference.decode import Hypothesis, Translation, length_penalty, translate
from seqcli.models.base import Seq2Seq, State, Step
from seqcli.runs.directory import Run, load_run

# ---- the engine before issue 12, verbatim but for names ----------------------------


def _never_emit(logp: Tensor) -> Tensor:
    logp[:, PAD] = -math.inf
    logp[:, BOS] = -math.inf
    return logp


@torch.no_grad()
def old_greedy(model: Seq2Seq[Any, Any], src: Tensor, src_mask: Tensor, max_lens: Sequence[int]) -> list[Hypothesis]:
    B = src.size(0)
    memory = model.encode(src, src_mask)
    step = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=src.device))
    active = list(range(B))
    ids: list[list[int]] = [[] for _ in range(B)]
    logprob = [0.0] * B
    for t in range(max(max_lens)):
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1))
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
        if len(keep) < len(active):
            index = torch.tensor(keep, device=src.device)
            memory, state, best = memory.select(index), step.state.select(index), best[index]
        else:
            state = step.state
        active = [active[r] for r in keep]
        step = model.decode(memory, best[:, None], state)
    return [Hypothesis(ids[b], logprob[b], logprob[b]) for b in range(B)]


@dataclass
class _Sentence:
    max_len: int
    finished: list[Hypothesis] = field(default_factory=list)


@torch.no_grad()
def old_beam_search(model: Seq2Seq[Any, Any], src: Tensor, src_mask: Tensor, max_lens: Sequence[int],
                    beam: int = 5, alpha: float = 0.6, n_best: int = 1) -> list[list[Hypothesis]]:
    B, K, device = src.size(0), beam, src.device
    sents = [_Sentence(m) for m in max_lens]
    memory = model.encode(src, src_mask)
    first = model.decode(memory, torch.full((B, 1), BOS, dtype=torch.long, device=device))
    expand = torch.arange(B, device=device).repeat_interleave(K)
    memory, step = memory.select(expand), Step(first.logits.index_select(0, expand), first.state.select(expand))
    scores = torch.full((B, K), -math.inf, device=device)
    scores[:, 0] = 0.0
    history: list[list[int]] = [[] for _ in range(B * K)]
    active = list(range(B))
    for t in range(max(max_lens)):
        N = len(active)
        logp = _never_emit(F.log_softmax(step.logits[:, -1].float(), dim=-1))
        V = logp.size(-1)
        cand = logp.add_(scores.view(-1, 1)).view(N, K * V)
        top_s, top_i = cand.topk(min(2 * K, K * V), dim=1)
        keep: list[int] = []
        beams: list[tuple[int, int, float]] = []
        for n, (ss, ii) in enumerate(zip(top_s.tolist(), top_i.tolist(), strict=True)):
            sent = sents[active[n]]
            alive = _old_advance(sent, n, K, V, t, ss, ii, history, alpha)
            if _old_done(sent, alive, n_best, alpha):
                continue
            keep.append(n)
            beams += alive + [alive[-1][:2] + (-math.inf,)] * (K - len(alive))
        if not keep:
            break
        active = [active[n] for n in keep]
        index = torch.tensor([row for row, _, _ in beams], device=device)
        history = [history[row] + [tok] for row, tok, _ in beams]
        scores = torch.tensor([s for _, _, s in beams], device=device).view(len(keep), K)
        if len(keep) < N:
            memory = memory.select(torch.tensor([n * K + k for n in keep for k in range(K)], device=device))
        state = step.state.select(index)
        step = model.decode(memory, torch.tensor([tok for _, tok, _ in beams], device=device)[:, None], state)
    out = []
    for sent in sents:
        sent.finished.sort(key=lambda h: h.score, reverse=True)
        out.append(sent.finished[:n_best])
    return out


def _old_advance(sent: _Sentence, n: int, K: int, V: int, t: int, top_s: list[float], top_i: list[int],
                 history: list[list[int]], alpha: float) -> list[tuple[int, int, float]]:
    alive: list[tuple[int, int, float]] = []
    at_limit = t + 1 >= sent.max_len
    for rank, (s, i) in enumerate(zip(top_s, top_i, strict=True)):
        if s == -math.inf:
            break
        row, tok = n * K + i // V, i % V
        if tok == EOS and rank >= K:
            continue
        if tok == EOS or at_limit:
            ids = history[row] + ([] if tok == EOS else [tok])
            sent.finished.append(Hypothesis(ids, s, s / length_penalty(t + 1, alpha)))
        elif len(alive) < K:
            alive.append((row, tok, s))
    return [] if at_limit else alive


def _old_done(sent: _Sentence, alive: list[tuple[int, int, float]], n_best: int, alpha: float) -> bool:
    if not alive:
        return True
    if len(sent.finished) < n_best:
        return False
    worst_kept = sorted((h.score for h in sent.finished), reverse=True)[n_best - 1]
    best_alive = max(s for _, _, s in alive)
    bound = best_alive / length_penalty(sent.max_len, alpha) if best_alive < 0 else best_alive
    return bound <= worst_kept


# ---- the Transformer's decoder before issue 12: torch.cat of the cache every step ----


@dataclass
class ConcatCache(State):
    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]


class ConcatCacheDecoder(Seq2Seq[Any, ConcatCache]):
    """A Transformer decoding as before: each layer's self-attention cache grows by torch.cat."""

    def __init__(self, model: Any) -> None:
        super().__init__(model.config)
        self.inner = model

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> Any:
        return self.inner.encode(src, src_mask)

    def decode(self, memory: Any, tgt_in: Tensor, state: ConcatCache | None = None,
               need_weights: bool = False) -> Step[ConcatCache]:
        m = self.inner
        x = m._embed(m.tgt_embed, tgt_in, offset=0 if state is None else state.keys[0].size(2))
        keys, values = [], []
        for i, layer in enumerate(m.decoder):
            cache = None if state is None else (state.keys[i], state.values[i])
            r = layer.self_residual
            own = layer.self_attention(r.before(x), causal=True, cache=cache)
            x = r.after(x, own.output)
            r = layer.cross_residual
            cross = layer.cross_attention(r.before(x), projected=(memory.keys[i], memory.values[i]),
                                          key_mask=memory.mask)
            x = r.after(x, cross.output)
            x = layer.ffn_residual.after(x, layer.feed_forward(layer.ffn_residual.before(x)))
            keys.append(own.keys)
            values.append(own.values)
        weight = m.tgt_embed.weight if m.output_weight is None else m.output_weight
        logits = F.linear(m.decoder_norm(x), weight, m.output_bias)
        return Step(logits, ConcatCache(tuple(keys), tuple(values)))


# ---- the protocol --------------------------------------------------------------------


@dataclass
class Engine:
    name: str
    run: Run
    greedy: Callable[..., Any]
    beam_search: Callable[..., Any]

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """translate() looks greedy and beam_search up as module globals: point them here."""
        saved = decode.greedy, decode.beam_search
        decode.greedy, decode.beam_search = self.greedy, self.beam_search
        try:
            yield
        finally:
            decode.greedy, decode.beam_search = saved


def engines(run: Run) -> dict[str, Engine]:
    old_model = ConcatCacheDecoder(run.model).eval() if hasattr(run.model, "tgt_embed") else run.model
    return {"before": Engine("before", dataclasses.replace(run, model=old_model), old_greedy, old_beam_search),
            "after": Engine("after", run, decode.greedy, decode.beam_search)}


def protocol(engine: Engine, test: list[str], beam: int, chunk: int = 64, max_len: int = 60) -> list[Translation]:
    """The peers' decoding protocol: length-sorted chunks of 64, one batch each."""
    order = sorted(range(len(test)), key=lambda i: len(test[i].split()))
    out: list[Translation | None] = [None] * len(test)
    with engine.installed():
        for k in range(0, len(order), chunk):
            ids = order[k:k + chunk]
            for i, tr in zip(ids, translate(engine.run, [test[i] for i in ids], beam=beam, max_len=max_len,
                                            batch_tokens=10**9), strict=True):
                out[i] = tr
    return [t for t in out if t is not None]


def check_same(a: list[Translation], b: list[Translation], what: str) -> None:
    same_ids = sum(x.ids == y.ids for x, y in zip(a, b, strict=True))
    worst = max(abs(x.score - y.score) for x, y in zip(a, b, strict=True))
    print(f"{what}: {same_ids}/{len(a)} identical hypotheses, largest score difference {worst:.2e}")
    if same_ids != len(a) or worst > 1e-3:
        raise SystemExit(f"{what}: the engines disagree")


def profile(engine: Engine, test: list[str], beam: int) -> None:
    protocol(engine, test[:64], beam)  # warm-up
    prof = cProfile.Profile()
    prof.enable()
    protocol(engine, test, beam)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tp:
        protocol(engine, test, beam)
    print(tp.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a trained run directory")
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/seqcli-peers/corpus"))
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--profile", action="store_true", help="profile one engine instead of timing both")
    parser.add_argument("--engine", choices=["before", "after"], default="after")
    parser.add_argument("--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                        help="what decoding runs in (load_run's precision); each is timed on its own")
    args = parser.parse_args()
    set_threads(args.threads)
    header("decode_profile: output words/s on the peers' protocol, before and after issue 12")
    test = (args.corpus / "test.src").read_text(encoding="utf-8").splitlines()[: args.sentences]
    rows = []
    for precision in args.precision:
        run = load_run(args.run, device="cpu", precision=precision)
        both = engines(run)
        print(f"model: {run.arch.name}, {run.model.num_parameters():,} parameters; {len(test)} sentences; "
              f"precision {run.precision}")
        translate(run, test[:8])  # warm-up (oneDNN primitives)
        if args.profile:
            for beam in args.beams:
                print(f"\n## {args.engine}, beam {beam}, {precision}")
                profile(both[args.engine], test, beam)
            continue
        for beam in args.beams:
            name = ("greedy" if beam == 1 else f"beam {beam}") + f", {precision}"
            results = {e: protocol(both[e], test, beam) for e in both}
            check_same(results["before"], results["after"], name)
            words = sum(len(t.text.split()) for t in results["after"])

            def rate(e: str, beam: int = beam, words: int = words, both: dict[str, Engine] = both) -> float:
                t0 = time.perf_counter()
                protocol(both[e], test, beam)
                return words / (time.perf_counter() - t0)

            rates = interleaved({e: functools.partial(rate, e) for e in both}, repeats=args.repeats, warmup=0)
            print(f"{name}: before {[round(r) for r in rates['before']]}, after {[round(r) for r in rates['after']]}",
                  flush=True)
            rows.append([name, f"{words / len(test):.1f}", f"{median(rates['before']):,.0f}",
                         f"{median(rates['after']):,.0f}", f"{ratio(rates, 'after', 'before'):.2f}×"])
    if rows:
        print()
        table(rows, ["decoding", "words/sentence", "before: words/s", "after: words/s", "after ÷ before"])
    print(f"load average at the end: {[round(x, 2) for x in os.getloadavg()]}")


if __name__ == "__main__":
    main()
