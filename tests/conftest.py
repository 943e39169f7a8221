"""Shared fixtures: a tiny deterministic parallel corpus and the path to ../shared."""

from __future__ import annotations

import os

# Tests use tiny models: one thread each is fastest, and on a busy 2-core machine a
# spinning thread pool per process costs far more than it gives. Set before torch loads,
# so subprocesses inherit it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import random  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def pytest_report_header() -> str:
    """Say which seqcli is under test: the installed package under `pytest`, as a user has it."""
    import seqcli

    return f"seqcli under test: {Path(seqcli.__file__).resolve().parent}"

# A toy English→Finnish word mapping: enough structure for a model to learn something
# in a few dozen steps, small enough that tests stay fast.
_NOUNS = {"cat": ("kissa", "kissan"), "dog": ("koira", "koiran"), "bird": ("lintu", "linnun"),
          "tourist": ("turisti", "turistin"), "student": ("opiskelija", "opiskelijan")}
_VERBS = {"sees": "näkee", "finds": "löytää", "hears": "kuulee", "follows": "seuraa"}


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """n deterministic pairs like 'The cat sees the dog.' → 'Kissa näkee koiran.'"""
    rng = random.Random(seed)
    nouns, verbs = sorted(_NOUNS), sorted(_VERBS)
    pairs = []
    for _ in range(n):
        a, b, v = rng.choice(nouns), rng.choice(nouns), rng.choice(verbs)
        pairs.append((f"The {a} {v} the {b}.", f"{_NOUNS[a][0].capitalize()} {_VERBS[v]} {_NOUNS[b][1]}."))
    return pairs


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-pair TSV corpus (split deterministically by the data layer)."""
    path = tmp_path_factory.mktemp("corpus") / "toy-en-fi.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in make_pairs(600)), encoding="utf-8")
    return path


@pytest.fixture
def shared() -> Path:
    """../shared beside the checkout; tests that need real corpora skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"needs the shared corpora at {SHARED} (absent here)")
    return SHARED


class WordPairs:
    """Word-for-word English→Finnish pairs of any length, and Moses directories of them.

    Shared by the tests that need test sentences in chosen length buckets (compare,
    evaluate); conftest functions cannot be imported under importlib mode, so the
    `word_pairs` fixture hands this class out.
    """

    WORDS = "tourists visit finland to watch northern lights the cat sees a dog in snow".split()
    FI = "turistit vierailevat suomessa katsomassa revontulia kissa näkee koiran lumessa ja on se hyvä talo".split()

    @classmethod
    def pair(cls, n: int, shift: int) -> tuple[str, str]:
        """n words starting at a shift, and their word-by-word translation."""
        src = [cls.WORDS[(i * 7 + shift) % len(cls.WORDS)] for i in range(n)]
        return " ".join(src), " ".join(cls.FI[cls.WORDS.index(w)] for w in src)

    @staticmethod
    def moses(root: Path, splits: dict[str, list[tuple[str, str]]]) -> Path:
        """Write each split as <split>.en / <split>.fi into root."""
        for name, pairs in splits.items():
            (root / f"{name}.en").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
            (root / f"{name}.fi").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
        return root


@pytest.fixture(scope="session")
def word_pairs() -> type[WordPairs]:
    """The WordPairs helper (see its docstring)."""
    return WordPairs
