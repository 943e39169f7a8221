"""Parallel corpora: read, normalise, clean and split sentence pairs.

A corpus spec (`--corpus`) is one of:

- `aurora`: the embedded English→Finnish corpus (a Moses-style directory, en→fi);
- a TSV file: `source<TAB>target` per line (further columns are ignored, so the
  three-column manythings.org files work); a name like `eng-fin.tsv` names the languages;
- a Moses-style directory: `train.<lang>`, `valid|val|dev.<lang>`, any number of
  `test*.<lang>` sets, optionally gzipped, several languages side by side;
- a name fetched with `seqcli data get` (a Moses-style directory in the cache).

Normalisation, applied to every line before anything else: Unicode NFC, then every
run of whitespace (anything `str.isspace` accepts, so also no-break spaces) becomes
one ASCII space and the ends are stripped. The tokenizers apply the same function,
so the text a model is trained and scored on is always in this form.

Cleaning: pairs with an empty side are dropped from every split; pairs with more
than `MAX_WORDS` words on a side are dropped from the training split only, so
evaluation sets stay comparable with published results. Both are counted.

Splitting (when a corpus has no valid/test split): a source sentence goes to a
held-out split by a seeded hash of its text, so the split is deterministic and all
pairs sharing a source sentence land in the same split (no test source in train).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from seqcli.core.errors import SeqcliError, unknown
from seqcli.data.shipped import shipped_dir
from seqcli.data.sources import SOURCES, corpus_dir, fetched_names

Pair = tuple[str, str]

MAX_WORDS = 250  # longer training pairs are dropped (either side)
HELD_OUT_FRACTION = 0.01  # of distinct source sentences, per held-out split
HELD_OUT_CAP = 3000  # at most this many source sentences per held-out split
SPLIT_SEED = "seqcli-split-v1"  # changing it changes every derived split
VALID_STEMS = ("valid", "val", "dev")  # preferred in this order
AURORA_LANGS = ("en", "fi")
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?")
_TSV_LANGS = re.compile(r"([a-z]{2,3})[-_]([a-z]{2,3})")


def normalize_text(text: str) -> str:
    """Return text in NFC with whitespace runs collapsed to one space and ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def read_lines(path: Path) -> list[str]:
    """Read a UTF-8 text file (plain or .gz) into lines without their line endings.

    Only "\\n" ends a line (plus an optional "\\r" before it), never the other
    characters `str.splitlines` accepts, so parallel files stay aligned.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except FileNotFoundError:
        raise SeqcliError(f"file not found: {path}") from None
    except (OSError, EOFError, zlib.error) as e:
        raise SeqcliError(f"{path}: cannot read: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SeqcliError(f"{path}:{line}: invalid UTF-8 (byte {data[e.start]:#04x})") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the first line
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start a new one
    return [line.removesuffix("\r") for line in lines]


def read_tsv(path: Path) -> list[Pair]:
    """Read `source<TAB>target` lines (extra columns ignored), normalised."""
    pairs = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise SeqcliError(f"{path}:{number}: no TAB between source and target")
        pairs.append((normalize_text(fields[0]), normalize_text(fields[1])))
    return pairs


def read_parallel(src_path: Path, tgt_path: Path) -> list[Pair]:
    """Read two line-aligned files into normalised pairs; unequal lengths are an error."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise SeqcliError(f"{src_path} has {len(src)} lines but {tgt_path} has {len(tgt)}; "
                          "parallel files must be line-aligned")
    return [(normalize_text(s), normalize_text(t)) for s, t in zip(src, tgt, strict=True)]


@dataclass
class CleaningReport:
    """What cleaning did to one split (or, summed with +, to a whole corpus)."""

    read: int = 0
    dropped_empty: int = 0
    dropped_long: int = 0
    kept: int = 0

    def __add__(self, other: CleaningReport) -> CleaningReport:
        return CleaningReport(self.read + other.read, self.dropped_empty + other.dropped_empty,
                              self.dropped_long + other.dropped_long, self.kept + other.kept)

    def summary(self) -> str:
        """One line: read, dropped (why), kept."""
        return (f"read {self.read:,} pairs, dropped {self.dropped_empty:,} empty and "
                f"{self.dropped_long:,} over-long (> {MAX_WORDS} words), kept {self.kept:,}")


