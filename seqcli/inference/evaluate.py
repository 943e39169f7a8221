"""Scoring files and runs: the engine behind `seqcli bleu`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqcli.core.device import resolve_device
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus, read_lines
from seqcli.inference.decode import translate
from seqcli.inference.metrics import bleu, bleu_by_length, chrf, looks_tokenized, ter
from seqcli.runs.directory import load_run


def _read(path: Path) -> list[str]:

    return read_lines(path)


def score_lines(hyps: list[str], refs: list[list[str]], with_ter: bool, srcs: list[str] | None) -> dict[str, Any]:
    """BLEU and chrF (and TER) of hypotheses against references; BLEU by length when srcs given."""
    scores = [bleu(hyps, refs), chrf(hyps, refs)] + ([ter(hyps, refs)] if with_ter else [])
    report: dict[str, Any] = {"sentences": len(hyps), "scores": [s.as_dict() for s in scores]}
    if srcs is not None:
        report["by_length"] = bleu_by_length(hyps, refs[0], srcs)
    return report


def evaluate_files(hyp: Path, refs: list[Path], with_ter: bool, src: Path | None,
                   on_note: Callable[[str], None] = print) -> dict[str, Any]:
    """Score a hypothesis file against reference files (same line count required)."""
    hyps = _read(hyp)
    ref_lines = [_read(r) for r in refs]
    for path, lines in zip(refs, ref_lines, strict=True):
        if len(lines) != len(hyps):
            raise SeqcliError(f"{hyp} has {len(hyps)} lines but {path} has {len(lines)}")
    why = looks_tokenized(hyps)
    if why:
        on_note(f"warning: {hyp} looks tokenized ({why}); BLEU must be computed on detokenized text")
    srcs = _read(src) if src else None
    if srcs is not None and len(srcs) != len(hyps):
        raise SeqcliError(f"{src} has {len(srcs)} lines but {hyp} has {len(hyps)}")
    return score_lines(hyps, ref_lines, with_ter, srcs)


def evaluate_run(model: str, corpus: str | None, split: str, src: str | None, tgt: str | None, beam: int,
                 with_ter: bool, device: str, on_note: Callable[[str], None] = print) -> dict[str, Any]:
    """Translate a corpus split with a run and score it (BLEU by length included)."""

    run = load_run(model, device=resolve_device(device))
    c = run.train_config
    spec = corpus or c.corpus
    test_set = None if split in ("test", "valid") else split
    data = load_corpus(spec, src or c.src, tgt or c.tgt, test_set if test_set else (c.test_set if not corpus else None))
    pairs = data.valid if split == "valid" else data.test
    if not pairs:
        raise SeqcliError(f"corpus {spec} has no {split} pairs")
    on_note(f"translating {len(pairs)} {split} pairs of {data.name} with {run.path} (beam {beam})")
    hyps = [t.text for t in translate(run, [p[0] for p in pairs], beam=beam)]
    report = score_lines(hyps, [[p[1] for p in pairs]], with_ter, [p[0] for p in pairs])
    report.update(model=str(run.path), corpus=data.name, split=split if split != "test" else data.test_name, beam=beam)
    return report
