"""Subword and word tokenizers (HF `tokenizers`), trained on the training split.

Two kinds are trained here, a third is converted:

- `bpe` (default): byte-level BPE. Text is cut into words GPT-2 style, each word's
  UTF-8 bytes are the alphabet, and merges learned on the training split build
  subwords. Every byte is in the vocabulary, so no text ever becomes `<unk>`.
- `word`: one id per word or punctuation mark, words marked with a leading "▁" as
  in SentencePiece; words unseen in training become `<unk>` (and vanish on decode).
- `sentencepiece`: a pretrained model's SentencePiece unigram segmentation with its
  ids (`seqcli import`, written by `seqcli.data.sentencepiece`); its own normalisation.

Normalisation: `encode` first applies `seqcli.data.corpus.normalize_text` (Unicode NFC,
whitespace runs collapsed to one space, ends stripped). For `bpe`,
`decode(encode(text)) == normalize_text(text)` for any text; for `word` it holds
when every word was seen in training. Special tokens have fixed ids (pad 0, unk 1,
bos 2, eos 3, from `seqcli.models.base`); they are never added by `encode`, never
produced from the text itself (a literal "<eos>" in the input is plain text) and are
dropped by `decode`.

Training is deterministic and quiet. The vocabulary can end up smaller than asked:
BPE stops when no pair of symbols occurs twice, and a word vocabulary has at most
the distinct words; `vocab_size` reports the real size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from tokenizers import Encoding, decoders, models, pre_tokenizers, trainers
from tokenizers import Tokenizer as HFTokenizer

from seqcli.core.errors import SeqcliError, unknown
from seqcli.core.tokens import BOS, EOS, PAD, UNK
from seqcli.data.corpus import Pair, normalize_text

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")  # ids 0..3, in this order
KINDS = ("bpe", "word")  # what `Tokenizer.train` learns; "sentencepiece" comes from `seqcli import`
WORD_MARK = "▁"  # U+2581, marks the start of a word in readable token strings
# Sentencepiece kind (seqcli.data.sentencepiece): a vocabulary entry spelled with a leading
# space is one no text can be cut into (normalisation writes every space as "▁"); entries
# after MODEL_END are pieces the model has no id for, read as <unk>.
UNREACHABLE = " "
MODEL_END = UNREACHABLE + "<end of the model's vocabulary>"
assert [PAD, UNK, BOS, EOS] == list(range(len(SPECIALS)))


@cache
def _byte_decoder() -> dict[str, int]:
    """Invert GPT-2's byte -> printable character map used by byte-level BPE."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:  # unprintable bytes are shifted past 255, in byte order
            chars[byte] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def _build(kind: str) -> HFTokenizer:
    """An untrained tokenizer of the given kind with its pre-tokenizer and decoder."""
    if kind == "bpe":
        tok = HFTokenizer(models.BPE())
        # add_prefix_space: a word reads the same at the start of a sentence as
        # inside it; decode() strips the one space this adds.
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
    elif kind == "word":
        tok = HFTokenizer(models.WordLevel(unk_token=SPECIALS[UNK]))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement=WORD_MARK, prepend_scheme="always"),
            pre_tokenizers.Punctuation("isolated")])  # "world." -> "▁world", "."
        tok.decoder = decoders.Metaspace(replacement=WORD_MARK, prepend_scheme="always")
    else:
        raise unknown("tokenizer kind", kind, KINDS)
    return tok