def clean_pairs(pairs: Iterable[Pair], max_words: int | None = MAX_WORDS) -> tuple[list[Pair], CleaningReport]:
    """Drop pairs with an empty side, and (if max_words) pairs longer than max_words words."""
    kept: list[Pair] = []
    report = CleaningReport()
    for src, tgt in pairs:
        report.read += 1
        if not src or not tgt:
            report.dropped_empty += 1
        elif max_words is not None and max(src.count(" "), tgt.count(" ")) + 1 > max_words:
            report.dropped_long += 1  # normalised text: words = spaces + 1
        else:
            kept.append((src, tgt))
    report.kept = len(kept)
    return kept, report


def _split_rank(text: str) -> bytes:
    return hashlib.blake2b(f"{SPLIT_SEED}\0{text}".encode(), digest_size=8).digest()


def split_pairs(pairs: Sequence[Pair], held_out: Sequence[str] = ("valid", "test"),
                fraction: float = HELD_OUT_FRACTION, cap: int = HELD_OUT_CAP) -> dict[str, list[Pair]]:
    """Split pairs into "train" plus the held-out splits, grouped by source sentence.

    Distinct source sentences are ordered by a seeded hash; the first k go to the
    first held-out split, the next k to the second, and so on, with
    k = clamp(round(fraction * distinct), 1, cap). Pairs keep their original order.
    """
    sources = sorted(set(src for src, _ in pairs), key=_split_rank)
    k = min(cap, max(1, round(fraction * len(sources))))
    if len(sources) < k * len(held_out) + 1:
        raise SeqcliError(f"corpus too small to split: {len(sources)} distinct source sentences, "
                          f"need at least {len(held_out) + 1}")
    home = {src: held_out[i // k] for i, src in enumerate(sources[: k * len(held_out)])}
    splits: dict[str, list[Pair]] = {"train": [], **{name: [] for name in held_out}}
    for pair in pairs:
        splits[home.get(pair[0], "train")].append(pair)
    return splits


@dataclass
class Corpus:
    """A parallel corpus, cleaned and split; text is normalised (see module docstring)."""

    name: str
    src_lang: str
    tgt_lang: str
    train: Sequence[Pair]  # a list, or a prepared dataset's pairs decoded when read
    valid: list[Pair]
    test: list[Pair]
    test_name: str
    report: dict[str, CleaningReport]  # per split: "train", "valid", "test"
    test_sets: list[str] = field(default_factory=list)  # all test sets available for this pair
    notes: list[str] = field(default_factory=list)  # e.g. which splits were carved from train
    source: str = ""  # where it was read from

    def splits(self) -> dict[str, Sequence[Pair]]:
        """The three splits by name, in order."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def cleaning(self) -> CleaningReport:
        """The cleaning counts summed over all splits."""
        return self.report["train"] + self.report["valid"] + self.report["test"]


def load_corpus(spec: str = "aurora", src: str | None = None, tgt: str | None = None,
                test_set: str | None = None) -> Corpus:
    """Read, normalise, clean and split the corpus named by spec (see module docstring)."""
    if spec == "aurora":
        return _load_moses(_aurora_dir(), "aurora", src or AURORA_LANGS[0], tgt or AURORA_LANGS[1], test_set)
    path = Path(spec).expanduser()
    if path.is_file():
        if test_set not in (None, "test"):
            raise unknown(f"test set of {path} (a TSV has one, carved from it)", test_set, ["test"])
        return _load_tsv(path, src, tgt)
    if path.is_dir():
        return _load_moses(path, path.resolve().name, src, tgt, test_set)

    if "/" not in spec and not spec.startswith(".") and corpus_dir(spec).is_dir():
        return _load_moses(corpus_dir(spec), spec, src, tgt, test_set)
    if spec in SOURCES:
        raise SeqcliError(f"corpus {spec!r} is not downloaded yet; run `seqcli data get {spec}`")
    known = ["aurora", *fetched_names(), *SOURCES]
    raise SeqcliError(f"corpus {spec!r} not found: not a file, a directory or a known name; "
                      f"known names: {', '.join(dict.fromkeys(known))}")


def _aurora_dir() -> Path:
    """The embedded corpus; its absence means a broken install, said as such."""
    found = shipped_dir()
    if not (found / "train.en").is_file():
        raise SeqcliError(f"the embedded aurora corpus is missing ({found}); reinstall seqcli")
    return found


def _load_tsv(path: Path, src: str | None, tgt: str | None) -> Corpus:
    """A TSV file: no splits of its own, so all three are derived by hashing."""
    named = _TSV_LANGS.fullmatch(path.name.split(".")[0])
    file_langs = named.groups() if named else ("src", "tgt")
    pairs = read_tsv(path)
    if named and (src, tgt) in {(file_langs[1], file_langs[0]), (file_langs[1], None), (None, file_langs[0])}:
        pairs = [(t, s) for s, t in pairs]  # asked for the other direction
        file_langs = (file_langs[1], file_langs[0])
    src, tgt = src or file_langs[0], tgt or file_langs[1]
    raw = split_pairs(pairs)
    note = f"valid and test carved from the file ({HELD_OUT_FRACTION:.0%} of source sentences each, grouped)"
    return _finish(path.stem, src, tgt, raw, "test", ["test"], [note], str(path))


def _moses_files(directory: Path) -> dict[str, dict[str, Path]]:
    """Map stem -> language -> file for train, valid and test* files in a directory."""
    files: dict[str, dict[str, Path]] = {}
    for path in sorted(directory.iterdir()):
        base = path.name.removesuffix(".gz")
        stem, dot, lang = base.rpartition(".")
        relevant = stem == "train" or stem in VALID_STEMS or "test" in stem
        if dot and relevant and _LANG.fullmatch(lang) and path.is_file():
            files.setdefault(stem, {}).setdefault(lang, path)  # plain before .gz (sorted)
    return files


def _pick_langs(files: dict[str, dict[str, Path]], directory: Path,
                src: str | None, tgt: str | None) -> tuple[str, str]:
    """Choose the language pair from the training files; error when ambiguous."""
    langs = sorted(files["train"])
    for lang in (src, tgt):
        if lang is not None and lang not in langs:
            elsewhere = sorted(p.name for f in files.values() for code, p in f.items() if code == lang)
            if elsewhere:
                raise SeqcliError(f"{directory}: missing train.{lang} (found {', '.join(elsewhere)})")
            raise unknown(f"language in {directory}", lang, langs)
    if src is None and "en" in langs and tgt != "en" and (tgt is not None or len(langs) == 2):
        src = "en"  # the project translates from English unless told otherwise
    rest = [lang for lang in langs if lang not in (src, tgt)]
    if src is None and len(rest) == 1:
        src = rest[0]  # e.g. --tgt en on a two-language directory
    if tgt is None and len(rest) == 1:
        tgt = rest[0]
    if src is None or tgt is None or src == tgt:
        raise SeqcliError(f"{directory}: cannot tell the language pair; languages found: "
                          f"{', '.join(langs)}; choose with --src and --tgt")
    return src, tgt


def _load_moses(directory: Path, name: str, src: str | None, tgt: str | None,
                test_set: str | None) -> Corpus:
    """A Moses-style directory; missing valid/test splits are carved from train."""
    files = _moses_files(directory)
    if "train" not in files:
        found = ", ".join(sorted(p.name for f in files.values() for p in f.values())) or "none"
        raise SeqcliError(f"{directory}: no train.<lang> files (relevant files found: {found})")
    src, tgt = _pick_langs(files, directory, src, tgt)
    tests = sorted(stem for stem, f in files.items() if "test" in stem and src in f and tgt in f)
    if test_set is not None and test_set not in tests:
        if test_set in files:
            lang = tgt if src in files[test_set] else src
            raise SeqcliError(f"{directory}: missing {test_set}.{lang}")
        raise unknown(f"test set for {src}-{tgt} in {directory}", test_set, tests or ["(none)"])
    test_name = test_set or ("test" if "test" in tests else (tests[0] if tests else "test"))
    valid = next((s for s in VALID_STEMS if s in files and src in files[s] and tgt in files[s]), None)
    raw = {"train": read_parallel(files["train"][src], files["train"][tgt])}
    for split, stem in (("valid", valid), ("test", test_name if tests else None)):
        if stem:
            raw[split] = read_parallel(files[stem][src], files[stem][tgt])
    carve = [split for split in ("valid", "test") if split not in raw]
    notes = []
    if carve:
        raw.update(split_pairs(raw["train"], held_out=carve))
        notes.append(f"{' and '.join(carve)} carved from train "
                     f"({HELD_OUT_FRACTION:.0%} of source sentences each, grouped)")
    return _finish(name, src, tgt, raw, test_name, tests, notes, str(directory))


def _finish(name: str, src: str, tgt: str, raw: dict[str, list[Pair]], test_name: str,
            test_sets: list[str], notes: list[str], source: str) -> Corpus:
    """Clean every split and refuse a split that ends up empty."""
    cleaned, report = {}, {}
    for split in ("train", "valid", "test"):
        cleaned[split], report[split] = clean_pairs(raw[split], MAX_WORDS if split == "train" else None)
        if not cleaned[split]:
            raise SeqcliError(f"corpus {name} ({source}): the {split} split is empty after cleaning "
                              f"({report[split].summary()})")
    return Corpus(name, src, tgt, cleaned["train"], cleaned["valid"], cleaned["test"], test_name,
                  report, test_sets, notes, source)


LENGTH_EDGES = (5, 10, 15, 20, 30, 50, 100)  # upper edges (words) of the histogram buckets


def length_buckets() -> list[str]:
    """Labels of the length histogram buckets, e.g. "1-5", ..., "101+"."""
    lows = (1, *(edge + 1 for edge in LENGTH_EDGES))
    return [f"{lo}-{hi}" for lo, hi in zip(lows, LENGTH_EDGES, strict=False)] + [f"{lows[-1]}+"]


def _length_summary(lengths: list[int]) -> dict[str, object]:
    """min/mean/max and the bucket counts of a list of sentence lengths."""
    counts = [0] * (len(LENGTH_EDGES) + 1)
    for n in lengths:
        counts[next((i for i, edge in enumerate(LENGTH_EDGES) if n <= edge), len(LENGTH_EDGES))] += 1
    return {"min": min(lengths), "mean": round(sum(lengths) / len(lengths), 2),
            "max": max(lengths), "histogram": counts}


def corpus_stats(corpus: Corpus) -> dict[str, object]:
    """Pairs, cleaning counts, word lengths per split and vocabulary sizes, as plain data.

    Lengths are in words (spaces + 1 in normalised text); vocabulary sizes count
    distinct space-separated words of the training split, per side.
    """
    splits = {}
    for name, pairs in corpus.splits().items():
        splits[name] = {"pairs": len(pairs),
                        "src_words": _length_summary([s.count(" ") + 1 for s, _ in pairs]),
                        "tgt_words": _length_summary([t.count(" ") + 1 for _, t in pairs])}
    cleaning = {name: vars(r).copy() for name, r in corpus.report.items()}
    cleaning["total"] = vars(corpus.cleaning()).copy()
    vocab = {side: len({w for pair in corpus.train for w in pair[i].split(" ")})
             for i, side in enumerate(("src", "tgt"))}
    return {"corpus": corpus.name, "source": corpus.source, "src_lang": corpus.src_lang,
            "tgt_lang": corpus.tgt_lang, "test_set": corpus.test_name, "test_sets": corpus.test_sets,
            "notes": corpus.notes, "splits": splits, "length_buckets": length_buckets(),
            "cleaning": cleaning, "vocabulary": vocab}
