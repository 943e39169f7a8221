"""Corpus reading, normalisation, cleaning, splitting and `seqcli data info`."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from seqcli.cli.app import app, main
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import (
    MAX_WORDS,
    clean_pairs,
    corpus_stats,
    load_corpus,
    normalize_text,
    read_lines,
    split_pairs,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"
needs_shared = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    """Write lines (each + newline) as UTF-8, gzipped when gz."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def sentences(lang: str, split: str, n: int) -> list[str]:
    """Distinct, recognisable sentences: line i of every language is the same pair."""
    return [f"{lang} {split} sentence number {i} ." for i in range(n)]


def moses_dir(root: Path, langs: tuple[str, ...], stems: dict[str, int], gz: bool = False) -> Path:
    """A Moses-style directory with `stems` (name -> lines) in every language."""
    root.mkdir(parents=True, exist_ok=True)
    for stem, n in stems.items():
        for lang in langs:
            write(root / f"{stem}.{lang}", sentences(lang, stem, n), gz)
    return root


# --- normalisation and reading ---------------------------------------------------------


def test_normalize_composes_and_collapses_whitespace() -> None:
    decomposed = "Suome\u0301ssa"  # e + combining acute
    assert normalize_text(f"  {decomposed} \t katsomassa\u00a0\u202frevontulia.  ") == \
        "Suoméssa katsomassa revontulia."


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "  " not in once and once == once.strip()


def test_read_lines_handles_crlf_bom_and_unicode_separators(tmp_path: Path) -> None:
    path = tmp_path / "a.en"
    path.write_bytes("\ufeffone\r\ntwo\u2028still two\x85too\nthree".encode())
    assert read_lines(path) == ["one", "two\u2028still two\x85too", "three"]


def test_read_lines_gz_matches_plain(tmp_path: Path) -> None:
    lines = ["Turistit vierailevat Suomessa.", "", "revontulia"]
    assert read_lines(write(tmp_path / "x.fi", lines, gz=True)) == read_lines(write(tmp_path / "x.fi", lines))


def test_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.fi"
    path.write_bytes("hyvä\nok\n".encode() + b"bad \xff byte\n")
    with pytest.raises(SeqcliError, match=rf"{path}:3: invalid UTF-8"):
        read_lines(path)


def test_invalid_gzip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "train.en.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(SeqcliError, match=str(path)):
        read_lines(path)


# --- Moses-style directories -----------------------------------------------------------


def test_moses_dir_with_several_targets_and_test_sets(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "de", "fr"), {"train": 40, "val": 5, "test2016": 6, "test2018": 7})
    corpus = load_corpus(str(root), src="en", tgt="de", test_set="test2016")
    assert (corpus.src_lang, corpus.tgt_lang, corpus.test_name) == ("en", "de", "test2016")
    assert corpus.test_sets == ["test2016", "test2018"]
    assert [len(s) for s in corpus.splits().values()] == [40, 5, 6]
    assert corpus.test[3] == ("en test2016 sentence number 3 .", "de test2016 sentence number 3 .")
    assert corpus.valid[0] == ("en val sentence number 0 .", "de val sentence number 0 .")
    assert load_corpus(str(root), src="en", tgt="fr").test_name == "test2016"  # first in sorted order
    assert load_corpus(str(root), src="fr", tgt="en", test_set="test2018").test[0][1].startswith("en test2018")


def test_moses_prefers_test_named_test_and_reads_gz(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"train": 30, "dev": 4, "test": 5, "test2019": 3}, gz=True)
    corpus = load_corpus(str(root))  # two languages, one of them English: en -> fi
    assert (corpus.src_lang, corpus.tgt_lang, corpus.test_name) == ("en", "fi", "test")
    assert corpus.train[0] == ("en train sentence number 0 .", "fi train sentence number 0 .")
    assert len(corpus.valid) == 4


def test_moses_language_choice_errors_list_languages(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "de", "fr"), {"train": 20, "val": 3, "test": 3})
    with pytest.raises(SeqcliError, match="languages found: de, en, fr"):
        load_corpus(str(root))
    with pytest.raises(SeqcliError, match="'es'.*valid: de, en, fr"):
        load_corpus(str(root), src="en", tgt="es")
    assert load_corpus(str(root), tgt="fr").src_lang == "en"  # English source by default


def test_moses_missing_and_unknown_test_sets(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "de"), {"train": 20, "val": 3, "test2016": 3})
    write(root / "test2017.en", sentences("en", "test2017", 3))  # no test2017.de
    with pytest.raises(SeqcliError, match="missing test2017.de"):
        load_corpus(str(root), test_set="test2017")
    with pytest.raises(SeqcliError, match="'test2061'.*test2016"):
        load_corpus(str(root), test_set="test2061")


