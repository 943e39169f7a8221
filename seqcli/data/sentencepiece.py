"""SentencePiece models read without sentencepiece or protobuf, rewritten as `tokenizers` JSON.

A MarianMT checkpoint (OPUS-MT) ships two SentencePiece unigram models, `source.spm`
and `target.spm`, and one vocabulary, `vocab.json`, that numbers the pieces of both:
MarianTokenizer cuts a sentence with one side's model (Kudo 2018, the most probable
segmentation under the unigram language model), then looks each piece *string* up
in the shared vocabulary, `<unk>` where it is missing. `side_tokenizer` builds one
`tokenizers` Unigram model per side that gives exactly those ids:

- the lattice holds this side's pieces with their scores, and nothing else; the
  vocabulary entries of the other side stay in the table under their id, marked
  unreachable (`UNREACHABLE`, a leading space, which normalisation never leaves in a
  text), so decoding still spells them;
- a piece this side's model has but the vocabulary lacks stays in the lattice after
  a `MODEL_END` entry: the Tokenizer maps such ids, and an `<unk>` whose text is an
  unreachable entry, as MarianTokenizer does (`seqcli.data.tokenizers`);
- normalisation follows the model's own spec: its precompiled character map (NFKC
  and the rest), extra spaces removed, spaces written as "▁", the dummy prefix.

The `.spm` file is a protobuf `ModelProto` (sentencepiece_model.proto); the few
fields needed are read straight from the wire format here.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers
from tokenizers import Tokenizer as HFTokenizer

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import UNK
from seqcli.data.tokenizers import MODEL_END, SPECIALS, UNREACHABLE

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6  # SentencePiece.Type
UNIGRAM = 1  # TrainerSpec.ModelType
WORD_MARK = "▁"  # SentencePiece writes spaces as U+2581


@dataclass(frozen=True)
class SentencePieceModel:
    """What a `.spm` file says about segmentation: pieces, scores, normalisation."""

    pieces: list[tuple[str, float, int]]  # (piece, score, type) in the model's id order
    model_type: int = UNIGRAM
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    charsmap: bytes = b""  # the precompiled normalisation rules (e.g. nmt_nfkc)
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True

    def reachable(self) -> dict[str, float]:
        """Pieces a text can be cut into, with the score the lattice gives each.

        SentencePiece's lattice holds normal and user-defined pieces; a user-defined
        piece scores length · (best score) - 0.1, so it wins wherever it matches.
        """
        best = max((s for _, s, t in self.pieces if t == NORMAL), default=0.0)
        return {p: s if t == NORMAL else len(p) * best - 0.1
                for p, s, t in self.pieces if t in (NORMAL, USER_DEFINED)}

    def min_score(self) -> float:
        """The lowest normal piece's score: `<unk>` costs this minus 10 in both libraries."""
        return min((s for _, s, t in self.pieces if t == NORMAL), default=0.0)


def _wire(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of one protobuf message: ints for varints
    and fixed32 (the raw bits), bytes for length-delimited fields."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value, shift = 0, 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while pos < len(data):
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 0:
            yield number, varint()
        elif kind == 1:
            pos += 8  # fixed64: no field read here has this type
        elif kind == 2:
            length = varint()
            yield number, data[pos:pos + length]
            pos += length
        elif kind == 5:
            yield number, int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"protobuf wire type {kind}")
    if pos != len(data):
        raise ValueError("truncated message")


def _piece(data: bytes) -> tuple[str, float, int]:
    """SentencePiece: piece = 1 (string), score = 2 (float), type = 3 (enum, default NORMAL)."""
    piece, score, kind = "", 0.0, NORMAL
    for number, value in _wire(data):
        if number == 1 and isinstance(value, bytes):
            piece = value.decode("utf-8")
        elif number == 2 and isinstance(value, int):
            score = struct.unpack("<f", value.to_bytes(4, "little"))[0]
        elif number == 3 and isinstance(value, int):
            kind = value
    return piece, score, kind


