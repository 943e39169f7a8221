"""`seqcli data`: corpus statistics and downloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from seqcli.cli.common import DATA, Corpus, Flag, Json, Src, TestSet, Tgt, either, yes
from seqcli.runs.defaults import TOKENIZERS, TrainConfig

DATA_HELP = """Inspect, fetch and prepare corpora.

A corpus is aurora (embedded), a TSV file, a Moses directory, a prepared
directory, or a name fetched with `seqcli data get`.

Examples:
  seqcli data info --corpus multi30k-en-de
  seqcli data get multi30k-en-de
"""
data_app = typer.Typer(help=DATA_HELP, rich_markup_mode="rich", no_args_is_help=True)

BAR_WIDTH = 20


def _bar(count: int, most: int) -> str:
    """A text bar proportional to count/most (at least one block when count > 0)."""
    if count == 0 or most == 0:
        return ""
    return "█" * max(1, round(BAR_WIDTH * count / most))


def _words(summary: dict[str, Any]) -> str:
    return f"{summary['min']} / {summary['mean']:.1f} / {summary['max']}"


def _render_info(stats: dict[str, Any]) -> None:
    """Print corpus statistics as rich tables (plain text when piped)."""
    from seqcli.views.render import stdout_console

    console = stdout_console()
    src, tgt = stats["src_lang"], stats["tgt_lang"]
    console.print(f"[bold]{stats['corpus']}[/bold]  {src} → {tgt}   ({stats['source']})")
    others = [t for t in stats["test_sets"] if t != stats["test_set"]]
    console.print(f"test set: {stats['test_set']}" + (f"  (also: {', '.join(others)})" if others else ""))
    for note in stats["notes"]:
        console.print(f"note: {note}")
    table = Table(title="Splits (lengths in words: min / mean / max)", title_justify="left")
    for column in ("split", "pairs", f"{src} words", f"{tgt} words", "read", "empty", "too long"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, split in stats["splits"].items():
        clean = stats["cleaning"][name]
        table.add_row(name, f"{split['pairs']:,}", _words(split["src_words"]), _words(split["tgt_words"]),
                      f"{clean['read']:,}", f"{clean['dropped_empty']:,}", f"{clean['dropped_long']:,}")
    console.print(table)
    vocab = stats["vocabulary"]
    console.print(f"distinct words in train: {src} {vocab['src']:,} · {tgt} {vocab['tgt']:,}")
    train = stats["splits"]["train"]
    counts = list(zip(train["src_words"]["histogram"], train["tgt_words"]["histogram"], strict=True))
    most = max(max(pair) for pair in counts)
    hist = Table(title="Train sentence lengths (words)", title_justify="left")
    for column in ("words", src, "", tgt, ""):
        hist.add_column(column, justify="right" if column in (src, tgt) else "left")
    for label, (n_src, n_tgt) in zip(stats["length_buckets"], counts, strict=True):
        hist.add_row(label, f"{n_src:,}", _bar(n_src, most), f"{n_tgt:,}", _bar(n_tgt, most))
    console.print(hist)


@data_app.command("info")
def info(corpus: Corpus = TrainConfig.corpus, src: Src = None, tgt: Tgt = None, test_set: TestSet = None,
         json_out: Json = False) -> None:
    """Show a corpus: pairs per split, cleaning, lengths, vocabulary.

    Counts are of whitespace-separated words, before any tokenizer.

    Examples:
      seqcli data info
      seqcli data info --corpus pairs.tsv --json
    """
    from seqcli.data.corpus import corpus_stats, load_corpus

    stats = corpus_stats(load_corpus(corpus, src=src, tgt=tgt, test_set=test_set))
    if json_out:
        typer.echo(json.dumps(stats, indent=2, ensure_ascii=False))
    else:
        _render_info(stats)


def _list_sources(json_out: bool) -> None:
    """Print the corpora `data get` knows, and whether each is already fetched."""
    from seqcli.data.sources import SOURCES, corpus_dir, fetched_names
    from seqcli.views.render import stdout_console

    fetched = set(fetched_names())
    rows: list[dict[str, Any]] = [{"name": s.name, "languages": list(s.langs), "fetched": s.name in fetched,
             "path": str(corpus_dir(s.name)), "description": s.description, "license": s.license}
            for s in SOURCES.values()]
    if json_out:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="Corpora for `seqcli data get NAME`", title_justify="left")
    for column in ("name", "languages", "fetched", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], " ".join(row["languages"]), "yes" if row["fetched"] else "",
                      row["description"])
    stdout_console().print(table)


def _progress_bar() -> Any:
    """A rich progress display on stderr, for byte downloads."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    from seqcli.views.render import stderr_console

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=stderr_console())