def test_moses_missing_train_side_names_the_file(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "de"), {"train": 20, "val": 3, "test": 3})
    write(root / "val.fr", sentences("fr", "val", 3))
    with pytest.raises(SeqcliError, match="missing train.fr"):
        load_corpus(str(root), src="en", tgt="fr")
    (root / "train.en").rename(root / "other.en")
    (root / "train.de").unlink()
    with pytest.raises(SeqcliError, match="no train.<lang> files"):
        load_corpus(str(root))


def test_unequal_line_counts_name_both_files(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"train": 20, "val": 3, "test": 3})
    write(root / "train.fi", sentences("fi", "train", 19))
    with pytest.raises(SeqcliError, match=rf"{root / 'train.en'} has 20 lines but {root / 'train.fi'} has 19"):
        load_corpus(str(root))


def test_missing_valid_and_test_are_carved_from_train(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"train": 300})
    corpus = load_corpus(str(root))
    assert "valid and test carved from train" in corpus.notes[0]
    assert len(corpus.valid) == len(corpus.test) == 3  # 1% of 300 source sentences
    assert len(corpus.train) == 294
    train_sources = {s for s, _ in corpus.train}
    assert not train_sources & {s for s, _ in corpus.valid + corpus.test}


def test_unknown_corpus_lists_known_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQCLI_HOME", str(tmp_path / "cache"))
    with pytest.raises(SeqcliError, match="not found.*aurora.*multi30k-en-de"):
        load_corpus(str(tmp_path / "nothing-here"))
    with pytest.raises(SeqcliError, match="not downloaded yet; run `seqcli data get tatoeba-en-fi`"):
        load_corpus("tatoeba-en-fi")


def test_fetched_name_is_found_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQCLI_HOME", str(tmp_path / "cache"))
    moses_dir(tmp_path / "cache" / "corpora" / "mine", ("en", "fi"), {"train": 20, "valid": 3, "test": 3})
    corpus = load_corpus("mine")
    assert corpus.name == "mine" and len(corpus.train) == 20


# --- TSV files, cleaning and splitting --------------------------------------------------


def tsv_lines(n_sources: int, per_source: int = 1, seed: int = 0) -> list[str]:
    """n_sources English sentences, each with per_source Finnish translations, shuffled."""
    lines = [f"I see {i} lights .\tNäen {i} valoa ({k})." for i in range(n_sources) for k in range(per_source)]
    random.Random(seed).shuffle(lines)
    return lines


def test_tsv_split_is_deterministic_grouped_and_order_free(tmp_path: Path) -> None:
    first = load_corpus(str(write(tmp_path / "a.tsv", tsv_lines(400, per_source=3, seed=1))))
    again = load_corpus(str(write(tmp_path / "b.tsv", tsv_lines(400, per_source=3, seed=1))))
    shuffled = load_corpus(str(write(tmp_path / "c.tsv", tsv_lines(400, per_source=3, seed=2))))
    assert first.splits() == again.splits()
    for split in ("train", "valid", "test"):  # the same sources land in the same split
        assert sorted(first.splits()[split]) == sorted(shuffled.splits()[split])
    held = [{s for s, _ in first.valid}, {s for s, _ in first.test}]
    assert [len(h) for h in held] == [4, 4]  # 1% of 400 distinct sources each
    assert len(first.valid) == len(first.test) == 12  # whole groups of 3 pairs
    train_sources = {s for s, _ in first.train}
    assert not (train_sources & held[0]) and not (train_sources & held[1]) and not (held[0] & held[1])


def test_split_caps_held_out_size() -> None:
    pairs = [(f"s{i}", f"t{i}") for i in range(1000)]
    splits = split_pairs(pairs, fraction=0.1, cap=7)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [986, 7, 7]
    with pytest.raises(SeqcliError, match="too small to split: 2 distinct"):
        split_pairs([("a", "b"), ("a", "c"), ("d", "e")])


def test_tsv_language_names_from_file_name_and_reversal(tmp_path: Path) -> None:
    path = write(tmp_path / "eng-fin.tsv", tsv_lines(200))
    forward = load_corpus(str(path))
    assert (forward.src_lang, forward.tgt_lang, forward.name) == ("eng", "fin", "eng-fin")
    backward = load_corpus(str(path), src="fin")
    assert (backward.src_lang, backward.tgt_lang) == ("fin", "eng")
    assert backward.train[0][1].startswith("I see")


def test_tsv_line_without_tab_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.tsv", ["a\tb", "c\td", "no tab here", "e\tf"])
    with pytest.raises(SeqcliError, match=rf"{path}:3: no TAB"):
        load_corpus(str(path))
    with pytest.raises(SeqcliError, match="unknown test set.*'test2016'.*valid: test"):
        load_corpus(str(path), test_set="test2016")


def test_tsv_extra_columns_are_ignored(tmp_path: Path) -> None:
    lines = [line + "\tCC-BY 2.0 (France) Attribution: tatoeba.org" for line in tsv_lines(200)]
    corpus = load_corpus(str(write(tmp_path / "fin.txt", lines)))
    assert all("tatoeba" not in t for _, t in corpus.train)


