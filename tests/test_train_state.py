"""The loop's TrainState: the checkpoint metadata it writes and reads, old layouts included."""

from __future__ import annotations

from pathlib import Path

import torch

from seqcli.core.files import read_tensors, write_tensors
from seqcli.training.loop import train
from seqcli.training.state import TrainState

# The metadata keys train_state.safetensors has always held (besides the optimizer's param_groups).
LAYOUT = {"step", "epoch", "position", "elapsed", "best", "best_step", "bad_evals", "tokens"}
AFTER_VALIDATION = LAYOUT | {"best_loss", "last_valid"}


def test_a_fresh_state_writes_the_layout_runs_have_always_had() -> None:
    state = TrainState()
    assert set(state.to_meta()) == LAYOUT
    assert state.to_meta()["best"] is None


def test_a_validation_adds_its_keys_and_keeps_the_best() -> None:
    state = TrainState(step=4)
    assert state.note_validation({"loss": 2.0, "ppl": 7.389, "bleu": 10.0}, 10.0, 2.0)
    state.step = 8
    assert not state.note_validation({"loss": 2.5, "ppl": 12.18, "bleu": 10.0}, 10.0, 2.5)
    state.step = 12
    assert state.note_validation({"loss": 1.5, "ppl": 4.48, "bleu": 10.0}, 10.0, 1.5)  # same BLEU, lower loss
    meta = state.to_meta()
    assert set(meta) == AFTER_VALIDATION
    assert (meta["best"], meta["best_step"], meta["best_loss"], meta["bad_evals"]) == (10.0, 12, 1.5, 0)


def test_the_saved_fields_round_trip_and_the_clocks_do_not_travel() -> None:
    state = TrainState(step=7, epoch=2, position=3, elapsed=12.5, tokens=900, best=3.25, best_step=5,
                       best_loss=4.0, bad_evals=1, last_valid={"loss": 4.1, "ppl": 60.3, "bleu": 3.0},
                       t_start=99.0, saved_step=7, step_tokens=5, step_seconds=1.0, last_loss=4.2)
    again = TrainState.from_meta({**state.to_meta(), "param_groups": []})
    assert again.to_meta() == state.to_meta()
    assert (again.t_start, again.saved_step, again.step_tokens) == (0.0, None, 0)


def test_an_older_layout_reads_with_defaults() -> None:
    state = TrainState.from_meta({"step": 5, "epoch": 0, "position": 5, "elapsed": 1.0, "best": None,
                                  "best_step": 0})
    assert (state.step, state.position, state.tokens, state.bad_evals) == (5, 5, 0, 0)
    assert state.best_loss is None and state.last_valid is None


def test_a_run_saved_in_an_older_layout_resumes(tiny_tsv: Path, tmp_path: Path) -> None:
    """A checkpoint without the later keys (tokens, bad_evals, best_loss, last_valid) still resumes."""
    flags = {"arch": "transformer", "size": "tiny", "batch_tokens": 400, "valid_bleu_sentences": 0, "seed": 3,
             "corpus": str(tiny_tsv), "out": str(tmp_path / "r"), "steps": 2, "eval_every": 2}
    train(flags, evaluate_test=False)
    path = tmp_path / "r" / "train_state.safetensors"
    tensors, meta = read_tensors(path)
    old = {k: v for k, v in meta.items() if k not in {"tokens", "bad_evals", "best_loss", "last_valid"}}
    write_tensors(path, tensors, old)
    result = train({"out": str(tmp_path / "r"), "steps": 3}, resume=True, evaluate_test=False)
    assert result.step == 3
    assert int(read_tensors(path)[1]["step"]) == 3
    assert all(torch.isfinite(t).all() for t in read_tensors(tmp_path / "r" / "model.safetensors")[0].values())
