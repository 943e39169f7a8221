"""`seqcli data get`: download from a local HTTP server, verify, lay out, refuse bad input."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import stat
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqcli.cli.app import app
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus
from seqcli.data.download import fetch
from seqcli.data.sources import SOURCES, RemoteFile, Source, cache_dir, source_url

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
needs_shared = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging to stderr; count requests."""

    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        QuietHandler.requests.append(self.path)


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local HTTP server on 127.0.0.1 serving tmp_path/www, set as SEQCLI_MIRROR;
    the cache is tmp_path/cache."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    monkeypatch.setenv("SEQCLI_MIRROR", f"http://127.0.0.1:{server.server_address[1]}/")
    monkeypatch.setenv("SEQCLI_HOME", str(tmp_path / "cache"))
    QuietHandler.requests = []
    yield root
    server.shutdown()
    server.server_close()


def publish(root: Path, relative: str, data: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def remote(relative: str, content: bytes, member: str | None = None) -> RemoteFile:
    return RemoteFile(relative, hashlib.sha256(content).hexdigest(), len(content), member)


def lines(lang: str, n: int) -> bytes:
    return "".join(f"{lang} line {i} ä\n" for i in range(n)).encode()


def cache_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache").rglob("*") if not p.is_dir()]


def tiny_source(root: Path) -> Source:
    """A gzipped two-language corpus published on the mirror."""
    files = {}
    for split, n in (("train", 40), ("valid", 4), ("test", 5)):
        for lang in ("en", "fi"):
            content = lines(f"{lang}-{split}", n)
            publish(root, f"tiny/{split}.{lang}.gz", gzip.compress(content))
            files[f"{split}.{lang}"] = remote(f"tiny/{split}.{lang}.gz", content)
    return Source("tiny", "a tiny corpus", "CC0", files, langs=("en", "fi"))


def test_fetch_verifies_and_lays_out_a_moses_directory(mirror: Path, tmp_path: Path) -> None:
    source = tiny_source(mirror)
    path = fetch("tiny", sources={"tiny": source})
    assert path == tmp_path / "cache" / "corpora" / "tiny"
    assert (path / "train.fi").read_bytes() == lines("fi-train", 40)
    manifest = json.loads((path / "source.json").read_text())
    assert manifest["files"]["train.en"]["sha256"] == source.files["train.en"].sha256
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no staging left
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(SOURCES, "tiny", source)
        corpus = load_corpus("tiny")
    assert len(corpus.train) == 40 and corpus.test[0] == ("en-test line 0 ä", "fi-test line 0 ä")


def test_fetch_keeps_an_existing_corpus_unless_forced(mirror: Path) -> None:
    sources = {"tiny": tiny_source(mirror)}
    fetch("tiny", sources=sources)
    first = len(QuietHandler.requests)
    assert first == 6
    fetch("tiny", sources=sources)
    assert len(QuietHandler.requests) == first
    fetch("tiny", sources=sources, force=True)
    assert len(QuietHandler.requests) == 2 * first


def test_checksum_mismatch_leaves_nothing_in_the_cache(mirror: Path, tmp_path: Path) -> None:
    source = tiny_source(mirror)
    publish(mirror, "tiny/test.fi.gz", gzip.compress(lines("fi-test", 5).replace(b"4", b"5")))
    with pytest.raises(SeqcliError, match=r"checksum mismatch for http://127.0.0.1:\d+/tiny/test.fi.gz"):
        fetch("tiny", sources={"tiny": source})
    assert cache_files(tmp_path) == []
    publish(mirror, "tiny/test.fi.gz", gzip.compress(lines("fi-test", 5) * 1000))  # too long
    with pytest.raises(SeqcliError, match=f"expected {len(lines('fi-test', 5))} bytes"):
        fetch("tiny", sources={"tiny": source})
    assert cache_files(tmp_path) == []


def test_a_failed_forced_download_keeps_the_old_copy(mirror: Path) -> None:
    source = tiny_source(mirror)
    path = fetch("tiny", sources={"tiny": source})
    publish(mirror, "tiny/train.en.gz", gzip.compress(b"tampered\n"))
    with pytest.raises(SeqcliError, match="checksum mismatch"):
        fetch("tiny", sources={"tiny": source}, force=True)
    assert (path / "train.en").read_bytes() == lines("en-train", 40)


def test_http_errors_are_one_clear_line(mirror: Path, tmp_path: Path) -> None:
    source = Source("gone", "missing", "-", {"train.en": remote("nowhere/train.en", b"x")})
    with pytest.raises(SeqcliError, match=r"download failed: .*/nowhere/train.en: HTTP 404"):
        fetch("gone", sources={"gone": source})
    assert cache_files(tmp_path) == []
    with pytest.raises(SeqcliError, match="unknown corpus to download 'multi30k-en-es'.*multi30k-en-de"):
        fetch("multi30k-en-es")


def zip_source(mirror: Path, members: dict[str, bytes], evil: zipfile.ZipInfo | None = None) -> Source:
    """A zip on the mirror holding a TSV (split on arrival) and maybe an evil member."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if evil is not None:
            archive.writestr(evil, b"owned\n")
    publish(mirror, "pack/pairs.zip", buffer.getvalue())
    tsv = members["pack/pairs.txt"]
    return Source("zipped", "a zipped TSV", "CC0", {"original.tsv": remote("pack/pairs.zip", tsv, "pack/pairs.txt")},
                  split_tsv=("en", "fi"), langs=("en", "fi"))


def test_zip_member_is_extracted_and_split(mirror: Path) -> None:
    tsv = "".join(f"I see {i} lights.\tNäen {i} valoa.\n" for i in range(300)).encode()
    path = fetch("zipped", sources={"zipped": zip_source(mirror, {"pack/pairs.txt": tsv, "pack/x": b"y"})})
    corpus = load_corpus(str(path))
    assert (corpus.src_lang, corpus.tgt_lang) == ("en", "fi")
    assert len(corpus.train) + len(corpus.valid) + len(corpus.test) == 300
    assert corpus.splits() == load_corpus(str(path / "original.tsv"), src="en", tgt="fi").splits()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("evil", [zipfile.ZipInfo("../escape.txt"), zipfile.ZipInfo("/tmp/abs.txt"),
                                  zipfile.ZipInfo("pack/../../up.txt"), _symlink("pack/link")],
                         ids=["dotdot", "absolute", "nested-dotdot", "symlink"])
def test_unsafe_archive_members_are_refused(mirror: Path, tmp_path: Path, evil: zipfile.ZipInfo) -> None:
    source = zip_source(mirror, {"pack/pairs.txt": b"a\tb\n"}, evil)
    with pytest.raises(SeqcliError, match=f"refusing archive with unsafe member '{evil.filename}'"):
        fetch("zipped", sources={"zipped": source})
    assert cache_files(tmp_path) == []
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "cache" / "escape.txt").exists()


def test_cache_dir_and_mirror_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SEQCLI_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "seqcli"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "seqcli"
    monkeypatch.setenv("SEQCLI_HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home"
    source, file = SOURCES["tatoeba-en-fi"], SOURCES["tatoeba-en-fi"].files["original.tsv"]
    monkeypatch.delenv("SEQCLI_MIRROR", raising=False)
    assert source_url(source, file).startswith("https://raw.githubusercontent.com/7dev7/finnish_seq2seq/")
    monkeypatch.setenv("SEQCLI_MIRROR", "http://mirror.example/base/")
    assert source_url(source, file) == "http://mirror.example/base/" + file.path


def test_data_get_cli_downloads_and_lists(mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SOURCES, "tiny", tiny_source(mirror))
    runner = CliRunner()
    result = runner.invoke(app, ["data", "get", "tiny"])
    assert result.exit_code == 0, result.output
    assert "--corpus tiny" in result.stdout
    listing = json.loads(runner.invoke(app, ["data", "get", "--json"]).stdout)
    assert {row["name"]: row["fetched"] for row in listing}["tiny"] is True
    info = json.loads(runner.invoke(app, ["data", "info", "--corpus", "tiny", "--json"]).stdout)
    assert info["splits"]["train"]["pairs"] == 40


def _publish_shared(mirror: Path, source: Source) -> None:
    """Put the shared corpora's files on the mirror where the registry expects them."""
    renames = {"valid": "val"}
    for name, file in source.files.items():
        if file.path.endswith(".gz"):
            stem, lang = name.split(".")
            data = (CORPORA / "multi30k" / f"{renames.get(stem, stem)}.{lang}").read_bytes()
            publish(mirror, file.path, gzip.compress(data, compresslevel=1))
        else:
            publish(mirror, file.path, (CORPORA / "tatoeba-eng-fin" / "eng-fin.tsv").read_bytes())


@needs_shared
@pytest.mark.parametrize("name", ["multi30k-en-de", "tatoeba-en-fi"])
def test_the_real_registry_checksums_match_the_shared_copies(mirror: Path, name: str) -> None:
    _publish_shared(mirror, SOURCES[name])
    corpus = load_corpus(str(fetch(name)))
    if name == "multi30k-en-de":
        assert (len(corpus.train), len(corpus.valid), corpus.test_name) == (29000, 1014, "test2016")
    else:
        assert len(corpus.train) + len(corpus.valid) + len(corpus.test) == 59490
        assert corpus.splits() == load_corpus(str(CORPORA / "tatoeba-eng-fin" / "eng-fin.tsv"),
                                              src="en", tgt="fi").splits()


def test_data_get_cli_errors_and_cached_notice(mirror: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from seqcli.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(["data", "get", ".."])  # never resolved as a path inside or outside the cache
    assert exit_info.value.code == 1
    assert "unknown corpus to download '..'" in capsys.readouterr().err
    monkeypatch.setitem(SOURCES, "tiny", tiny_source(mirror))
    fetch("tiny")
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "get", "tiny"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert "already in the cache" in captured.err and "--corpus tiny" in captured.out