def test_cleaning_drops_and_counts_empty_and_long_pairs() -> None:
    long = " ".join(["word"] * (MAX_WORDS + 1))
    pairs = [("a b", "c"), ("", "x"), ("y", ""), (long, "z"), ("q", long), ("ok", "fine")]
    kept, report = clean_pairs(pairs)
    assert kept == [("a b", "c"), ("ok", "fine")]
    assert (report.read, report.dropped_empty, report.dropped_long, report.kept) == (6, 2, 2, 2)
    assert "dropped 2 empty and 2 over-long" in report.summary()
    kept, report = clean_pairs(pairs, max_words=None)  # evaluation splits keep long pairs
    assert len(kept) == 4 and report.dropped_long == 0


def test_moses_cleaning_report_per_split(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"train": 20, "val": 3, "test": 3})
    long = " ".join(["sana"] * (MAX_WORDS + 5))
    write(root / "train.en", [*sentences("en", "train", 18), "", "short"])
    write(root / "train.fi", [*sentences("fi", "train", 18), "tyhjä", long])
    write(root / "test.en", ["one", "two", long])
    corpus = load_corpus(str(root))
    assert (corpus.report["train"].dropped_empty, corpus.report["train"].dropped_long) == (1, 1)
    assert corpus.report["test"].kept == 3  # long test pairs are kept
    assert corpus.cleaning().read == 20 + 3 + 3


def test_empty_corpus_after_cleaning_is_an_error(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"val": 3, "test": 3})
    write(root / "train.en", ["", " ", "\t"])
    write(root / "train.fi", ["a", "b", "c"])
    with pytest.raises(SeqcliError, match="train split is empty after cleaning.*dropped 3 empty"):
        load_corpus(str(root))


def test_corpus_stats_match_the_pairs(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "fi"), {"val": 3, "test": 3})
    train = [("a b c", "x"), ("a", "x y"), ("d e f g h i j", "z")]
    write(root / "train.en", [s for s, _ in train])
    write(root / "train.fi", [t for _, t in train])
    stats = corpus_stats(load_corpus(str(root)))
    words = stats["splits"]["train"]["src_words"]
    assert (words["min"], words["max"], words["mean"]) == (1, 7, round((3 + 1 + 7) / 3, 2))
    assert words["histogram"][:2] == [2, 1] and sum(words["histogram"]) == 3
    assert stats["vocabulary"] == {"src": len(set("abcdefghij")), "tgt": 3}
    assert stats["cleaning"]["total"]["read"] == 9


# --- the CLI ----------------------------------------------------------------------------


def test_data_info_cli_plain_and_json(tmp_path: Path) -> None:
    root = moses_dir(tmp_path / "m", ("en", "de", "fr"), {"train": 30, "val": 4, "test2016": 5})
    runner = CliRunner()
    result = runner.invoke(app, ["data", "info", "--corpus", str(root), "--src", "en", "--tgt", "de"])
    assert result.exit_code == 0, result.output
    assert "en → de" in result.output and "test2016" in result.output and "30" in result.output
    result = runner.invoke(app, ["data", "info", "--corpus", str(root), "--tgt", "fr", "--json"])
    stats = json.loads(result.output)
    assert [stats["splits"][k]["pairs"] for k in ("train", "valid", "test")] == [30, 4, 5]
    assert (stats["src_lang"], stats["tgt_lang"], stats["test_set"]) == ("en", "fr", "test2016")


def test_data_info_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "bad.tsv", ["a\tb", "oops"])
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", "--corpus", str(path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{path}:2" in err


@needs_shared
def test_data_info_on_shared_multi30k() -> None:
    result = CliRunner().invoke(app, ["data", "info", "--corpus", str(CORPORA / "multi30k"),
                                      "--src", "en", "--tgt", "de", "--json"])
    stats = json.loads(result.output)
    assert [stats["splits"][k]["pairs"] for k in ("train", "valid", "test")] == [29000, 1014, 1000]
    assert stats["test_set"] == "test2016"
    assert stats["test_sets"] == ["test2016", "test2017", "test2017mscoco", "test2018"]


@needs_shared
def test_data_info_on_shared_tatoeba_tsv() -> None:
    result = CliRunner().invoke(app, ["data", "info", "--corpus",
                                      str(CORPORA / "tatoeba-eng-fin" / "eng-fin.tsv"), "--json"])
    stats = json.loads(result.output)
    assert sum(stats["splits"][k]["pairs"] for k in ("train", "valid", "test")) == 59490
    assert stats["cleaning"]["total"]["kept"] == 59490
    corpus = load_corpus(str(CORPORA / "tatoeba-eng-fin" / "eng-fin.tsv"))
    assert not {s for s, _ in corpus.train} & {s for s, _ in corpus.test}  # grouped by English
