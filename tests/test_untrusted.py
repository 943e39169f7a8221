"""Untrusted files never run code.

A run directory from a stranger may hold a pickle where seqcli expects JSON or
safetensors. Each file the loader reads is replaced, in turn, by a payload whose
unpickling would create a marker file (a bare pickle, and the zip that `torch.save`
writes). Loading for inference and `train --resume` must refuse with a clear line,
and the marker must never appear. Two control tests prove the payloads do work.
"""

from __future__ import annotations

import io
import pickle
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from seqcli.cli.app import main
from seqcli.core.errors import SeqcliError
from seqcli.runs.directory import load_run

ROOT = Path(__file__).resolve().parents[1]
READ_BY_LOADERS = ["config.json", "src_tokenizer.json", "tgt_tokenizer.json", "model.safetensors",
                   "best.safetensors", "train_state.safetensors"]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; idle OpenMP workers spinning on a shared machine cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Plant:
    """Unpickling this object calls open(marker, "w"): code running where only data should be read."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def bare_pickle(marker: Path) -> bytes:
    return pickle.dumps({"weights": Plant(marker)})


def torch_save(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"weights": Plant(marker)}, buffer)
    return buffer.getvalue()


PAYLOADS = {"pickle": bare_pickle, "torch.save": torch_save}


def test_control_the_payloads_do_run_code(tmp_path: Path) -> None:
    """Without this, a payload that never worked would make every test below pass."""
    pickle.loads(bare_pickle(tmp_path / "a"))
    torch.load(io.BytesIO(torch_save(tmp_path / "b")), weights_only=False)
    assert (tmp_path / "a").exists() and (tmp_path / "b").exists()
    with pytest.raises(pickle.UnpicklingError):  # what weights_only=True would do with it
        torch.load(io.BytesIO(torch_save(tmp_path / "c")), weights_only=True)
    assert not (tmp_path / "c").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-step tiny Transformer run with every file present (best, last, train state)."""
    from seqcli.training.loop import train

    base = tmp_path_factory.mktemp("untrusted")
    corpus = base / "corpus.tsv"
    corpus.write_text("".join(f"we see {n} lakes.\tme näemme {n} järveä.\n" for n in range(40)), encoding="utf-8")
    flags = {"arch": "transformer", "size": "tiny", "steps": 2, "save_every": 1, "corpus": str(corpus),
             "out": str(base / "run"), "vocab_size": 100, "batch_tokens": 256, "device": "cpu",
             "model": {"max_len": 32}}
    train(flags, evaluate_test=False)
    assert {p.name for p in (base / "run").iterdir()} >= set(READ_BY_LOADERS)
    return base / "run"


def load_best(run: Path) -> None:
    load_run(run, checkpoint="best")


def load_last(run: Path) -> None:
    load_run(run, checkpoint="last")


def resume(run: Path) -> None:
    """`seqcli train --out RUN --resume`, in-process; a SeqcliError comes out as exit 1."""
    try:
        main(["train", "--out", str(run), "--resume", "--steps", "3"])
    except SystemExit as e:
        if e.code:
            raise SeqcliError(f"exit {e.code}") from None


LOADERS = {"load_run(best)": load_best, "load_run(last)": load_last, "train --resume": resume}


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("name", READ_BY_LOADERS)
def test_a_planted_pickle_never_runs(name: str, payload: str, trained: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = Path(shutil.copytree(trained, tmp_path / "run"))
    marker = tmp_path / "PWNED"
    (run / name).write_bytes(PAYLOADS[payload](marker))
    named = []
    for label, load in LOADERS.items():
        capsys.readouterr()
        try:
            load(run)
        except SeqcliError as e:
            message = f"{e} {capsys.readouterr().err}"
            assert name in message, (label, message)  # the error names the file
            named.append(label)
        assert not marker.exists(), f"{label} ran code from a planted {name}"
    assert named, f"no loader read {name}"  # at least one loader reads it and refuses it


def test_the_engine_never_unpickles() -> None:
    """No pickle-based loader anywhere in the package: torch.load, pickle, numpy allow_pickle."""
    forbidden = ("torch.load(", "import pickle", "pickle.load", "allow_pickle=True", "weights_only=False",
                 "import dill", "import joblib")
    found = [f"{path.relative_to(ROOT)}: {bad}" for path in (ROOT / "seqcli").rglob("*.py")
             for bad in forbidden if bad in path.read_text(encoding="utf-8")]
    assert found == []


@pytest.mark.parametrize("member", ["..\\escape.txt", "C:/escape.txt", "c:escape.txt", "ok/..\\..\\up.txt"])
def test_archive_names_that_escape_on_other_systems_are_refused(member: str) -> None:
    """Backslash and drive-letter names: harmless on Linux, an escape on Windows (test_download covers /, ..)."""
    from seqcli.data.download import check_archive

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pack/pairs.txt", "a\tb\n")
        archive.writestr(member, "x")
    with zipfile.ZipFile(buffer) as archive, pytest.raises(SeqcliError, match="unsafe member"):
        check_archive(archive, "http://mirror.example/pack.zip")
