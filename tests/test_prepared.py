"""Prepared (binarized, memory-mapped) corpora: same data as the text path, ids left on disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from seqcli.cli.app import app
from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.data.batching import encode_pairs, make_batches
from seqcli.data.corpus import load_corpus
from seqcli.data.prepared import MANIFEST, open_prepared, prepare_corpus
from seqcli.training.loop import train


@pytest.fixture(scope="module")
def prepared(tiny_tsv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared") / "toy"
    prepare_corpus(str(tiny_tsv), out, vocab_size=300)
    return out


def test_prepared_ids_and_batches_equal_encoding_the_text(tiny_tsv: Path, prepared: Path) -> None:
    p = open_prepared(str(prepared))
    assert p is not None
    corpus = load_corpus(str(tiny_tsv))
    assert p.corpus.valid == corpus.valid and p.corpus.test == corpus.test
    assert list(p.corpus.train) == corpus.train  # BPE decodes exactly: the ids hold the text
    for limit in (None, 9):  # 9 tokens drops some pairs, so the row selection is exercised
        mapped = p.train_data(max_tokens=limit)
        text = encode_pairs(corpus.train, p.src_tok, p.tgt_tok, max_tokens=limit)
        assert len(mapped) == len(text) and mapped.dropped == text.dropped
        assert mapped.index == text.index and mapped.lengths() == text.lengths()
        assert [mapped.src[i] for i in range(len(mapped))] == text.src
        for a, b in zip(make_batches(mapped, 120, shuffle=True, seed=2),
                        make_batches(text, 120, shuffle=True, seed=2), strict=True):
            for x, y in zip((a.src, a.src_mask, a.tgt_in, a.tgt_out, a.index),
                            (b.src, b.src_mask, b.tgt_in, b.tgt_out, b.index), strict=True):
                assert x.dtype == y.dtype and torch.equal(x, y)
    assert 0 < p.train_data(max_tokens=9).dropped < len(corpus.train)


def test_training_on_prepared_data_equals_training_on_the_text(tiny_tsv: Path, prepared: Path,
                                                               tmp_path: Path) -> None:
    base = {"arch": "transformer", "size": "tiny", "steps": 3, "batch_tokens": 300, "eval_every": 1000,
            "valid_bleu_sentences": 0, "seed": 5, "vocab_size": 300}
    train({**base, "corpus": str(tiny_tsv), "out": str(tmp_path / "text")}, evaluate_test=False)
    train({**base, "corpus": str(prepared), "out": str(tmp_path / "mapped")}, evaluate_test=False)
    a = read_tensors(tmp_path / "text" / "model.safetensors")[0]
    b = read_tensors(tmp_path / "mapped" / "model.safetensors")[0]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    saved = json.loads((tmp_path / "mapped" / "config.json").read_text())
    assert saved["train"]["corpus"] == str(prepared) and saved["train"]["vocab_size"] == 300


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux's lazy MAP_PRIVATE pages")
def test_ids_are_mapped_from_disk_not_copied(prepared: Path, tmp_path: Path) -> None:
    """Bytes changed on disk after opening show up on read: the ids were never loaded into memory."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in prepared.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    p = open_prepared(str(copy))
    assert p is not None
    flat = p.train_data().flat()[0]
    last = int(flat.starts[-1])  # the last pair's first source id, far from anything read so far
    with open(copy / "train.src.bin", "r+b") as f:
        f.seek(4 * last)
        f.write((77).to_bytes(4, sys.byteorder))
    assert int(flat.ids[last]) == 77


def test_prepare_refuses_and_explains(tiny_tsv: Path, prepared: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(SeqcliError, match="not empty"):
        prepare_corpus(str(tiny_tsv), tmp_path)
    with pytest.raises(SeqcliError, match="not a prepared dataset"):
        prepare_corpus(str(tiny_tsv), tmp_path, force=True)
    assert (tmp_path / "mine.txt").read_text() == "keep"
    with pytest.raises(SeqcliError, match="prepared with --src src"):
        open_prepared(str(prepared), src="de")
    assert open_prepared(str(tiny_tsv)) is None and open_prepared(str(tmp_path)) is None


def test_truncated_or_foreign_dataset_is_a_clear_error(prepared: Path, tmp_path: Path) -> None:
    for f in prepared.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    data = (tmp_path / "train.tgt.bin").read_bytes()
    (tmp_path / "train.tgt.bin").write_bytes(data[:-4])
    with pytest.raises(SeqcliError, match="prepare the dataset again"):
        open_prepared(str(tmp_path))
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(SeqcliError, match="version 1"):
        open_prepared(str(tmp_path))


def test_cli_prepare_reports_throughput(tiny_tsv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["data", "prepare", "--corpus", str(tiny_tsv), "--out", str(tmp_path / "p"),
                                      "--vocab-size", "300", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["pairs"] == len(load_corpus(str(tiny_tsv)).train) and record["pairs_per_s"] > 0
    assert (tmp_path / "p" / MANIFEST).is_file()
