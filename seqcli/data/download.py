"""Fetch public corpora into the local cache, verified, as Moses-style directories.

`fetch(name)` downloads every file of a known corpus from its canonical address
(or from `$SEQCLI_MIRROR` + the file's relative path), checks the sha256 and size of
the content (the decompressed text of a .gz, the member of a .zip) against the
registry in `sources` before anything is used, and lays the files out as
`<cache>/corpora/<name>/{train,valid,test*}.<lang>` so `--corpus <name>` works.

Safety: everything is written inside a hidden staging directory next to the final
one, each file is fsynced and verified before it is renamed into place, and the
staging directory becomes the corpus directory in one rename; on any error it is
removed, so the cache never holds a partial corpus. Archive member names are
checked (no absolute paths, no "..", no symlinks) and an archive with a bad one is
refused as a whole. Only urllib is used; progress is reported through a callback so
this module never imports a renderer.
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
from pathlib import Path, PurePosixPath
from typing import IO, cast

from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus
from seqcli.data.sources import (
    MIRROR_ENV,
    Progress,
    RemoteFile,
    Source,
    corpus_dir,
    get_source,
    source_url,
)

CHUNK = 1 << 16
MAX_DOWNLOAD = 1 << 30  # refuse to store more than this from one address


def _no_progress(label: str, total: int | None) -> Callable[[int], None]:
    return lambda n: None


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
