"""The run directory: atomic writes, the lock, safe loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqcli.core.errors import SeqcliError
from seqcli.core.files import atomic_write, read_tensors, write_tensors
from seqcli.runs.directory import FORMAT, RunLock, read_config, read_metrics


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temp file left


def test_write_tensors_disk_full_is_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.safetensors"
    write_tensors(target, {"w": torch.ones(2)}, {"step": 1})
    import seqcli.core.files as files

    def full(*a: object, **k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "save_file", full)
    with pytest.raises(SeqcliError, match="No space left on device; the previous file is kept"):
        write_tensors(target, {"w": torch.zeros(2)}, {"step": 2})
    tensors, meta = read_tensors(target)
    assert meta["step"] == 1 and torch.equal(tensors["w"], torch.ones(2))


def test_truncated_safetensors_is_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "model.safetensors"
    write_tensors(target, {"w": torch.ones(100)})
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(SeqcliError, match="truncated or corrupted"):
        read_tensors(target)


def test_lock_refuses_live_owner_and_takes_over_dead(tmp_path: Path) -> None:
    lock = RunLock(tmp_path)
    lock.acquire()
    # A live owner (another process holding it): simulate with our parent's pid.
    (tmp_path / ".lock").write_text(str(os.getppid()))
    with pytest.raises(SeqcliError, match="in use by another training"):
        RunLock(tmp_path).acquire()
    # A dead owner: a pid that has exited.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(str(dead.pid))
    RunLock(tmp_path).acquire()
    assert (tmp_path / ".lock").read_text() == str(os.getpid())


@pytest.mark.parametrize("content,message", [
    (None, "not a seqcli run"),
    ("{not json", "not valid JSON"),
    (json.dumps({"format": FORMAT + 1, "train": {}, "model": {}}), "newer than this seqcli"),
    (json.dumps({"format": FORMAT}), "missing 'train' or 'model'"),
])
def test_read_config_errors(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "config.json").write_text(content)
    with pytest.raises(SeqcliError, match=message):
        read_config(tmp_path)


def test_read_config_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="not found"):
        read_config(tmp_path / "nope")


def test_metrics_skip_torn_line(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"a": 1}\n{"b": 2}\n{"c": ')
    assert read_metrics(tmp_path) == [{"a": 1}, {"b": 2}]