def parse_model(data: bytes) -> SentencePieceModel:
    """Read the fields segmentation needs from a serialised ModelProto (absent = proto default)."""
    pieces: list[tuple[str, float, int]] = []
    trainer: dict[int, int | bytes] = {}
    normalizer: dict[int, int | bytes] = {}
    for number, value in _wire(data):
        if number == 1 and isinstance(value, bytes):  # ModelProto.pieces
            pieces.append(_piece(value))
        elif number == 2 and isinstance(value, bytes):  # ModelProto.trainer_spec
            trainer = dict(_wire(value))
        elif number == 3 and isinstance(value, bytes):  # ModelProto.normalizer_spec
            normalizer = dict(_wire(value))
    charsmap = normalizer.get(2, b"")
    return SentencePieceModel(
        pieces=pieces,
        model_type=int(trainer.get(3, UNIGRAM)),  # TrainerSpec.model_type
        byte_fallback=bool(trainer.get(35, 0)),
        treat_whitespace_as_suffix=bool(trainer.get(24, 0)),
        charsmap=charsmap if isinstance(charsmap, bytes) else b"",
        add_dummy_prefix=bool(normalizer.get(3, 1)),
        remove_extra_whitespaces=bool(normalizer.get(4, 1)),
        escape_whitespaces=bool(normalizer.get(5, 1)),
    )


def read_model(path: Path) -> SentencePieceModel:
    """Read a `.spm` file; anything but a unigram model this converter reproduces is a SeqcliError."""
    try:
        model = parse_model(Path(path).read_bytes())
    except OSError as e:
        raise SeqcliError(f"cannot read {path}: {e.strerror or e}") from None
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise SeqcliError(f"{path}: not a SentencePiece model ({e})") from None
    if not model.pieces:
        raise SeqcliError(f"{path}: not a SentencePiece model (no pieces)")
    unsupported = [
        (model.model_type != UNIGRAM, f"a model of type {model.model_type} (only unigram, type 1)"),
        (model.byte_fallback, "byte fallback"),
        (model.treat_whitespace_as_suffix, "whitespace as a suffix"),
        (not model.escape_whitespaces, "unescaped whitespace"),
    ]
    for bad, what in unsupported:
        if bad:
            raise SeqcliError(f"{path}: SentencePiece {what} is not supported")
    return model


def is_language_code(piece: str) -> bool:
    """A target-language token such as ">>fin<<", which MarianTokenizer takes whole from the text."""
    return piece.startswith(">>") and piece.endswith("<<") and len(piece) > 4


def side_tokenizer(model: SentencePieceModel, vocab: Sequence[str]) -> HFTokenizer:
    """A `tokenizers` Unigram tokenizer giving `vocab`'s ids for `model`'s segmentation.

    vocab: piece string of every model id; ids 0-3 are seqcli's specials (strings
    ignored). See the module docstring for how the two vocabularies are reconciled.
    """
    reachable = model.reachable()
    low = model.min_score()  # unreachable entries score this: the `<unk>` score stays SentencePiece's
    table: list[tuple[str, float]] = [(UNREACHABLE + s, 0.0) for s in SPECIALS]
    codes = []
    for piece in vocab[len(SPECIALS):]:
        if piece in reachable:
            table.append((piece, reachable[piece]))
        elif is_language_code(piece):  # taken whole from the text as an added token, below
            table.append((piece, 0.0))
            codes.append(piece)
        else:
            table.append((UNREACHABLE + piece, low))
    known = set(vocab)
    extra = [(p, s) for p, s in reachable.items() if p not in known]
    if extra:
        table += [(MODEL_END, low), *extra]
    tok = HFTokenizer(models.Unigram(table, unk_id=UNK, byte_fallback=False))
    tok.normalizer = _normalizer(model)
    if model.add_dummy_prefix:  # "always": text after a language code gets its "▁" too
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=WORD_MARK, prepend_scheme="always",
                                                     split=False)
    tok.decoder = decoders.Sequence([
        decoders.Strip(content=" ", left=1, right=0),  # unmark unreachable entries (token by token)
        decoders.Replace(WORD_MARK, " "),
        decoders.Fuse(),
        decoders.Strip(content=" ", left=1, right=0),  # the dummy prefix's space
    ])
    tok.add_tokens([AddedToken(code, normalized=False, special=False) for code in codes])
    return tok


def _normalizer(model: SentencePieceModel) -> normalizers.Normalizer:
    """SentencePiece's normalisation, in its order (as transformers' SpmConverter writes it)."""
    steps: list[normalizers.Normalizer] = []
    if model.charsmap:
        steps.append(normalizers.Precompiled(model.charsmap))
    if model.remove_extra_whitespaces:  # spaces only: other whitespace is left alone
        steps += [normalizers.Replace(Regex(r"\A +| +\z"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    steps.append(normalizers.Replace(" ", WORD_MARK))
    if model.add_dummy_prefix:
        # Metaspace adds no prefix to a text already starting with "▁"; SentencePiece does.
        steps.append(normalizers.Replace(Regex(r"\A" + re.escape(WORD_MARK)), WORD_MARK * 2))
    return normalizers.Sequence(steps)