@data_app.command("get")
def get(
    name: Annotated[str | None, typer.Argument(metavar="NAME", show_default=False, help="Corpus to fetch (default: list them).")] = None,
    force: Annotated[bool, typer.Option("--force", metavar=Flag, help="Download again, even if cached.")] = False,
    json_out: Json = False,
) -> None:
    """Download a public corpus, verify it, and make it a --corpus name.

    The cache is $SEQCLI_HOME, else ~/.cache/seqcli; SEQCLI_MIRROR sets a mirror.

    Examples:
      seqcli data get
      seqcli data get multi30k-en-de
    """
    from seqcli.data.download import fetch
    from seqcli.data.sources import corpus_dir, get_source
    from seqcli.views.render import note, stdout_console

    if name is None:
        _list_sources(json_out)
        return
    get_source(name)  # an unknown name fails here, before anything is shown
    if corpus_dir(name).is_dir() and not force:
        note(f"{name} is already in the cache (--force downloads it again)")
        path = corpus_dir(name)
    else:
        with _progress_bar() as bar:
            def hook(label: str, total: int | None) -> Callable[[int], None]:
                task = bar.add_task(label, total=total)
                return lambda n: bar.advance(task, n)

            path = fetch(name, force=force, progress=hook)
    if json_out:
        typer.echo(json.dumps({"name": name, "path": str(path)}))
    else:
        stdout_console().print(f"{name}: {path}  (use --corpus {name})", markup=False)


@data_app.command("prepare")
def prepare(
    corpus: Corpus = TrainConfig.corpus,
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Where the prepared dataset goes.")] = "prepared",
    src: Src = None,
    tgt: Tgt = None,
    test_set: TestSet = None,
    tokenizer: Annotated[str, typer.Option(metavar="|".join(TOKENIZERS), rich_help_panel=DATA, help="Tokenizer.")] = TrainConfig.tokenizer,
    vocab_size: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=DATA, help="Vocabulary per side (default: from corpus).")] = None,
    joint_vocab: Annotated[bool, typer.Option("--joint-vocab", metavar=Flag, rich_help_panel=DATA, help=f"One vocabulary for both sides (default {yes(TrainConfig.joint_vocab)}).")] = False,
    separate_vocab: Annotated[bool, typer.Option("--separate-vocab", hidden=True, help="Two vocabularies.")] = False,
    force: Annotated[bool, typer.Option("--force", metavar=Flag, help="Replace a prepared dataset in --out.")] = False,
    json_out: Json = False,
) -> None:
    """Tokenize a corpus once into a memory-mapped dataset.

    Train on it with `seqcli train --corpus DIR`: batches stream from disk, so
    a corpus larger than memory trains.

    Examples:
      seqcli data prepare --corpus big.tsv --out big.prepared
      seqcli train --corpus big.prepared
    """
    from seqcli.data.prepared import prepare_corpus
    from seqcli.views.render import note, stdout_console

    joint = either(joint_vocab, separate_vocab, "--joint-vocab", "--separate-vocab")
    if joint is None:
        joint = TrainConfig.joint_vocab
    done = prepare_corpus(corpus, out, src=src, tgt=tgt, test_set=test_set, tokenizer=tokenizer,
                          vocab_size=vocab_size, joint_vocab=joint, force=force,
                          report=None if json_out else note)
    record = {"out": str(done.out), "pairs": done.pairs, "src_tokens": done.src_tokens, "tgt_tokens": done.tgt_tokens,
              "tokenizer_s": round(done.tokenizer_seconds, 2), "encode_s": round(done.encode_seconds, 2),
              "pairs_per_s": round(done.pairs_per_s, 1)}
    if json_out:
        typer.echo(json.dumps(record))
    else:
        stdout_console().print(f"{done.out}: {done.pairs:,} training pairs, {done.src_tokens:,} + "
                               f"{done.tgt_tokens:,} tokens, encoded at {done.pairs_per_s:,.0f} pairs/s "
                               f"(use --corpus {done.out})", markup=False)
