"""Crashes lose nothing: SIGKILL at random moments, two trainings, a full disk, a NaN loss.

The kill trials run real training processes and kill them with SIGKILL, the one
signal nothing can catch. To keep a dozen of them cheap on a loaded machine, each is
forked from a forkserver that imported torch and seqcli once (a fresh process with its
own memory, killed like any other; only the import time is shared). Kill moments come
from a seeded generator: half at a random time into training, half the instant the
k-th temp file of an atomic write appears, i.e. in the middle of writing a checkpoint,
the config or a tokenizer.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

import seqcli.core.files as files
import seqcli.runs.directory as runs
from seqcli.cli.app import main
from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.runs.directory import STATE, load_run, read_config, read_metrics


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; idle OpenMP workers spinning on a shared machine cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TRIALS = 12
SEED = 20240607

SUBJECTS = [("tourists", "turistit"), ("people", "ihmiset"), ("children", "lapset"), ("we", "me")]
VERBS = [("visit", "vierailevat"), ("love", "rakastavat"), ("see", "näkevät")]
OBJECTS = [("Finland", "Suomea"), ("lakes", "järviä"), ("forests", "metsiä")]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 synthetic English<TAB>Finnish pairs."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.tsv"
    lines = [f"{s} {v} {o}.\t{fs} {fv} {fo}." for s, fs in SUBJECTS for v, fv in VERBS for o, fo in OBJECTS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_argv(corpus: Path, run: Path, *extra: str) -> list[str]:
    return ["train", "--arch", "transformer", "--size", "tiny", "--corpus", str(corpus), "--out", str(run),
            "--vocab-size", "80", "--batch-tokens", "128", "--device", "cpu", "--set", "max_len=32", *extra]


# ---- training processes to kill ------------------------------------------------------------


def _child(argv: list[str], log: str) -> None:
    """Run `seqcli ARGV` with stdout and stderr going to log (the forkserver's child)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ["NO_COLOR"] = "1"
    main(argv)


@pytest.fixture(scope="module")
def forkserver() -> Iterator[multiprocessing.context.BaseContext]:
    """A process context whose children start with torch and seqcli already imported."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by the server: no thread pools to fork
    ctx = multiprocessing.get_context("forkserver")
    # torch._dynamo: the first optimizer imports it, a second or more of CPU per process otherwise.
    ctx.set_forkserver_preload(["torch", "torch._dynamo", "seqcli.cli", "seqcli.training.loop", "seqcli.inference.decode",
                                "seqcli.data.tokenizers", __name__])
    yield ctx
    from multiprocessing import forkserver as server

    getattr(server._forkserver, "_stop", lambda: None)()  # private, but waits for the server: no stray process


def temp_files(run: Path) -> set[str]:
    """Temp files of atomic writes now in the run directory."""
    try:
        return {n for n in os.listdir(run) if n.startswith(".") and n.endswith(".tmp")}
    except FileNotFoundError:
        return set()


def kill_when(proc: multiprocessing.process.BaseProcess, run: Path, how: str, value: float) -> None:
    """SIGKILL proc at the value-th new temp file ("write") or value seconds after its first one ("time")."""
    old = temp_files(run)  # left by the previous kill: not this process's writes
    seen: set[str] = set()
    first: float | None = None
    deadline = time.monotonic() + 120
    while proc.is_alive() and time.monotonic() < deadline:
        new = temp_files(run) - old - seen
        if new and first is None:
            first = time.monotonic()
        seen |= new
        if how == "write" and len(seen) > value:
            break
        if how == "time" and first is not None and time.monotonic() - first >= value:
            break
        time.sleep(0.0005)
    proc.kill()
    proc.join(30)


def check_after_kill(run: Path) -> int | None:
    """The directory must load whenever weights exist; returns the checkpoint's step (None: none yet)."""
    for path in run.glob("*.safetensors"):
        read_tensors(path)  # never a torn file: raises if one were
    if (run / "config.json").exists():
        read_config(run)
    read_metrics(run)  # a torn last line is skipped
    if (run / "model.safetensors").exists() or (run / "best.safetensors").exists():
        loaded = load_run(run, checkpoint="best")
        assert loaded.model is not None
    elif (run / "config.json").exists():
        with pytest.raises(SeqcliError, match="no weights"):
            load_run(run)
    if not (run / STATE).exists():
        return None
    return int(read_tensors(run / STATE)[1]["step"])


def resumed_from(log: Path) -> int | None:
    """The step a resumed training reported starting from (0 when there was no checkpoint)."""
    text = log.read_text(errors="replace") if log.exists() else ""  # killed before it opened its log
    m = re.search(r"resuming \S+ at step (\d+)", text)
    if m:
        return int(m.group(1))
    return 0 if "no checkpoint saved yet, starting at step 0" in text else None


def test_sigkill_at_random_moments_loses_nothing(corpus: Path, forkserver: multiprocessing.context.BaseContext,
                                                 tmp_path: Path) -> None:
    rng = random.Random(SEED)
    plan = [("write", rng.randrange(0, 9)) if i % 2 else ("time", rng.uniform(0.05, 1.2)) for i in range(TRIALS)]
    run = tmp_path / "run"
    checkpoint: int | None = None
    mid_write = verified = 0
    for i, (how, value) in enumerate(plan):
        resume = (run / "config.json").exists()
        argv = train_argv(corpus, run, "--steps", "100000", "--save-every", "1", *(["--resume"] if resume else []))
        log = tmp_path / f"trial{i}.log"
        proc = forkserver.Process(target=_child, args=(argv, str(log)))
        proc.start()
        kill_when(proc, run, how, value)
        assert proc.exitcode == -9, (i, proc.exitcode, log.exists() and log.read_text(errors="replace"))
        mid_write += bool(temp_files(run))  # a temp file left behind: killed inside a write
        started = resumed_from(log)
        if resume and started is not None:  # it got far enough to say where it started
            assert started == (checkpoint or 0), (i, log.read_text())
            verified += 1
        checkpoint = check_after_kill(run) if (run / "config.json").exists() else None
    # The last run is not killed: it must continue from the last checkpoint and finish.
    target = (checkpoint or 0) + 3
    log = tmp_path / "final.log"
    proc = forkserver.Process(target=_child, args=(train_argv(corpus, run, "--resume", "--steps", str(target)),
                                                   str(log)))
    proc.start()
    proc.join(180)
    assert proc.exitcode == 0, log.read_text()
    assert resumed_from(log) == (checkpoint or 0)
    assert check_after_kill(run) == target and not temp_files(run) and not (run / ".lock").exists()
    assert mid_write >= 1 and verified >= TRIALS // 3, (mid_write, verified)
    print(f"\n{TRIALS} kill trials survived ({mid_write} mid-write, {verified} resumes checked)")


def test_sigterm_saves_and_says_how_to_resume(corpus: Path, forkserver: multiprocessing.context.BaseContext,
                                             tmp_path: Path) -> None:
    """A plain `kill` (SIGTERM) or Ctrl-C: the loop finishes its step, saves, exits 130."""
    run, log = tmp_path / "run", tmp_path / "term.log"
    proc = forkserver.Process(target=_child, args=(train_argv(corpus, run, "--steps", "100000",
                                                              "--save-every", "1000"), str(log)))
    proc.start()
    deadline = time.monotonic() + 120
    while proc.is_alive() and time.monotonic() < deadline and "step" not in (log.read_text() if log.exists() else ""):
        time.sleep(0.01)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGTERM)
    proc.join(60)
    text = log.read_text()
    m = re.search(r"interrupted at step (\d+); saved\. Resume with: seqcli train --out (\S+) --resume", text)
    assert proc.exitcode == 130 and m, text
    assert check_after_kill(run) == int(m.group(1)) > 0 and m.group(2) == str(run)
    assert not (run / ".lock").exists() and "Traceback" not in text


