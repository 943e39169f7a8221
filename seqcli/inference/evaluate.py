"""One evaluation path: translate pairs, time it, score it with sacreBLEU, by source length.

`evaluate` is what the training loop (validation and test BLEU), `seqcli compare`,
`seqcli bleu --model` and the benchmarks call; `score` is its second half, for
hypotheses that already exist (`seqcli bleu HYP REF`). Both return an `Evaluation`,
and both bucket by source length with the one bucketer, `metrics.length_groups`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqcli.core.device import resolve_device
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus, read_lines
from seqcli.inference.decode import translate
from seqcli.inference.metrics import Score, bleu, bleu_by_length, chrf, looks_tokenized, ter
from seqcli.runs.directory import Run, load_run

Pair = tuple[str, str]  # (source, reference)
Translator = Callable[[Sequence[str]], list[str]]  # source lines -> hypotheses, in order


@dataclass(frozen=True)
class Bucket:
    """BLEU of the sentences whose source length falls in one bucket (see `metrics.length_groups`)."""

    label: str  # "1-10", "11-20", ..., or "41+" for merged long-end buckets
    sentences: int
    bleu: float

    def as_dict(self) -> dict[str, Any]:
        """The compare report's form, BLEU rounded to 2 places."""
        return {"bucket": self.label, "sentences": self.sentences, "bleu": round(self.bleu, 2)}


@dataclass(frozen=True)
class Evaluation:
    """Scores of one system on one set of pairs, and how long translating them took."""

    bleu: Score
    chrf: Score
    sentences: int
    seconds: float  # wall time of translating; 0.0 when the hypotheses were given
    words: int  # whitespace-separated words in the hypotheses
    by_length: tuple[Bucket, ...] = ()  # empty unless asked for
    ter: Score | None = None
    hypotheses: tuple[str, ...] = ()

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / max(self.seconds, 1e-9)

    @property
    def words_per_s(self) -> float:
        """Output words per second of decoding."""
        return self.words / max(self.seconds, 1e-9)

    @property
    def scores(self) -> list[Score]:
        """BLEU, chrF, and TER when it was computed, in that order."""
        return [self.bleu, self.chrf] + ([self.ter] if self.ter is not None else [])

    def summary(self, test_set: str) -> dict[str, Any]:
        """The record training (metrics.jsonl) and compare (report.json) keep of a test set."""
        return {"set": test_set, "sentences": self.sentences, "bleu": round(self.bleu.score, 2),
                "chrf": round(self.chrf.score, 2), "signature": self.bleu.signature,
                "chrf_signature": self.chrf.signature, "decode_sent_s": round(self.sentences_per_s, 1),
                "decode_words_s": round(self.words_per_s, 1)}


def score(hyps: Sequence[str], refs: Sequence[Sequence[str]], srcs: Sequence[str] | None = None, *,
          with_ter: bool = False, seconds: float = 0.0) -> Evaluation:
    """Score hypotheses against one or more reference streams; BLEU by length when `srcs` is given.

    Length buckets are scored against the first reference stream.
    """
    buckets = () if srcs is None else tuple(
        Bucket(label, n, value) for label, (value, n) in bleu_by_length(hyps, refs[0], srcs).items())
    return Evaluation(bleu(hyps, refs), chrf(hyps, refs), len(hyps), seconds, sum(len(h.split()) for h in hyps),
                      buckets, ter(hyps, refs) if with_ter else None, tuple(hyps))


def evaluate(system: Run | Translator | str | Path, pairs: Sequence[Pair], *, beam: int = 1,
             by_length: bool = True, with_ter: bool = False, device: str = "auto",
             precision: str = "auto") -> Evaluation:
    """Translate the sources of `pairs`, time it, and score the output against their references.

    `system` is a loaded run (model and tokenizers, decoded with seqcli's greedy or beam
    search), a run directory (loaded on `device`, decoding at `precision`), or any function from source lines to
    hypotheses (a benchmark's reference model; `beam` does not apply to it).
    """
    if not pairs:
        raise SeqcliError("nothing to evaluate: no sentence pairs")
    if isinstance(system, str | Path):
        system = load_run(system, device=resolve_device(device), precision=precision)
    srcs, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    t0 = time.monotonic()
    hyps = [t.text for t in translate(system, srcs, beam=beam)] if isinstance(system, Run) else system(srcs)
    seconds = time.monotonic() - t0
    return score(hyps, [refs], srcs if by_length else None, with_ter=with_ter, seconds=seconds)


def _report(ev: Evaluation) -> dict[str, Any]:
    """The `seqcli bleu` report: sentences, each score with its signature, BLEU by length if scored."""
    report: dict[str, Any] = {"sentences": ev.sentences, "scores": [s.as_dict() for s in ev.scores]}
    if ev.by_length:
        report["by_length"] = {b.label: (b.bleu, b.sentences) for b in ev.by_length}
    return report


def evaluate_files(hyp: Path, refs: list[Path], with_ter: bool, src: Path | None,
                   on_note: Callable[[str], None] = print) -> dict[str, Any]:
    """Score a hypothesis file against reference files (same line count required)."""
    hyps = read_lines(hyp)
    ref_lines = [read_lines(r) for r in refs]
    for path, lines in zip(refs, ref_lines, strict=True):
        if len(lines) != len(hyps):
            raise SeqcliError(f"{hyp} has {len(hyps)} lines but {path} has {len(lines)}")
    why = looks_tokenized(hyps)
    if why:
        on_note(f"warning: {hyp} looks tokenized ({why}); BLEU must be computed on detokenized text")
    srcs = read_lines(src) if src else None
    if srcs is not None and len(srcs) != len(hyps):
        raise SeqcliError(f"{src} has {len(srcs)} lines but {hyp} has {len(hyps)}")
    return _report(score(hyps, ref_lines, srcs, with_ter=with_ter))


def evaluate_run(model: str, corpus: str | None, split: str, src: str | None, tgt: str | None, beam: int,
                 with_ter: bool, device: str, precision: str = "auto",
                 on_note: Callable[[str], None] = print) -> dict[str, Any]:
    """Translate a corpus split with a run and score it (BLEU by length included)."""
    run = load_run(model, device=resolve_device(device), precision=precision)
    c = run.train_config
    spec = corpus or c.corpus
    test_set = None if split in ("test", "valid") else split
    data = load_corpus(spec, src or c.src, tgt or c.tgt, test_set if test_set else (c.test_set if not corpus else None))
    pairs = data.valid if split == "valid" else data.test
    if not pairs:
        raise SeqcliError(f"corpus {spec} has no {split} pairs")
    on_note(f"translating {len(pairs)} {split} pairs of {data.name} with {run.path} (beam {beam}, {run.precision})")
    report = _report(evaluate(run, pairs, beam=beam, with_ter=with_ter))
    report.update(model=str(run.path), corpus=data.name, split=split if split != "test" else data.test_name, beam=beam)
    return report
