"""What a user installs holds what seqcli reads at run time (issue 16: a wheel without its corpus)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from seqcli.data.corpus import load_corpus
from seqcli.data.shipped import shipped_dir

ROOT = Path(__file__).resolve().parents[1]
SPLITS = [f"{split}.{lang}" for split in ("train", "valid", "test") for lang in ("en", "fi")]


def source_packages() -> set[str]:
    """Every package of the source tree, plus the corpus folder that ships as seqcli.corpora."""
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "seqcli").rglob("__init__.py")}
    return found | {"seqcli.corpora"}


def test_pyproject_lists_every_package() -> None:
    """A package left out of pyproject's explicit list would be missing from the wheel."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert set(config["packages"]) == source_packages()
    assert config["package-dir"]["seqcli.corpora"] == "corpora"


def test_the_seqcli_under_test_finds_its_corpus() -> None:
    """Whichever seqcli pytest imported (installed or editable) reads aurora from its own files."""
    assert all((shipped_dir() / name).is_file() for name in SPLITS)
    corpus = load_corpus("aurora")
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (40_000, 2_000, 1_200)


@pytest.mark.skipif(shutil.which("pip") is None and not (Path(sys.executable).parent / "pip").exists(),
                    reason="needs pip to build the wheel")
def test_built_wheel_holds_code_and_corpus(tmp_path: Path) -> None:
    """Build the wheel as `pip install .` does and read its file list."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, timeout=300, check=False)
    if build.returncode != 0 and "setuptools" in build.stderr:
        pytest.skip(f"no usable setuptools to build without isolation: {build.stderr.strip()[-200:]}")
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"seqcli/corpora/aurora/{name}" for name in SPLITS} <= names
    code = {p.relative_to(ROOT).as_posix() for p in (ROOT / "seqcli").rglob("*.py")}
    assert code - names == set()