class Tokenizer:
    """A trained tokenizer: text <-> ids, with fixed special ids and exact decoding."""

    def __init__(self, tok: HFTokenizer) -> None:
        self.kind = {models.BPE: "bpe", models.Unigram: "sentencepiece"}.get(type(tok.model), "word")
        for i, special in enumerate(SPECIALS):
            if self.kind == "sentencepiece":  # specials are unreachable entries, not added tokens
                if tok.id_to_token(i) != UNREACHABLE + special:
                    raise SeqcliError(f"tokenizer has {tok.id_to_token(i)!r} at id {i}, expected {special}")
            elif tok.token_to_id(special) != i:
                raise SeqcliError(f"tokenizer has {special} at id {tok.token_to_id(special)}, expected {i}")
        tok.encode_special_tokens = True  # "<eos>" typed by a user is text, not EOS
        self._tok = tok
        end = tok.token_to_id(MODEL_END) if self.kind == "sentencepiece" else None
        self._size = tok.get_vocab_size(with_added_tokens=True) if end is None else end
        # Sentencepiece kind: what an <unk> or an id past MODEL_END stands for when its text
        # is an unreachable entry (MarianTokenizer looks every piece's text up).
        self._aliases = {} if self.kind != "sentencepiece" else {
            t[len(UNREACHABLE):]: i for t, i in tok.get_vocab(with_added_tokens=False).items()
            if t.startswith(UNREACHABLE) and len(SPECIALS) <= i < self._size}

    @classmethod
    def train(cls, texts: Iterable[str], kind: str = "bpe", vocab_size: int = 8000) -> Tokenizer:
        """Learn a vocabulary of at most vocab_size ids (specials included) from texts."""
        tok = _build(kind)
        trainer: trainers.Trainer
        if kind == "bpe":
            # min_frequency=2: merging a pair seen once only memorises the corpus.
            trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                          special_tokens=list(SPECIALS),
                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        else:
            trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, show_progress=False,
                                                special_tokens=list(SPECIALS))
        tok.train_from_iterator((normalize_text(t) for t in texts), trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included (embedding tables need this many rows)."""
        return self._size

    def encode(self, text: str) -> list[int]:
        """Ids of the normalised text; no BOS/EOS added."""
        return self._ids(self._tok.encode(normalize_text(text), add_special_tokens=False))

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids of many texts, encoded in parallel by the library."""
        encodings = self._tok.encode_batch([normalize_text(t) for t in texts], add_special_tokens=False)
        return [self._ids(e) for e in encodings]

    def _ids(self, encoding: Encoding) -> list[int]:
        """The model's ids of an encoding: <unk> and ids past the model's resolved by their text."""
        if self.kind != "sentencepiece":
            return list(encoding.ids)
        return [i if i < self._size and i != UNK else self._aliases.get(t, UNK)
                for i, t in zip(encoding.ids, encoding.tokens, strict=True)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ids, specials dropped, spacing and punctuation as in the original."""
        if self.kind == "sentencepiece":  # its specials are vocabulary entries, not added tokens
            ids = [i for i in ids if len(SPECIALS) <= int(i) < self._size]
        text = self._tok.decode([int(i) for i in ids], skip_special_tokens=True)
        return text.removeprefix(" ") if self.kind == "bpe" else text

    def id_to_token(self, i: int) -> str:
        """A readable string for one id: real characters, "▁" where a word starts."""
        token = self._tok.id_to_token(int(i))
        if token is None:
            raise SeqcliError(f"token id {i} is outside the vocabulary (size {self.vocab_size})")
        if self.kind == "sentencepiece":
            return token.removeprefix(UNREACHABLE)
        if self.kind == "word" or int(i) < len(SPECIALS):
            return token
        raw = bytes(_byte_decoder()[c] for c in token)
        # A token may hold part of a multi-byte character; show the part as U+FFFD.
        return raw.decode("utf-8", errors="replace").replace(" ", WORD_MARK)

    def tokens(self, text: str) -> list[str]:
        """Readable token strings of text, one per id of encode(text) (attention labels)."""
        return [self.id_to_token(i) for i in self.encode(text)]

    def to_str(self) -> str:
        """The tokenizer as the library's JSON."""
        return self._tok.to_str()

    @classmethod
    def from_str(cls, text: str, where: str = "tokenizer") -> Tokenizer:
        """Rebuild from to_str() output; where names the source in errors."""
        try:
            json.loads(text)  # the library's own message for broken JSON is opaque
            tok = HFTokenizer.from_str(text)
        except Exception as e:  # the library raises plain Exception
            first = (str(e).splitlines() or [type(e).__name__])[0][:120]
            raise SeqcliError(f"{where}: not a valid tokenizer file ({first})") from None
        try:
            return cls(tok)
        except SeqcliError as e:
            raise SeqcliError(f"{where}: {e}") from None

    def save(self, path: Path) -> None:
        """Write the library's JSON to path (atomicity is the caller's job)."""
        Path(path).write_text(self.to_str(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        """Read a tokenizer saved by save(); a missing or broken file is a SeqcliError."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SeqcliError(f"cannot read tokenizer {path}: {getattr(e, 'strerror', None) or e}") from None
        return cls.from_str(text, where=str(path))


def train_tokenizers(pairs: Sequence[Pair], kind: str = "bpe", vocab_size: int = 8000,
                     joint: bool = False) -> tuple[Tokenizer, Tokenizer]:
    """Train (source, target) tokenizers on pairs; joint: one shared vocabulary for both."""
    if kind == "sentencepiece":
        raise SeqcliError("sentencepiece tokenizers come with a pretrained model (seqcli import), "
                          f"training learns {' or '.join(KINDS)}")
    if kind not in KINDS:
        raise unknown("tokenizer kind", kind, KINDS)
    if joint:
        shared = Tokenizer.train([text for pair in pairs for text in pair], kind, vocab_size)
        return shared, shared
    return (Tokenizer.train((s for s, _ in pairs), kind, vocab_size),
            Tokenizer.train((t for _, t in pairs), kind, vocab_size))


def default_vocab_size(pairs: Sequence[tuple[str, str]]) -> int:
    """Subword vocabulary per side: a quarter of the richer side's distinct words, in [1000, 8000].

    A vocabulary well below the word count makes BPE split words into stems and
    endings, so a morphologically rich target (Finnish) shares what its forms have in
    common. On aurora (4,493 distinct Finnish space-separated tokens) this gives 1123;
    a 1000-token vocabulary reached test BLEU 60 in a five-minute CPU budget where a
    whole-word vocabulary (3,187 tokens) with a wider model reached 3.6 in half that.
    """
    src_words: set[str] = set()
    tgt_words: set[str] = set()
    for src, tgt in pairs:
        src_words.update(src.split())
        tgt_words.update(tgt.split())
    return max(1000, min(8000, max(len(src_words), len(tgt_words)) // 4))
