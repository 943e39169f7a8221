"""The corpora seqcli can download: where each file lives, what its content must be,
and where a fetched corpus sits in the local cache.

The cache is `$SEQCLI_HOME`, else `$XDG_CACHE_HOME/seqcli`, else `~/.cache/seqcli`.
`$SEQCLI_MIRROR` replaces the canonical addresses with a mirror of the same layout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqcli.core.errors import unknown

GITHUB_RAW = "https://raw.githubusercontent.com/"
MIRROR_ENV = "SEQCLI_MIRROR"
HOME_ENV = "SEQCLI_HOME"

# `progress(label, total_bytes_or_None)` returns `advance(n_bytes)`.
Progress = Callable[[str, int | None], Callable[[int], None]]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a corpus: where it lives and what its content must be."""

    path: str  # relative path, appended to the source's base address or to $SEQCLI_MIRROR
    sha256: str  # of the content used: decompressed for .gz, the member for .zip
    size: int  # bytes of that content
    member: str | None = None  # for a .zip: the archive member holding the content


@dataclass(frozen=True)
class Source:
    """A downloadable corpus: its files by name in the corpus directory."""

    name: str
    description: str
    license: str
    files: dict[str, RemoteFile]
    split_tsv: tuple[str, str] | None = None  # (src, tgt) of `original.tsv`, split on arrival
    base: str = GITHUB_RAW
    langs: tuple[str, ...] = field(default=())


# Multi30k task 1, raw (untokenised) text, pinned to one commit of the dataset repo.
# The checksums are of the decompressed files: they were computed from byte-identical
# copies of the decompressed upstream files. The .gz files' own checksums are not known
# here (no network), so the compressed bytes are not checked, only what they contain.
_M30K = "multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/"
_M30K_STEMS = {"train": "train", "valid": "val", "test2016": "test_2016_flickr",
               "test2017": "test_2017_flickr", "test2017mscoco": "test_2017_mscoco",
               "test2018": "test_2018_flickr"}
_M30K_FILES = {  # our name: (sha256, size) of the decompressed upstream <stem>.<lang>.gz
    "train.cs": ("2be68b38c8d586ff4f54eb13cc6e1baaaa053695b3f070d3038303a47f2268da", 1755283),
    "train.de": ("2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72", 2110398),
    "train.en": ("460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6", 1801238),
    "train.fr": ("5925a3c18f1587b6b54b87743106e6e8ab93618edb6f65d19eac0621f853a10d", 2111303),
    "valid.cs": ("d53827e469b0a1ca8d57e9e26b2b64c4bc4b33f5479c7b03ae87ae5c882c3e33", 60213),
    "valid.de": ("660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660", 75981),
    "valid.en": ("1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227", 63297),
    "valid.fr": ("5304e444d842e962b2dda4d816b70b22a1765b15401642b7ca37a67477e708dc", 73924),
    "test2016.cs": ("45adb85f688de8407fddcbe1b36dca15d12aab868149b337e2576f2d6d2ff8d8", 62364),
    "test2016.de": ("4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16", 70649),
    "test2016.en": ("399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182", 62076),
    "test2016.fr": ("cb3160d69b002bb638e66cc7612fcd56cb0af82eadc9c142dedc438afb885ef6", 72261),
    "test2017.de": ("c3078bc3b36808bf9d20eb2347ed6137016179ef59ec0d2b9b8ecc3fb2880081", 64059),
    "test2017.en": ("ce1450ddc5ab0834502579d77a170849952e15a2938b34cc503bdc25ebb4fb98", 55242),
    "test2017.fr": ("6f3764e31dac41e9455e612958bcfd4e877c5e15cd66df2c2b2be6d9bd83e5b6", 65691),
    "test2017mscoco.de": ("58277df3c75f92f7145a11b910b553d1cf82c439249d4dc237c899609eafac22", 29906),
    "test2017mscoco.en": ("43051fdfa86fd5395182e718a94ca67b1b227b9f7c79596ff0f6b813216981d2", 24949),
    "test2017mscoco.fr": ("39cde3f43f32b0a6bf29ce4917a46329ff32e53070c2fac87506695a740ae0a0", 29982),
    "test2018.cs": ("1db59fe6980c9b3f9bade65122a985e71150214837d76f4768a5a8384c0b2dc7", 69775),
    "test2018.de": ("39fcc8b3331d76fb42d648d019c6898b0d5e58baac87bc2a0bb93f44ec8db207", 80893),
    "test2018.en": ("4e585c2dd525911a6ea7730e9d0b516239af3f1b1ffae6a2130223cfb639f25e", 70603),
    "test2018.fr": ("234b4a887da0da4801a3e2c6f21336231ff7dd46daeb80cfa1b551c8bbb78239", 84076),
}
_M30K_LICENSE = ("no licence file; non-commercial research and educational use "
                 "(Flickr30K terms); cite Elliott et al. 2016/2017, Barrault et al. 2018")