# ---- two trainings, one directory -----------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI in-process: (exit code, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    return code, capsys.readouterr().err


def test_second_training_refuses_and_a_dead_lock_is_taken_over(
        corpus: Path, forkserver: multiprocessing.context.BaseContext, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    run = tmp_path / "run"
    first = forkserver.Process(target=_child, args=(train_argv(corpus, run, "--steps", "100000", "--save-every", "2"),
                                                    str(tmp_path / "first.log")))
    first.start()
    deadline = time.monotonic() + 120
    while not (run / STATE).exists() and first.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.is_alive(), (tmp_path / "first.log").read_text()
    config = (run / "config.json").read_bytes()
    tokenizer = (run / "src_tokenizer.json").read_bytes()
    try:
        for extra in (["--resume"], ["--force"]):
            code, err = run_cli(train_argv(corpus, run, "--steps", "5", *extra), capsys)
            assert code == 1 and len(err.splitlines()) == 1, err
            assert f"in use by another training (pid {first.pid})" in err
            # Refused before touching anything: --force deleted nothing, --resume rewrote nothing.
            assert (run / "config.json").read_bytes() == config
            assert (run / "src_tokenizer.json").read_bytes() == tokenizer
            assert (run / STATE).exists()
    finally:
        first.kill()
        first.join(30)
    step = int(read_tensors(run / STATE)[1]["step"])
    code, err = run_cli(train_argv(corpus, run, "--resume", "--steps", str(step + 1)), capsys)
    assert code == 0, err
    assert int(read_tensors(run / STATE)[1]["step"]) == step + 1
    assert not (run / ".lock").exists()


# ---- a full disk ------------------------------------------------------------------------------


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture(scope="module")
def trained_once(corpus: Path) -> Path:
    """A run with a checkpoint at step 2."""
    run = corpus.parent / "run"
    main_quietly(train_argv(corpus, run, "--steps", "2", "--save-every", "1"))
    return run


def main_quietly(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as e:
        assert e.code in (0, None)


@pytest.fixture
def trained(trained_once: Path, tmp_path: Path) -> Path:
    """A fresh copy of the step-2 run for one test to damage."""
    return Path(shutil.copytree(trained_once, tmp_path / "run"))


@pytest.mark.parametrize("what", ["safetensors", "json", "metrics"])
def test_disk_full_keeps_the_previous_checkpoint(what: str, trained: Path, corpus: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    before = {p.name: p.read_bytes() for p in trained.iterdir() if p.suffix == ".safetensors"}
    if what == "safetensors":  # the weights and the train state
        monkeypatch.setattr(files, "save_file", _no_space)
    elif what == "json":  # config.json, rewritten first on resume
        real = Path.write_text
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: _no_space() if self.name.endswith(".tmp")
                            else real(self, *a, **k))
    else:  # metrics.jsonl, appended after validation (after the new checkpoints)
        monkeypatch.setattr(runs, "open", lambda file, mode="r", *a, **k: _no_space() if "a" in mode
                            else open(file, mode, *a, **k), raising=False)
    code, err = run_cli(train_argv(corpus, trained, "--resume", "--steps", "4", "--save-every", "1"), capsys)
    lines = err.splitlines()
    assert code == 1 and lines[-1].startswith("error: could not "), err
    assert "No space left on device" in lines[-1] and "kept" in lines[-1]
    assert "Traceback" not in err and not temp_files(trained)
    monkeypatch.undo()
    step = check_after_kill(trained)
    assert step is not None and step >= 2  # a checkpoint survives and loads
    if what != "metrics":  # nothing could be written: the files are exactly as before
        assert {p.name: p.read_bytes() for p in trained.iterdir() if p.suffix == ".safetensors"} == before
    code, err = run_cli(train_argv(corpus, trained, "--resume", "--steps", "5"), capsys)
    assert code == 0 and f"at step {step}" in err, err


# ---- a NaN loss -----------------------------------------------------------------------------


def test_nan_loss_stops_naming_the_step(trained: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    argv = train_argv(corpus, trained, "--resume", "--steps", "40", "--save-every", "1", "--lr", "1e30",
                      "--schedule", "constant", "--warmup", "0")
    code, err = run_cli(argv, capsys)
    last = err.splitlines()[-1]
    m = re.fullmatch(r"error: loss became (nan|inf|-inf) at step (\d+); stopped, the last checkpoint "
                     r"\(step (\d+)\) is kept in \S+; try a lower --lr", last)
    assert code == 1 and m, err
    bad, kept = int(m.group(2)), int(m.group(3))
    assert 2 < bad <= 40 and kept == bad - 1  # saved every step, so the one before the bad one
    assert check_after_kill(trained) == kept  # the run still loads, at the kept step



# ---- every run-directory write goes through the atomic helpers ------------------------------


def test_run_directory_writers_only_use_the_atomic_helpers() -> None:
    """Raw writes in the modules that write run directories would bypass temp file + fsync + rename."""
    root = Path(__file__).resolve().parents[1] / "seqcli"
    raw = re.compile(r"\.write_text\(|\.write_bytes\(|\bsave_file\(|torch\.save\(|open\([^)]*[\"'][wax]b?[\"']")
    allowed = {"probe.write_bytes(b\"\")"}  # setup's write test of --out: an empty file, removed at once
    found = [f"{name}:{n}: {line.strip()}" for name in ("train.py", "setup.py", "checkpoint.py", "compare.py")
             if (root / name).exists()
             for n, line in enumerate((root / name).read_text(encoding="utf-8").splitlines(), 1)
             if raw.search(line) and not any(a in line for a in allowed)]
    assert found == []
