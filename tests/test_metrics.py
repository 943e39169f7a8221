"""sacreBLEU wrappers, BLEU by length and the tokenized-text warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seqcli.core.errors import SeqcliError
from seqcli.inference.metrics import (
    MIN_BUCKET,
    bleu,
    bleu_by_length,
    bucket_of,
    chrf,
    length_groups,
    looks_tokenized,
)

HYPS = ["the cat sat on the mat .", "a dog barked loudly", "tourists visit finland"]
REFS = ["the cat sat on the mat .", "the dog barked", "tourists visit lapland"]


def test_perfect_and_partial() -> None:
    assert bleu(REFS, [REFS]).score == pytest.approx(100.0)
    partial = bleu(HYPS, [REFS]).score
    assert 0 < partial < 100
    assert "nrefs:1" in bleu(HYPS, [REFS]).signature
    assert 0 < chrf(HYPS, [REFS]).score < 100


def test_line_count_mismatch() -> None:
    with pytest.raises(SeqcliError, match="2 lines"):
        bleu(HYPS, [REFS[:2]])


@pytest.mark.parametrize("n,label", [(1, "1-10"), (10, "1-10"), (11, "11-20"), (60, "51-60"), (0, "1-10")])
def test_bucket_of(n: int, label: str) -> None:
    assert bucket_of(n) == label


def test_bleu_by_length_partitions_sentences() -> None:
    srcs = ["short one"] * 2 + [" ".join(["w"] * 15)]
    out = bleu_by_length(HYPS, REFS, srcs, min_sentences=1)  # no merging: see the next test
    assert list(out) == ["1-10", "11-20"]
    assert out["1-10"][1] == 2 and out["11-20"][1] == 1


def test_bleu_by_length_merges_small_long_end_buckets() -> None:
    """By default a long-end bucket of fewer than MIN_BUCKET sentences joins the one before it."""
    srcs = ["short one"] * 2 + [" ".join(["w"] * 15)]
    out = bleu_by_length(HYPS, REFS, srcs)
    assert list(out) == ["1+"] and out["1+"] == (bleu(HYPS, [REFS]).score, 3)
    srcs = ["w " * 3] * MIN_BUCKET + ["w " * 15] * MIN_BUCKET + ["w " * 25]
    assert [(label, len(idx)) for label, idx in length_groups(srcs)] == [("1-10", 10), ("11+", 11)]


def test_looks_tokenized() -> None:
    assert looks_tokenized(["the ca@@ t sat", "a do@@ g"]) is not None
    assert looks_tokenized(["▁the ▁cat"]) is not None
    assert looks_tokenized(["The cat sat.", "A dog barked."]) is None


def test_equals_sacrebleu_command(tmp_path: Path) -> None:
    """seqcli bleu prints the numbers the sacrebleu command prints on the same files."""
    import json

    from seqcli.cli.app import main

    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("\n".join(HYPS) + "\n")
    ref.write_text("\n".join(REFS) + "\n")
    cmd = [sys.executable, "-m", "sacrebleu", str(ref), "-i", str(hyp), "-m", "bleu", "chrf", "-b", "-w", "2"]
    import re

    printed = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    expected = re.findall(r"\d+\.\d+", printed)
    out = subprocess.run([sys.executable, "-m", "seqcli", "bleu", str(hyp), str(ref), "--json"],
                         capture_output=True, text=True, check=True).stdout
    scores = {s["name"]: s["score"] for s in json.loads(out)["scores"]}
    assert [f"{scores['BLEU']:.2f}", f"{scores['chrF']:.2f}"] == expected
    assert main  # the in-process entry exists too
