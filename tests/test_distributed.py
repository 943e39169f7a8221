"""Scale-out and engine options: DDP under torchrun, gradient accumulation, --compile.

The DDP check is exact by construction: rank r trains on batches r, r + 2, r + 4, ...
of the epoch's plan, so step i of two ranks sees batches 2i and 2i + 1, the very two
that one process with --accumulate 2 sees at step i. The loss is normalised by the
target tokens of the whole step on both sides, so the gradients agree up to float
summation order (gloo sums the ranks' gradients; one process accumulates them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import seqcli
from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.models.registry import get_arch
from seqcli.runs.directory import build_model, model_config_from, read_config, read_metrics
from seqcli.training.loop import train
from seqcli.training.step import sequence_loss

# Dropout 0: two ranks draw their own dropout masks, one process draws them in sequence.
BASE = {"arch": "transformer", "size": "tiny", "dropout": 0.0, "batch_tokens": 150, "eval_every": 1000,
        "valid_bleu_sentences": 0, "seed": 4, "vocab_size": 300}

# Tolerance: the weight *updates* (final - initial) of both runs may differ by 1e-4 of
# their norm. Float reordering gives ~3e-6; training on other batches (--accumulate 1,
# checked below) gives a difference of the order of the update itself. Attention key
# biases are left out: softmax ignores a shift shared by all keys, so their true
# gradient is 0 and Adam, which divides by the gradient's size, turns the rounding
# noise there into full-size steps of either sign.
UPDATE_RTOL = 1e-4
LOSS_ATOL = 1e-4  # nats: the mean loss of the last step, all-reduced over the ranks


def _toml(path: Path, **values: object) -> Path:
    """A --config file (not every train field is a flag, e.g. valid_bleu_sentences)."""
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    return path


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    root = str(Path(seqcli.__file__).resolve().parents[1])  # `-m seqcli` without installing it
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "seqcli", "train", *args]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _update(run_dir: Path) -> torch.Tensor:
    """Weights minus their initial values, flattened (the init is rebuilt from the seed); no key biases."""
    config = read_config(run_dir)
    arch = get_arch(config["train"]["arch"])
    torch.manual_seed(config["train"]["seed"])  # as the training loop does before building
    init = build_model(arch, model_config_from(arch, config["model"])).state_dict()
    final = read_tensors(run_dir / "model.safetensors")[0]
    return torch.cat([(final[k] - init[k]).flatten() for k in sorted(final) if not k.endswith("key.bias")])


def _train_loss(run_dir: Path) -> float:
    return [m for m in read_metrics(run_dir) if m["kind"] == "summary"][-1]["train_loss"]


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(tiny_tsv: Path, tmp_path: Path) -> None:
    ddp = tmp_path / "ddp"
    config = _toml(tmp_path / "ddp.toml", **BASE, corpus=str(tiny_tsv))
    _torchrun(["--config", str(config), "--out", str(ddp), "--steps", "2"], tmp_path)
    _torchrun(["--out", str(ddp), "--steps", "4", "--resume"], tmp_path)  # --resume under DDP
    one = train({**BASE, "corpus": str(tiny_tsv), "out": str(tmp_path / "one"), "steps": 4, "accumulate": 2},
                evaluate_test=False)
    train({**BASE, "corpus": str(tiny_tsv), "out": str(tmp_path / "half"), "steps": 4}, evaluate_test=False)
    assert one.step == 4
    for name in ("src_tokenizer.json", "tgt_tokenizer.json"):  # rank 0 trained them, rank 1 loaded them
        assert (ddp / name).read_text() == (tmp_path / "one" / name).read_text()
    ref, got, other = _update(tmp_path / "one"), _update(ddp), _update(tmp_path / "half")
    assert (got - ref).norm() <= UPDATE_RTOL * ref.norm()
    assert (other - ref).norm() > 100 * UPDATE_RTOL * ref.norm()  # the tolerance tells batches apart
    assert abs(_train_loss(ddp) - _train_loss(tmp_path / "one")) <= LOSS_ATOL
    summaries = [m for m in read_metrics(ddp) if m["kind"] == "summary"]
    assert [m["step"] for m in summaries] == [2, 4]  # one writer: rank 0, once per launch
    assert not [p for p in ddp.iterdir() if p.name.endswith(".tmp")]


def test_accumulation_needs_enough_batches(tiny_tsv: Path, tmp_path: Path) -> None:
    with pytest.raises(SeqcliError, match="fewer than --accumulate 1000"):
        train({**BASE, "corpus": str(tiny_tsv), "out": str(tmp_path / "r"), "steps": 1, "accumulate": 1000})


def test_accumulating_two_batches_counts_both(tiny_tsv: Path, tmp_path: Path) -> None:
    """One step over two batches sees (and reports) the tokens of both."""
    one = train({**BASE, "corpus": str(tiny_tsv), "out": str(tmp_path / "a"), "steps": 1}, evaluate_test=False)
    two = train({**BASE, "corpus": str(tiny_tsv), "out": str(tmp_path / "b"), "steps": 1, "accumulate": 2},
                evaluate_test=False)
    state = json.loads(json.dumps(read_tensors(tmp_path / "b" / "train_state.safetensors")[1]))
    assert state["position"] == 2 and int(state["tokens"]) > int(
        read_tensors(tmp_path / "a" / "train_state.safetensors")[1]["tokens"])
    assert one.step == two.step == 1


@pytest.mark.slow
def test_compile_trains_or_skips_cleanly(tiny_tsv: Path, tmp_path: Path) -> None:
    """--compile wraps the training forward in torch.compile; skip where the CPU toolchain fails."""
    # The feedforward model: the smallest graph, so compiling it stays quick.
    flags = {**BASE, "arch": "ann", "corpus": str(tiny_tsv), "out": str(tmp_path / "c"), "steps": 2, "compile": True}
    try:
        result = train(flags, evaluate_test=False)
    except Exception as e:  # the inductor backend needs a working C++ compiler
        if "compile" in type(e).__module__ or "inductor" in str(e).lower() or "dynamo" in str(e).lower():
            pytest.skip(f"torch.compile does not work on this machine: {type(e).__name__}: {str(e)[:200]}")
        raise
    assert result.step == 2 and torch.isfinite(torch.tensor(_train_loss(tmp_path / "c")))
    saved = read_tensors(tmp_path / "c" / "model.safetensors")[0]
    assert not [k for k in saved if "_orig_mod" in k]  # checkpoints hold the plain model's names


def test_fused_loss_has_autograd_gradient() -> None:
    """The hand-written gradient of the label-smoothed loss equals autograd's on the plain formula."""
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 11)
    target = torch.tensor([[4, 5, 3, 0, 0], [7, 3, 0, 0, 0], [10, 9, 8, 6, 3]])
    for eps in (0.0, 0.1):
        ours = logits.clone().requires_grad_()
        loss, nll, n = sequence_loss(ours, target, eps)
        loss.backward()
        plain = logits.clone().requires_grad_()
        logp, real = plain.log_softmax(-1), target != 0
        nll_plain = -logp.gather(-1, target[..., None]).squeeze(-1)
        expected = ((1 - eps) * nll_plain - eps * logp.mean(-1))[real].sum()
        expected.backward()
        assert n == 10 and torch.allclose(loss, expected) and torch.allclose(nll, nll_plain[real].sum())
        assert torch.allclose(ours.grad, plain.grad, atol=1e-7) and not ours.grad[~real].any()
