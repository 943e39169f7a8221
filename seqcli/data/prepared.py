"""Prepared corpora: tokenized once into a binarized, memory-mapped dataset.

`seqcli data prepare --corpus C --out DIR` reads C through the data layer (the same
cleaning and splits `train --corpus C` would use), trains the tokenizers on the
training split, encodes the training pairs chunk by chunk with the tokenizers
library's parallel batch encoding, and writes:

    prepared.json                   format, corpus, tokenizer settings, counts
    src_tokenizer.json              tgt_tokenizer.json
    train.src.bin  train.tgt.bin    int32 ids laid end to end, in the machine's byte
                                    order: each source as tokens + EOS, each target
                                    as BOS + tokens + EOS (what batching reads)
    train.src.idx  train.tgt.idx    int64 offsets [pairs + 1]: row i is offsets[i]:offsets[i+1]
    valid.tsv  test.tsv             the held-out pairs as text (BLEU scores text)

`seqcli train --corpus DIR` maps the .bin files copy-on-write (`torch.from_file`):
a batch reads only the pages of its own rows, so the ids of a corpus larger than
RAM stay on disk. What does sit in memory is per-pair bookkeeping (offsets,
lengths, the batch plan: on the order of a hundred bytes a pair) and the held-out
text. prepared.json is written last: a directory without it is not a dataset.
"""

from __future__ import annotations

import json
import os
import sys
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import BOS, EOS
from seqcli.data.batching import Encoded, LazySequence, _Flat
from seqcli.data.corpus import CleaningReport, Corpus, Pair, load_corpus, read_tsv
from seqcli.data.tokenizers import Tokenizer, default_vocab_size, train_tokenizers

FORMAT, VERSION = "seqcli-prepared", 1
MANIFEST = "prepared.json"
SRC_TOK, TGT_TOK = "src_tokenizer.json", "tgt_tokenizer.json"
FILES = (MANIFEST, SRC_TOK, TGT_TOK, "train.src.bin", "train.tgt.bin", "train.src.idx", "train.tgt.idx",
         "valid.tsv", "test.tsv")
CHUNK = 20_000  # pairs per parallel encode_batch call: big enough to keep every core busy
assert array("i").itemsize == 4 and array("q").itemsize == 8


@dataclass
class PrepareReport:
    """What `prepare_corpus` wrote and how fast it encoded."""

    out: Path
    pairs: int
    src_tokens: int
    tgt_tokens: int
    tokenizer_seconds: float
    encode_seconds: float

    @property
    def pairs_per_s(self) -> float:
        """Training pairs encoded and written per second (tokenizer training not included)."""
        return self.pairs / max(self.encode_seconds, 1e-9)


def _check_out(out: Path, force: bool) -> None:
    """Refuse to write into a non-empty directory unless it is a dataset being replaced."""
    if out.exists() and not out.is_dir():
        raise SeqcliError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise SeqcliError(f"--out {out} is not empty; choose another directory or --force to replace "
                              "a prepared dataset there")
        strangers = sorted(p.name for p in out.iterdir() if p.name not in FILES and not p.name.endswith(".tmp"))
        if strangers:
            raise SeqcliError(f"--out {out} holds files that are not a prepared dataset ({', '.join(strangers[:3])}); "
                              "--force only replaces a dataset's own files")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MANIFEST).unlink(missing_ok=True)  # the dataset is incomplete until it is rewritten
    except OSError as e:
        raise SeqcliError(f"cannot write to --out {out}: {e.strerror or e}") from None


def _chunks(pairs: Sequence[Pair]) -> Iterator[Sequence[Pair]]:
    for start in range(0, len(pairs), CHUNK):
        yield pairs[start:start + CHUNK]


class _Writer:
    """Appends rows of ids to `<name>.bin` and their offsets to `<name>.idx` (temp files until done)."""

    def __init__(self, out: Path, name: str, before: list[int], after: list[int]) -> None:
        self.paths = {ext: out / f"{name}.{ext}" for ext in ("bin", "idx")}
        self.ids = open(out / f".{name}.bin.tmp", "wb")  # noqa: SIM115 (closed in finish)
        self.idx = open(out / f".{name}.idx.tmp", "wb")  # noqa: SIM115
        self.before, self.after, self.offset = before, after, 0
        array("q", [0]).tofile(self.idx)

    def add(self, rows: list[list[int]]) -> None:
        flat, ends = array("i"), array("q")
        for row in rows:
            flat.extend(self.before)
            flat.extend(row)
            flat.extend(self.after)
            ends.append(self.offset + len(flat))
        flat.tofile(self.ids)
        ends.tofile(self.idx)
        self.offset += len(flat)

    def finish(self) -> None:
        for f, ext in ((self.ids, "bin"), (self.idx, "idx")):
            f.close()
            os.replace(f.name, self.paths[ext])


