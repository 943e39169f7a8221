"""The training loop: exact resume, reported changes, refusal to overwrite, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.data.corpus import load_corpus
from seqcli.data.tokenizers import default_vocab_size
from seqcli.models.registry import get_arch
from seqcli.runs.directory import load_run, read_config, read_metrics
from seqcli.training.loop import train
from seqcli.training.step import learning_rate, sequence_loss

BASE = {"arch": "transformer", "size": "tiny", "dropout": 0.1, "batch_tokens": 400, "eval_every": 1000,
        "valid_bleu_sentences": 0, "seed": 3}


def flags(corpus: Path, out: Path, **extra: object) -> dict:
    return {**BASE, "corpus": str(corpus), "out": str(out), **extra}


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return read_tensors(run_dir / "model.safetensors")[0]


def test_resume_continues_exactly(tiny_tsv: Path, tmp_path: Path) -> None:
    """N steps + resume + N steps gives the same weights as 2N steps straight (CPU)."""
    straight = train(flags(tiny_tsv, tmp_path / "a", steps=8), evaluate_test=False)
    train(flags(tiny_tsv, tmp_path / "b", steps=4), evaluate_test=False)
    resumed = train({"out": str(tmp_path / "b"), "steps": 8}, resume=True, evaluate_test=False)
    assert straight.step == resumed.step == 8
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert resumed.changes == ["steps: 4 -> 8"]


def test_resume_reports_changed_lr(tiny_tsv: Path, tmp_path: Path) -> None:
    """The change names the rate the run was trained with (its preset), not `None`."""
    train(flags(tiny_tsv, tmp_path / "r", steps=2), evaluate_test=False)
    preset = get_arch(BASE["arch"]).train  # type: ignore[arg-type]
    result = train({"out": str(tmp_path / "r"), "steps": 3, "lr": 0.5}, resume=True, evaluate_test=False)
    assert f"lr: {preset.lr} -> 0.5" in result.changes


def test_config_json_records_the_resolved_presets(tiny_tsv: Path, tmp_path: Path) -> None:
    """No `null` where a value was used: lr, schedule, warmup and vocab_size as the run used them."""
    train(flags(tiny_tsv, tmp_path / "r", steps=1), evaluate_test=False)
    recorded = read_config(tmp_path / "r")["train"]
    preset = get_arch(BASE["arch"]).train  # type: ignore[arg-type]
    assert (recorded["lr"], recorded["schedule"], recorded["warmup"]) == (preset.lr, preset.schedule, preset.warmup)
    assert recorded["vocab_size"] == default_vocab_size(load_corpus(str(tiny_tsv)).train)
    train({"out": str(tmp_path / "r"), "steps": 2}, resume=True, evaluate_test=False)
    assert read_config(tmp_path / "r")["train"]["lr"] == preset.lr  # resuming keeps it


def test_resume_refuses_model_and_corpus_changes(tiny_tsv: Path, tmp_path: Path) -> None:
    train(flags(tiny_tsv, tmp_path / "r", steps=1), evaluate_test=False)
    with pytest.raises(SeqcliError, match="cannot change on --resume"):
        train({"out": str(tmp_path / "r"), "arch": "gru"}, resume=True)
    with pytest.raises(SeqcliError, match="model fields cannot change"):
        train({"out": str(tmp_path / "r"), "model": {"heads": "4"}}, resume=True)


def test_out_holding_a_run_is_refused_unless_force(tiny_tsv: Path, tmp_path: Path) -> None:
    train(flags(tiny_tsv, tmp_path / "r", steps=1), evaluate_test=False)
    with pytest.raises(SeqcliError, match="already holds a run"):
        train(flags(tiny_tsv, tmp_path / "r", steps=1))
    (tmp_path / "r" / "notes.txt").write_text("mine")
    train(flags(tiny_tsv, tmp_path / "r", steps=1), force=True, evaluate_test=False)
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"  # --force never deletes a user's files


def test_run_directory_contents_and_test_bleu(tiny_tsv: Path, tmp_path: Path) -> None:
    result = train(flags(tiny_tsv, tmp_path / "r", steps=3, valid_bleu_sentences=5, eval_every=3))
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"config.json", "model.safetensors", "best.safetensors", "train_state.safetensors",
            "src_tokenizer.json", "tgt_tokenizer.json", "metrics.jsonl"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    kinds = {m["kind"] for m in read_metrics(tmp_path / "r")}
    assert {"valid", "test", "summary"} <= kinds
    assert result.test["sentences"] > 0 and 0 <= result.test["bleu"] <= 100
    assert "BLEU" not in result.test["signature"] and "tok:13a" in result.test["signature"]
    run = load_run(tmp_path / "r")
    assert not run.model.training


def test_every_run_file_follows_the_umask(tiny_tsv: Path, tmp_path: Path) -> None:
    """Weights, state, config, tokenizers and metrics alike: a shared run shares them all."""
    old = os.umask(0o022)
    try:
        train(flags(tiny_tsv, tmp_path / "r", steps=2, eval_every=2), evaluate_test=False)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "r").iterdir() if p.is_file()}
    assert {"model.safetensors", "best.safetensors", "train_state.safetensors", "config.json"} <= modes.keys()
    assert {name: mode for name, mode in modes.items() if mode != 0o644} == {}


def test_learning_rate_schedules() -> None:
    # Noam peaks at the warmup step and decays as step^-0.5 afterwards.
    peak = learning_rate(400, "noam", 2.0, 400, 256)
    assert learning_rate(200, "noam", 2.0, 400, 256) < peak
    assert learning_rate(1600, "noam", 2.0, 400, 256) == pytest.approx(peak / 2)
    assert learning_rate(50, "warmup_constant", 1e-3, 100, 0) == pytest.approx(5e-4)
    assert learning_rate(500, "warmup_constant", 1e-3, 100, 0) == pytest.approx(1e-3)
    # constant is constant: --lr from the first step, whatever warmup says.
    assert [learning_rate(k, "constant", 1e-3, 100, 0) for k in (1, 50, 5000)] == [1e-3] * 3
    assert learning_rate(400, "inverse_sqrt", 1e-3, 100, 0) == pytest.approx(5e-4)


def test_sequence_loss_ignores_padding() -> None:
    logits = torch.randn(2, 3, 5)
    target = torch.tensor([[4, 3, 0], [4, 0, 0]])
    loss, nll, n = sequence_loss(logits, target, 0.0)
    assert n == 3 and torch.allclose(loss, nll)
    logits2 = logits.clone()
    logits2[0, 2] += 100  # a padded position: must not matter
    assert torch.allclose(sequence_loss(logits2, target, 0.0)[0], loss)


def test_sigterm_saves_and_says_how_to_resume(tiny_tsv: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "seqcli", "train", "--arch", "gru", "--size", "tiny", "--corpus", str(tiny_tsv),
           "--out", str(out), "--steps", "100000", "--eval-every", "100000", "--save-every", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NO_COLOR": "1"})
    deadline = time.monotonic() + 60
    while not (out / "train_state.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # wait for the first checkpoint: training is under way
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "seqcli train --out" in err and "--resume" in err and "Traceback" not in err
    step = read_tensors(out / "train_state.safetensors")[1]["step"]
    assert step >= 2
    assert load_run(out).path == out
