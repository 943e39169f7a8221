"""`python -m seqcli.data.aurora [--out DIR] [--seed N]`: regenerate the corpus, print statistics."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from seqcli.data.aurora.generate import BUCKETS, SEED, bucket_name, write_corpus
from seqcli.data.shipped import shipped_dir


def format_stats(stats: dict[str, dict[str, Any]]) -> str:
    """The statistics as a Markdown table and a few lines, as in the corpus README."""
    splits = list(stats["pairs"])
    lines = ["| English words | " + " | ".join(splits) + " |",
             "|---|" + "---:|" * len(splits)]
    for b in range(len(BUCKETS)):
        name = bucket_name(b)
        lines.append(f"| {name} | " + " | ".join(str(stats["buckets"][s][name]) for s in splits) + " |")
    lines.append("| **pairs** | " + " | ".join(f"**{stats['pairs'][s]}**" for s in splits) + " |")
    lines.append("| mean words en / fi | " + " | ".join(
        f"{stats['mean_words'][s]['en']} / {stats['mean_words'][s]['fi']}" for s in splits) + " |")
    vocab, lexicon = stats["vocabulary"], stats["lexicon"]
    lines += ["",
              f"Distinct words (lower-cased): English {vocab['en_words']}, Finnish {vocab['fi_words']}.",
              f"Lexicon: {lexicon['nouns']} nouns, {lexicon['adjectives']} adjectives, "
              f"{lexicon['verbs']} verbs."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, write the corpus, print its statistics."""
    parser = argparse.ArgumentParser(prog="python -m seqcli.data.aurora", description=__doc__)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write train/valid/test .en/.fi into (default: the shipped corpus)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED}, the shipped one)")
    args = parser.parse_args(argv)
    out = args.out or shipped_dir()
    stats = write_corpus(out, args.seed)
    print(f"wrote {out}")
    print(format_stats(stats))


if __name__ == "__main__":
    main()