def _write_tsv(path: Path, pairs: Sequence[Pair]) -> None:
    # Normalised text holds no TAB or newline (whitespace runs became one space).
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")


def prepare_corpus(spec: str, out: str | Path, *, src: str | None = None, tgt: str | None = None,
                   test_set: str | None = None, tokenizer: str = "bpe", vocab_size: int | None = None,
                   joint_vocab: bool = False, force: bool = False,
                   report: Callable[[str], None] | None = None) -> PrepareReport:
    """Tokenize corpus `spec` once into a prepared dataset in `out` (see the module docstring).

    vocab_size None: the size `seqcli train` would choose for this corpus.
    """

    say = report or (lambda text: None)
    out = Path(out)
    _check_out(out, force)
    corpus = load_corpus(spec, src, tgt, test_set)
    say(f"corpus {corpus.name} ({corpus.src_lang}→{corpus.tgt_lang}): {len(corpus.train):,} train pairs")
    t0 = time.perf_counter()
    vocab_size = vocab_size or default_vocab_size(corpus.train)
    src_tok, tgt_tok = train_tokenizers(corpus.train, tokenizer, vocab_size, joint_vocab)
    t1 = time.perf_counter()
    say(f"tokenizers trained in {t1 - t0:.1f}s; encoding")
    writers = (_Writer(out, "train.src", [], [EOS]), _Writer(out, "train.tgt", [BOS], [EOS]))
    for chunk in _chunks(corpus.train):
        writers[0].add(src_tok.encode_batch([s for s, _ in chunk]))
        writers[1].add(tgt_tok.encode_batch([t for _, t in chunk]))
    for writer in writers:
        writer.finish()
    t2 = time.perf_counter()
    (out / SRC_TOK).write_text(src_tok.to_str(), encoding="utf-8")
    (out / TGT_TOK).write_text(tgt_tok.to_str(), encoding="utf-8")
    _write_tsv(out / "valid.tsv", corpus.valid)
    _write_tsv(out / "test.tsv", corpus.test)
    n = len(corpus.train)
    done = PrepareReport(out, n, writers[0].offset - n, writers[1].offset - 2 * n, t1 - t0, t2 - t1)
    manifest = {
        "format": FORMAT, "version": VERSION, "byteorder": sys.byteorder, "dtype": "int32",
        "corpus": {"name": corpus.name, "src": corpus.src_lang, "tgt": corpus.tgt_lang,
                   "test_set": corpus.test_name, "test_sets": corpus.test_sets, "notes": corpus.notes,
                   "source": corpus.source},
        "tokenizer": {"tokenizer": tokenizer, "vocab_size": vocab_size, "joint_vocab": joint_vocab},
        "pairs": n, "src_tokens": done.src_tokens, "tgt_tokens": done.tgt_tokens,
        "cleaning": {split: vars(r) for split, r in corpus.report.items()},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return done


# ---- reading ---------------------------------------------------------------------------


def _map(path: Path, count: int, dtype: torch.dtype) -> torch.Tensor:
    """Map a file of `count` values copy-on-write: pages are read when touched, never all at once."""
    expected = count * torch.empty(0, dtype=dtype).element_size()
    if not path.is_file() or path.stat().st_size != expected:
        raise SeqcliError(f"{path}: missing or not {expected:,} bytes; prepare the dataset again")
    if count == 0:
        return torch.empty(0, dtype=dtype)
    return torch.from_file(str(path), shared=False, size=count, dtype=dtype)


class MappedPairs(Encoded):
    """The training split of a prepared dataset as batching's `Encoded`, ids left on disk.

    rows [N]: which stored pairs are kept (those that fit max_tokens), in stored order.
    """

    def __init__(self, src: _Flat, tgt: _Flat, rows: torch.Tensor, dropped: int) -> None:
        self._flat = (_Flat(src.ids, src.starts[rows], src.lengths[rows]),
                      _Flat(tgt.ids, tgt.starts[rows], tgt.lengths[rows]))
        # Read-only sequences standing in for Encoded's lists: rows come off the disk when read.
        self.src = _Rows(self._flat[0], 0, 1)  # token ids without EOS
        self.tgt = _Rows(self._flat[1], 1, 1)  # without BOS and EOS
        self.index = rows.tolist()
        self.dropped = dropped

    def lengths(self) -> list[tuple[int, int]]:
        """(source + EOS, BOS + target) positions of every kept pair."""
        src, tgt = self.flat()
        return list(zip(src.lengths.tolist(), (tgt.lengths - 1).tolist(), strict=True))

    def flat(self) -> tuple[_Flat, _Flat]:
        """The mapped ids with this selection's starts and lengths."""
        assert self._flat is not None
        return self._flat


class _Rows(LazySequence[list[int]]):
    """Row i of a flat store as a list of ids, specials cut off (read on demand)."""

    def __init__(self, flat: _Flat, head: int, tail: int) -> None:
        self.flat, self.head, self.tail = flat, head, tail

    def __len__(self) -> int:
        return len(self.flat.lengths)

    def item(self, i: int) -> list[int]:
        """Row i's ids, without the specials the store keeps."""
        start, length = int(self.flat.starts[i]), int(self.flat.lengths[i])
        return self.flat.ids[start + self.head:start + length - self.tail].tolist()


class _Text(LazySequence[Pair]):
    """The training pairs as text, decoded from the ids when read (exact for BPE)."""

    def __init__(self, data: MappedPairs, src_tok: Tokenizer, tgt_tok: Tokenizer) -> None:
        self.data, self.src_tok, self.tgt_tok = data, src_tok, tgt_tok

    def __len__(self) -> int:
        return len(self.data)

    def item(self, i: int) -> Pair:
        """Pair i as text."""
        return self.src_tok.decode(self.data.src[i]), self.tgt_tok.decode(self.data.tgt[i])


class Prepared:
    """An opened prepared dataset: its corpus description, tokenizers and mapped training ids."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path, self.manifest = path, manifest
        self.src_tok, self.tgt_tok = Tokenizer.load(path / SRC_TOK), Tokenizer.load(path / TGT_TOK)
        n = int(manifest["pairs"])
        self._stored = tuple(self._side(f"train.{side}", n) for side in ("src", "tgt"))
        c = manifest["corpus"]
        report = {split: CleaningReport(**counts) for split, counts in manifest["cleaning"].items()}
        self.corpus = Corpus(c["name"], c["src"], c["tgt"], [], read_tsv(path / "valid.tsv"),
                             read_tsv(path / "test.tsv"), c["test_set"], report, list(c["test_sets"]),
                             [*c["notes"], f"prepared in {path}"], c["source"])
        self.corpus.train = _Text(self.train_data(), self.src_tok, self.tgt_tok)

    def _side(self, name: str, n: int) -> _Flat:
        offsets = _map(self.path / f"{name}.idx", n + 1, torch.int64).clone()  # [N + 1], small: in memory
        ids = _map(self.path / f"{name}.bin", int(offsets[-1]), torch.int32)  # stays on disk
        return _Flat(ids, offsets[:-1], offsets[1:] - offsets[:-1])

    def tokenizer_settings(self) -> dict[str, Any]:
        """The train config fields the ids depend on (tokenizer, vocab_size, joint_vocab)."""
        return dict(self.manifest["tokenizer"])

    def train_data(self, max_tokens: int | None = None) -> MappedPairs:
        """The training pairs; with max_tokens, without those whose source + EOS or BOS + target is longer."""
        src, tgt = self._stored
        if max_tokens is None:
            keep = torch.ones(len(src.lengths), dtype=torch.bool)
        else:  # stored rows hold EOS (source) and BOS + EOS (target)
            keep = (src.lengths <= max_tokens) & (tgt.lengths - 1 <= max_tokens)
        rows = keep.nonzero().view(-1)
        return MappedPairs(src, tgt, rows, int((~keep).sum()))


def open_prepared(spec: str, src: str | None = None, tgt: str | None = None,
                  test_set: str | None = None) -> Prepared | None:
    """Open spec if it is a directory written by `data prepare`; None if it is anything else."""
    path = Path(spec).expanduser()
    if not (path / MANIFEST).is_file():
        return None
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SeqcliError(f"{path / MANIFEST}: unreadable ({e}); prepare the dataset again") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise SeqcliError(f"{path}: not a seqcli prepared dataset of version {VERSION}; prepare it again")
    if manifest.get("byteorder") != sys.byteorder:
        raise SeqcliError(f"{path} was prepared on a {manifest.get('byteorder')}-endian machine; prepare it here")
    c = manifest["corpus"]
    for flag, given, fixed in (("--src", src, c["src"]), ("--tgt", tgt, c["tgt"]),
                               ("--test-set", test_set, c["test_set"])):
        if given is not None and given != fixed:
            raise SeqcliError(f"{path} was prepared with {flag} {fixed}; prepare again for {given}")
    return Prepared(path, manifest)
