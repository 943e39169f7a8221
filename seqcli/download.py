"""Fetch public corpora into the local cache, verified, as Moses-style directories.

`fetch(name)` downloads every file of a known corpus from its canonical address
(or from `$SEQCLI_MIRROR` + the file's relative path), checks the sha256 and size of
the content (the decompressed text of a .gz, the member of a .zip) against the
registry below before anything is used, and lays the files out as
`<cache>/corpora/<name>/{train,valid,test*}.<lang>` so `--corpus <name>` works.

Safety: everything is written inside a hidden staging directory next to the final
one, each file is fsynced and verified before it is renamed into place, and the
staging directory becomes the corpus directory in one rename; on any error it is
removed, so the cache never holds a partial corpus. Archive member names are
checked (no absolute paths, no "..", no symlinks) and an archive with a bad one is
refused as a whole. Only urllib is used; progress is reported through a callback so
this module never imports a renderer.

The cache is `$SEQCLI_HOME`, else `$XDG_CACHE_HOME/seqcli`, else `~/.cache/seqcli`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, cast

from seqcli.errors import SeqcliError, unknown

GITHUB_RAW = "https://raw.githubusercontent.com/"
MIRROR_ENV = "SEQCLI_MIRROR"
HOME_ENV = "SEQCLI_HOME"
CHUNK = 1 << 16
MAX_DOWNLOAD = 1 << 30  # refuse to store more than this from one address

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


def _no_progress(label: str, total: int | None) -> Callable[[int], None]:
    return lambda n: None


def get_source(name: str, sources: dict[str, Source] | None = None) -> Source:
    """The registry entry for name; an unknown name is an error listing the known ones."""
    sources = SOURCES if sources is None else sources
    if name not in sources:
        raise unknown("corpus to download", name, sources)
    return sources[name]


def fetch(name: str, *, force: bool = False, progress: Progress | None = None,
          sources: dict[str, Source] | None = None) -> Path:
    """Download, verify and lay out corpus `name` in the cache; return its directory.

    An existing corpus is kept unless force. `sources` replaces the registry (tests).
    """
    source, target = get_source(name, sources), corpus_dir(name)
    if target.is_dir() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=target.parent))
    try:
        downloads: dict[str, Path] = {}  # one download per address (a zip feeds several files)
        for out_name, remote in source.files.items():
            url = source_url(source, remote)
            if url not in downloads:
                downloads[url] = _download(url, staging, progress or _no_progress)
            _extract_verified(downloads[url], url, remote, staging / out_name)
        for path in downloads.values():
            path.unlink()
        if source.split_tsv:
            _split_layout(staging, source.split_tsv)
        _write_manifest(staging, source, {n: source_url(source, r) for n, r in source.files.items()})
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _download(url: str, staging: Path, progress: Progress) -> Path:
    """Stream url into a new file inside staging and return its path."""
    request = urllib.request.Request(url, headers={"User-Agent": "seqcli"})
    fd, name = tempfile.mkstemp(dir=staging, suffix=".download")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=60) as response:
            length = response.headers.get("Content-Length")
            advance, done = progress(url.rsplit("/", 1)[-1], int(length) if length else None), 0
            while chunk := response.read(CHUNK):
                done += len(chunk)
                if done > MAX_DOWNLOAD:
                    raise SeqcliError(f"{url}: larger than {MAX_DOWNLOAD:,} bytes; refusing it")
                out.write(chunk)
                advance(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    except urllib.error.HTTPError as e:
        raise SeqcliError(f"download failed: {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise SeqcliError(f"cannot download {url}: {reason} (set {MIRROR_ENV} to use a mirror)") from None
    return Path(name)


def check_archive(archive: zipfile.ZipFile, url: str) -> None:
    """Refuse an archive with any member that could land outside its directory."""
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith("/") or ":" in (parts[0] if parts else "") or ".." in parts or is_link:
            raise SeqcliError(f"{url}: refusing archive with unsafe member {info.filename!r} "
                              "(absolute path, '..' or symlink)")


def _open_content(download: Path, url: str, remote: RemoteFile, stack: ExitStack) -> IO[bytes]:
    """Open the content a RemoteFile names: a zip member, decompressed gzip, or the file."""
    if remote.member is not None:
        try:
            archive = stack.enter_context(zipfile.ZipFile(download))
        except zipfile.BadZipFile:
            raise SeqcliError(f"{url}: not a valid zip archive") from None
        check_archive(archive, url)
        try:
            return stack.enter_context(archive.open(remote.member))
        except KeyError:
            raise SeqcliError(f"{url}: archive has no member {remote.member!r}") from None
    if remote.path.endswith(".gz"):
        return cast(IO[bytes], stack.enter_context(gzip.open(download, "rb")))
    return stack.enter_context(download.open("rb"))


def _extract_verified(download: Path, url: str, remote: RemoteFile, dest: Path) -> None:
    """Copy the content to dest, renaming it into place only if size and sha256 match."""
    digest, size, partial = hashlib.sha256(), 0, dest.with_name(dest.name + ".tmp")
    try:
        with ExitStack() as stack:
            source = _open_content(download, url, remote, stack)
            with partial.open("wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > remote.size:  # also stops a decompression bomb early
                        break
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as e:
        raise SeqcliError(f"{url}: cannot read the content: {e}") from None
    if size != remote.size or digest.hexdigest() != remote.sha256:
        got = f"{size:,} bytes" if size != remote.size else f"sha256 {digest.hexdigest()}"
        raise SeqcliError(f"checksum mismatch for {url} ({dest.name}): expected {remote.size:,} "
                          f"bytes with sha256 {remote.sha256}, got {got}; nothing was kept")
    partial.rename(dest)


def _write_lines(path: Path, lines: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(line + "\n" for line in lines)
        f.flush()
        os.fsync(f.fileno())


def _split_layout(staging: Path, langs: tuple[str, str]) -> None:
    """Split original.tsv into train/valid/test.<lang> files with seqcli's own split."""
    from seqcli.data import load_corpus

    corpus = load_corpus(str(staging / "original.tsv"), src=langs[0], tgt=langs[1])
    for split, pairs in corpus.splits().items():
        for side, lang in enumerate(langs):
            _write_lines(staging / f"{split}.{lang}", [pair[side] for pair in pairs])


def _write_manifest(staging: Path, source: Source, urls: dict[str, str]) -> None:
    """Record where every file came from and what it was checked against."""
    files = {n: {"url": urls[n], "sha256": r.sha256, "size": r.size, "member": r.member}
             for n, r in source.files.items()}
    manifest = {"name": source.name, "description": source.description, "license": source.license,
                "files": files, "split": "seqcli hash split of original.tsv" if source.split_tsv else None}
    _write_lines(staging / "source.json", [json.dumps(manifest, indent=2, ensure_ascii=False)])


def _swap_in(staging: Path, target: Path) -> None:
    """Make staging the corpus directory; an old copy (with --force) is removed after."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        target.rename(old / "corpus")
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
