"""Files written atomically (temp file, fsync, rename) and tensors read without unpickling."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from seqcli.core.errors import SeqcliError


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through a temp file in the same directory, fsync, then rename.

    `write` receives the temp path. A crash at any moment leaves either the old file
    or the new one, never a torn one; a failure (disk full) removes the temp file and
    keeps the previous version.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes 0600 and so do some writers (safetensors replaces the file):
        # set the mode after writing, so every run file follows the umask alike.
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    """The process's umask, read at the time of writing (os.umask can only read by setting)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """Atomically write a UTF-8 text file; a failure (disk full) is a clear error, the old file kept."""
    try:
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as e:
        raise SeqcliError(f"could not write {path}: {e.strerror or e}; the previous file is kept") from None


def write_json(path: Path, obj: Any) -> None:
    """Atomically write pretty JSON."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, Any] | None = None) -> None:
    """Atomically write tensors as safetensors; metadata values are stored as JSON strings."""
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    except OSError as e:
        raise SeqcliError(f"could not write {path}: {e.strerror or e}; the previous file is kept") from None


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a safetensors file and its JSON metadata; a damaged file is a clear error."""
    if not path.is_file():
        raise SeqcliError(f"{path}: file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
        tensors = load_file(str(path))
        meta = {k: json.loads(v) for k, v in raw.items()}
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as e:
        raise SeqcliError(f"{path}: not a readable safetensors file ({e}); it may be truncated or corrupted") from None
    return tensors, meta


@contextmanager
def atomic_directory(path: Path, replace: bool = False) -> Iterator[Path]:
    """Build a directory in a temp folder beside path, then rename it into place.

    Yields the temp folder to write into. On success it becomes `path` in one rename
    (with replace, an existing `path` is swapped out first, then removed); on any
    error it is removed and `path` is as it was: never a half-written directory.
    """
    path = Path(path)
    if path.exists() and not replace:
        raise SeqcliError(f"{path} already exists; choose another path or replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise SeqcliError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        old = path.parent / f"{tmp.name}.old"
        moved = path.exists()
        if moved:
            if not replace:  # appeared while we wrote
                raise SeqcliError(f"{path} already exists; choose another path or replace it")
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if moved:  # put the old one back
                os.replace(old, path)
            raise
        _fsync_dir(path.parent)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
