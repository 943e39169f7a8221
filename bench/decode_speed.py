"""Translation speed: greedy and beam-5 sentences/s, the key/value cache, batching, and HF generate().

    python bench/decode_speed.py [--sentences 64] [--tokens 30] [--repeats 5] [--threads 2]

Real English sentences (the Tatoeba eng-fin test split in ../shared/corpora) go
through seqcli's Transformer (size small, tokenizers trained on that corpus).
Weights are random and <eos> is never chosen, so every sentence decodes exactly
--tokens target tokens: the work is fixed and every contender does the same.

Compared, each pair side by side in one process:
- batched vs one sentence at a time (`seqcli.inference.decode.translate`, greedy and beam 5);
- the key/value cache vs recomputing the whole prefix at every step (50 tokens);
- when `transformers` is installed: beam-5 and greedy against Hugging Face
  `generate()` on a MarianMT model of the same size built from a config (no
  download), on the same padded batches.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import torch
from common import (
    CORPORA,
    header,
    interleaved,
    median,
    ratio,
    set_threads,
    table,
    timed,
    tokenizers_for,
)
from torch import Tensor

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.data.batching import collate_source
from seqcli.data.corpus import load_corpus
from seqcli.inference.decode import beam_search, greedy, translate
from seqcli.models.base import Memory, Seq2Seq, State, Step
from seqcli.models.registry import get_arch
from seqcli.runs.config import TrainConfig, make_model_config
from seqcli.runs.directory import Run, build_model


@dataclasses.dataclass
class Prefix(State):
    """The target so far: all a decoder without a cache can keep."""

    tokens: Tensor  # [B, t]


class Recompute(Seq2Seq):
    """The same model decoding without its cache: each step re-reads the whole prefix."""

    def __init__(self, model: Seq2Seq) -> None:
        super().__init__(model.config)
        self.inner = model

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> object:  # type: ignore[override]
        return self.inner.encode(src, src_mask)

    def decode(self, memory: object, tgt_in: Tensor, state: State | None = None,  # type: ignore[override]
               need_weights: bool = False) -> Step:
        prefix = tgt_in if state is None else torch.cat([state.tokens, tgt_in], dim=1)  # type: ignore[attr-defined]
        step = self.inner.decode(memory, prefix)  # type: ignore[arg-type]
        return Step(step.logits[:, -1:], Prefix(prefix))


def marian_like(model: Seq2Seq) -> torch.nn.Module:
    """A MarianMT model with seqcli's Transformer sizes, from a config (random weights)."""
    from transformers import MarianConfig, MarianMTModel

    c = model.config
    config = MarianConfig(
        vocab_size=c.src_vocab, decoder_vocab_size=c.tgt_vocab, share_encoder_decoder_embeddings=False,
        d_model=c.d_model, encoder_layers=c.layers, decoder_layers=c.layers, encoder_attention_heads=c.heads,
        decoder_attention_heads=c.heads, encoder_ffn_dim=c.ffn, decoder_ffn_dim=c.ffn, activation_function="relu",
        max_position_embeddings=c.max_len, pad_token_id=PAD, eos_token_id=EOS, decoder_start_token_id=BOS,
        forced_eos_token_id=None, bos_token_id=BOS, scale_embedding=True, tie_word_embeddings=True)
    torch.manual_seed(0)
    hf = MarianMTModel(config).eval()
    with torch.no_grad():  # never ends, like seqcli's model here (no logits processor needed)
        hf.final_logits_bias[..., EOS] = -math.inf
    return hf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=30, help="target tokens every sentence decodes")
    parser.add_argument("--batch", type=int, default=16, help="sentences per batch (HF comparison)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    set_threads(args.threads)
    header("decode_speed: sentences/s, seqcli vs its own variants and HF generate()")
    corpus = load_corpus(str(CORPORA / "tatoeba-eng-fin" / "eng-fin.tsv"))
    src_tok, tgt_tok = tokenizers_for("tatoeba-eng-fin", corpus.train, 8000)
    pairs = [(s, t) for s, t in corpus.test if 5 <= len(s.split()) <= 20][: args.sentences]
    lines = [s for s, _ in pairs]
    torch.manual_seed(0)
    config = make_model_config("transformer", "small", src_tok.vocab_size, tgt_tok.vocab_size)
    model = build_model(get_arch("transformer"), config).eval()
    with torch.no_grad():
        model.output_bias[EOS] = -math.inf  # never ends: a fixed amount of work per sentence
    run = Run(Path("."), get_arch("transformer"), TrainConfig(), config, model, src_tok, tgt_tok, {})
    words = sum(len(s.split()) for s in lines)
    print(f"data: {len(lines)} Tatoeba test sentences ({words / len(lines):.1f} words on average), "
          f"{args.tokens} target tokens each; model: Transformer small, {model.num_parameters():,} parameters")
    rows = []
    for beam in (1, 5):
        def batched(beam: int = beam) -> float:
            return len(lines) / timed(lambda: translate(run, lines, beam=beam, max_len=args.tokens))

        def one_by_one(beam: int = beam) -> float:
            return len(lines) / timed(lambda: [translate(run, [s], beam=beam, max_len=args.tokens) for s in lines])

        rates = interleaved({"batched": batched, "one at a time": one_by_one}, repeats=args.repeats)
        name = "greedy" if beam == 1 else f"beam {beam}"
        rows.append([f"{name}: translate(), batched", f"{median(rates['batched']):.1f}",
                     "one sentence at a time", f"{median(rates['one at a time']):.1f}",
                     f"{ratio(rates, 'batched', 'one at a time'):.2f}×"])
    rows.append(cache_vs_recompute(model, src_tok.encode_batch(lines), args))
    refs = [len(ids) for ids in tgt_tok.encode_batch([t for _, t in pairs])]
    rows += against_hf(model, src_tok.encode_batch(lines), refs, args)
    print()
    table(rows, ["seqcli", "sent/s", "against", "sent/s", "seqcli ÷ it"])


def cache_vs_recompute(model: Seq2Seq, ids: list[list[int]], args: argparse.Namespace) -> list[str]:
    """Greedy decoding of 50 tokens with the key/value cache and with recomputation."""
    src, mask = collate_source(ids[: args.batch])
    lens = [50] * len(src)
    slow = Recompute(model).eval()

    def cached() -> float:
        return len(src) / timed(lambda: greedy(model, src, mask, lens))

    def recomputed() -> float:
        return len(src) / timed(lambda: greedy(slow, src, mask, lens))

    rates = interleaved({"cache": cached, "recompute": recomputed}, repeats=args.repeats)
    return [f"greedy, 50 tokens, key/value cache ({len(src)} sentences)", f"{median(rates['cache']):.1f}",
            "recomputing the prefix", f"{median(rates['recompute']):.1f}", f"{ratio(rates, 'cache', 'recompute'):.2f}×"]


@dataclasses.dataclass(kw_only=True)
class WithLengths(Memory):
    """A memory that also carries each row's output length (beam search selects both together)."""

    inner: Memory
    lengths: Tensor  # [rows] target tokens before <eos>


@dataclasses.dataclass
class Counted(State):
    inner: State
    t: int  # tokens emitted so far (the same for every row)


class StopsAt(Seq2Seq):
    """The model, made to end each sentence at a given length: a trained model's lengths, stood in for.

    Row r may not emit <eos> before lengths[r] tokens and must emit it then. HF's side
    gets the same rule as a LogitsProcessor (`hf_stops_at`), so both do the same work.
    """

    def __init__(self, model: Seq2Seq, lengths: Tensor) -> None:
        super().__init__(model.config)
        self.inner, self.lengths = model, lengths

    def encode(self, src: Tensor, src_mask: Tensor, need_weights: bool = False) -> Memory:
        return WithLengths(mask=src_mask, inner=self.inner.encode(src, src_mask), lengths=self.lengths)

    def decode(self, memory: Memory, tgt_in: Tensor, state: State | None = None,  # type: ignore[override]
               need_weights: bool = False) -> Step:
        assert isinstance(memory, WithLengths)
        step = self.inner.decode(memory.inner, tgt_in, None if state is None else state.inner)  # type: ignore[attr-defined]
        t = 0 if state is None else state.t  # type: ignore[attr-defined]
        force_eos(step.logits[:, -1], memory.lengths <= t)
        return Step(step.logits, Counted(step.state, t + 1))


def force_eos(scores: Tensor, done: Tensor) -> None:
    """In place: rows not done may not end; done rows must."""
    scores[~done, EOS] = -math.inf
    scores[done] = -math.inf
    scores[done, EOS] = 0.0


def hf_stops_at(lengths: Tensor, beam: int) -> object:
    """The same rule as StopsAt for HF generate(), rows being sentence-major (row // beam)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class StopAt(LogitsProcessor):
        def __call__(self, input_ids: Tensor, scores: Tensor) -> Tensor:
            force_eos(scores, lengths.repeat_interleave(beam) <= input_ids.size(1) - 1)
            return scores

    return LogitsProcessorList([StopAt()])


def check_same_work(model: Seq2Seq, hf: torch.nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> None:
    """Both engines stop every sentence at its reference length (else the timing compares nothing)."""
    src, mask, lengths = batch
    for beam in (1, 5):
        ours = beam_search(StopsAt(model, lengths), src, mask, (lengths + 1).tolist(), beam=beam)
        with torch.no_grad():
            out = hf.generate(input_ids=src, attention_mask=mask.long(), num_beams=beam,
                              max_new_tokens=int(lengths.max()) + 1, logits_processor=hf_stops_at(lengths, beam),
                              **({"length_penalty": 0.6} if beam > 1 else {}))
        theirs = [row[1:].tolist().index(EOS) for row in out]
        assert [len(h[0].ids) for h in ours] == theirs == lengths.tolist(), (theirs, lengths.tolist())


def against_hf(model: Seq2Seq, ids: list[list[int]], refs: list[int], args: argparse.Namespace) -> list[list[str]]:
    """seqcli's greedy / beam search against HF generate() on a same-size MarianMT, same batches.

    Twice: every sentence --tokens long (the cost of a step), and every sentence as long
    as its reference translation (what a trained model does; finished sentences leave
    seqcli's batch, while generate() keeps computing them until the batch is done).
    """
    try:
        hf = marian_like(model)
    except ImportError:
        print("transformers is not installed: skipping the Hugging Face comparison "
              "(pip install transformers to include it)")
        return []
    print(f"Hugging Face MarianMT of the same size: {sum(p.numel() for p in hf.parameters()):,} parameters")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    groups = [order[i:i + args.batch] for i in range(0, len(order), args.batch)]
    batches = [(*collate_source([ids[i] for i in g]), torch.tensor([refs[i] for i in g])) for g in groups]
    check_same_work(model, hf, batches[0])
    rows = []
    for fixed, beam in ((True, 1), (True, 5), (False, 1), (False, 5)):
        def ours(beam: int = beam, fixed: bool = fixed) -> float:
            def go() -> None:
                for src, mask, lengths in batches:
                    driver = model if fixed else StopsAt(model, lengths)
                    limit = [args.tokens] * len(src) if fixed else (lengths + 1).tolist()
                    if beam == 1:
                        greedy(driver, src, mask, limit)
                    else:
                        beam_search(driver, src, mask, limit, beam=beam)
            return len(ids) / timed(go)

        def theirs(beam: int = beam, fixed: bool = fixed) -> float:
            def go() -> None:
                with torch.no_grad():
                    for src, mask, lengths in batches:
                        hf.generate(input_ids=src, attention_mask=mask.long(), num_beams=beam, do_sample=False,
                                    max_new_tokens=args.tokens if fixed else int(lengths.max()) + 1,
                                    logits_processor=None if fixed else hf_stops_at(lengths, beam),
                                    **({"length_penalty": 0.6} if beam > 1 else {}))
            return len(ids) / timed(go)

        rates = interleaved({"seqcli": ours, "hf": theirs}, repeats=args.repeats)
        name = "greedy" if beam == 1 else f"beam {beam}"
        what = f"{args.tokens} tokens each" if fixed else "reference lengths"
        rows.append([f"{name}, {what}, batches of {args.batch}", f"{median(rates['seqcli']):.1f}",
                     "HF generate(), MarianMT same size", f"{median(rates['hf']):.1f}",
                     f"{ratio(rates, 'seqcli', 'hf'):.2f}×"])
    return rows


if __name__ == "__main__":
    main()