_TATOEBA_LICENSE = "CC BY 2.0 FR; attribution: tatoeba.org and www.manythings.org/anki"


def _multi30k(name: str, langs: tuple[str, ...]) -> Source:
    files = {}
    for ours, (sha, size) in _M30K_FILES.items():
        stem, lang = ours.split(".")
        if lang in langs:
            files[ours] = RemoteFile(f"{_M30K}{_M30K_STEMS[stem]}.{lang}.gz", sha, size)
    return Source(name, f"Multi30k task 1 image captions, {'/'.join(langs)}: 29,000 train, "
                  "1,014 valid, test2016/2017/2018 (+ mscoco)", _M30K_LICENSE, files, langs=langs)


SOURCES: dict[str, Source] = {
    "multi30k-en-de": _multi30k("multi30k-en-de", ("en", "de")),
    "multi30k-en-fr": _multi30k("multi30k-en-fr", ("en", "fr")),
    "multi30k": _multi30k("multi30k", ("en", "de", "fr", "cs")),
    # manythings.org's Anki fin-eng file (Tatoeba), the 2-column 2019 version, as kept
    # byte-for-byte in a GitHub repo (pinned). manythings.org's own zip changes over
    # time and its checksum is not known here, so it is not used.
    "tatoeba-en-fi": Source(
        "tatoeba-en-fi", "Tatoeba English-Finnish sentence pairs (manythings.org Anki, 59,490 pairs)",
        _TATOEBA_LICENSE,
        {"original.tsv": RemoteFile("7dev7/finnish_seq2seq/cd9374c8f6fa6a0ae66d3af15c9e4aab9a5d41fb/fin.txt",
                                    "cc00216f54c0562a11d4692a2fb901c45da4ff11bfa4f18e4b07d6f52af69165", 3850398)},
        split_tsv=("en", "fi"), langs=("en", "fi")),
    # d2l.ai-sized fra-eng (167,130 pairs) in a pinned zip; the zip's own checksum is not
    # known here (it was repacked), so its members are checked instead.
    "tatoeba-en-fr": Source(
        "tatoeba-en-fr", "Tatoeba English-French sentence pairs (manythings.org Anki, 167,130 pairs)",
        _TATOEBA_LICENSE,
        {"original.tsv": RemoteFile("modelexlab/data/adddaf33ac35572bcfeb421efec29435e7ea9332/fra-eng.zip",
                                    "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
                                    11669748, member="fra-eng/fra.txt"),
         "ABOUT.txt": RemoteFile("modelexlab/data/adddaf33ac35572bcfeb421efec29435e7ea9332/fra-eng.zip",
                                 "79f39a53dbddaf7ab43c801f231089174a611f23987244056f9e3cb5aa79358b",
                                 1441, member="fra-eng/_about.txt")},
        split_tsv=("en", "fr"), langs=("en", "fr")),
}


def cache_dir() -> Path:
    """The cache root: $SEQCLI_HOME, else $XDG_CACHE_HOME/seqcli, else ~/.cache/seqcli."""
    if home := os.environ.get(HOME_ENV):
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "seqcli"


def corpus_dir(name: str) -> Path:
    """Where a fetched corpus lives (it may not exist)."""
    return cache_dir() / "corpora" / name


def fetched_names() -> list[str]:
    """Names of the corpora already in the cache."""
    root = cache_dir() / "corpora"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if root.is_dir() else []


def source_url(source: Source, remote: RemoteFile) -> str:
    """The address to fetch: $SEQCLI_MIRROR + relative path when set, else the canonical one."""
    mirror = os.environ.get(MIRROR_ENV)
    return (mirror.rstrip("/") + "/" if mirror else source.base) + remote.path


def get_source(name: str, sources: dict[str, Source] | None = None) -> Source:
    """The registry entry for name; an unknown name is an error listing the known ones."""
    sources = SOURCES if sources is None else sources
    if name not in sources:
        raise unknown("corpus to download", name, sources)
    return sources[name]
