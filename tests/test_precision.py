"""--precision: what auto picks, bf16 close to fp32, what a run records; and the training
options the peers protocol needed (a constant schedule that is constant, sentence-count
batches, target tokens/s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seqcli.core import device as device_module
from seqcli.core.device import autocast, resolve_precision
from seqcli.core.errors import SeqcliError
from seqcli.core.files import read_tensors
from seqcli.data.batching import batch_plan, encode_pairs
from seqcli.data.tokenizers import train_tokenizers
from seqcli.models.registry import get_arch
from seqcli.runs.config import make_model_config
from seqcli.runs.directory import (
    build_model,
    load_run,
    read_config,
    read_metrics,
    train_config_from,
)
from seqcli.training.loop import train

CPU = torch.device("cpu")


def test_auto_is_bf16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert resolve_precision("auto", CPU) == "bf16"
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx2", "amx_bf16"})
    assert resolve_precision("auto", CPU) == "bf16"
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx2", "avx512f", "avx512bw"})  # emulated only
    assert resolve_precision("auto", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"  # asked for: given, even where it is slow
    assert resolve_precision("fp32", CPU) == "fp32"
    with pytest.raises(SeqcliError, match="unknown precision 'fp16'"):
        resolve_precision("fp16", CPU)


def test_auto_keeps_narrow_models_in_fp32_on_a_cpu(monkeypatch: pytest.MonkeyPatch, tiny_tsv: Path,
                                                   tmp_path: Path) -> None:
    """On a bf16 CPU, auto gives bf16 from d_model 256 up (base) and fp32 below (small): bf16 only pays when wide."""
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    assert resolve_precision("auto", CPU, 256) == resolve_precision("auto", CPU, 512) == "bf16"
    assert resolve_precision("auto", CPU, 96) == "fp32"
    assert resolve_precision("bf16", CPU, 96) == "bf16"  # asked for: given
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f"})
    assert resolve_precision("auto", CPU, 512) == "fp32"
    monkeypatch.setattr(device_module, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    out = tmp_path / "narrow"
    train({"arch": "transformer", "size": "tiny", "corpus": str(tiny_tsv), "out": str(out), "steps": 2,
           "batch_tokens": 300, "eval_every": 1000, "valid_bleu_sentences": 0}, evaluate_test=False)
    assert read_config(out)["precision"] == "fp32"  # tiny: d_model 48
    assert load_run(out, device="cpu").precision == "fp32"
    assert load_run(out, device="cpu", precision="bf16").precision == "bf16"


@pytest.mark.parametrize("arch", ["transformer", "bahdanau", "luong", "lstm"])
def test_bf16_logits_stay_close_to_fp32(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(get_arch(arch), make_model_config(arch, "tiny", 40, 40, {}, 0.0)).eval()
    src = torch.randint(4, 40, (6, 9))
    tgt = torch.randint(4, 40, (6, 7))
    mask = torch.ones_like(src, dtype=torch.bool)
    mask[0, 5:] = False
    with torch.no_grad():
        fp32 = model(src, mask, tgt)
        with autocast(CPU, "bf16"):
            bf16 = model(src, mask, tgt)
    assert bf16.dtype == torch.bfloat16  # autocast did take effect
    assert fp32.dtype == torch.float32
    logp32, logp16 = fp32.log_softmax(-1), bf16.float().log_softmax(-1)
    assert (logp16 - logp32).abs().max() < 0.05  # bf16 keeps ~3 significant digits
    assert (logp16.argmax(-1) == logp32.argmax(-1)).float().mean() > 0.9


def test_a_run_records_the_precision_it_used_and_keeps_fp32_weights(tiny_tsv: Path, tmp_path: Path) -> None:
    flags = {"arch": "transformer", "size": "tiny", "corpus": str(tiny_tsv), "steps": 2, "eval_every": 2,
             "valid_bleu_sentences": 4, "batch_tokens": 300, "device": "cpu"}
    for precision in ("bf16", "fp32"):
        out = tmp_path / precision
        train({**flags, "out": str(out), "precision": precision}, evaluate_test=False)
        record = read_config(out)
        assert record["train"]["precision"] == precision and record["precision"] == precision
        summary = [r for r in read_metrics(out) if r["kind"] == "summary"][-1]
        assert summary["precision"] == precision and summary["tgt_tok_s"] > 0
        assert {t.dtype for t in read_tensors(out / "model.safetensors")[0].values()} == {torch.float32}
        assert load_run(out, precision=precision).precision == precision
    assert load_run(tmp_path / "bf16", precision="fp32").precision == "fp32"  # decoding chooses its own


def test_constant_schedule_refuses_a_warmup_and_old_runs_keep_theirs() -> None:
    from seqcli.runs.config import make_train_config

    with pytest.raises(SeqcliError, match="warmup_constant"):
        make_train_config(flags={"schedule": "constant", "warmup": 100})
    assert make_train_config(flags={"schedule": "constant", "warmup": 0}).schedule == "constant"
    # A run recorded when "constant" still ramped up over its warmup resumes with that schedule.
    assert train_config_from({"schedule": "constant", "warmup": 100}).schedule == "warmup_constant"
    assert train_config_from({"schedule": "constant", "warmup": 0}).schedule == "constant"


def test_sentence_count_batches(tiny_tsv: Path) -> None:
    from seqcli.data.corpus import load_corpus

    corpus = load_corpus(str(tiny_tsv))
    src_tok, tgt_tok = train_tokenizers(corpus.train, "word", 60, False)
    data = encode_pairs(corpus.train, src_tok, tgt_tok)
    plan = batch_plan(data, 10**6, shuffle=True, seed=3, batch_sents=16)
    sizes = sorted(len(b) for b in plan)
    assert sizes[1:] == [16] * (len(plan) - 1) and 1 <= sizes[0] <= 16  # one remainder at most
    assert sorted(i for b in plan for i in b) == list(range(len(data)))  # every pair once
    by_tokens = batch_plan(data, 10**6, shuffle=True, seed=3)
    assert len(by_tokens) < len(plan)  # the token budget alone would have made fewer, larger batches


def test_train_with_batch_sents_uses_that_many_sentences(tiny_tsv: Path, tmp_path: Path) -> None:
    from seqcli.training import loop

    seen: list[int] = []
    original = loop.train_step

    def counting(*args: object, **kwargs: object) -> object:
        seen.append(sum(len(b) for b in args[3]))  # type: ignore[attr-defined]
        return original(*args, **kwargs)  # type: ignore[arg-type]

    loop.train_step = counting  # type: ignore[assignment]
    try:
        train({"arch": "gru", "size": "tiny", "corpus": str(tiny_tsv), "out": str(tmp_path / "r"), "steps": 3,
               "batch_sents": 12, "eval_every": 100, "valid_bleu_sentences": 0, "device": "cpu"},
              evaluate_test=False)
    finally:
        loop.train_step = original
    assert seen == [12, 12, 12]
    assert json.loads((tmp_path / "r" / "config.json").read_text())["train"]["batch_sents"] == 12


def test_cpu_dropout_keeps_1_minus_p_and_scales() -> None:
    from seqcli.models.base import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.1).train()
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.9) < 0.005  # binomial sd here: 0.0007
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.9))
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept)  # the gradient flows through the kept elements only
    torch.manual_seed(0)
    assert torch.equal(Dropout(0.1).train()(torch.ones(200_000)), y.detach())  # the seed fixes the mask
    assert torch.equal(drop.eval()(x), x)  # off in eval mode
    words = torch.ones(4, 50_000)
    rows = Dropout(0.5).train()(words)
    # every 16-bit lane of the 64-bit draws is used: no position class is biased
    lanes = (rows.view(-1, 4) != 0).float().mean(0)
    assert ((lanes - 0.5).abs() < 0.01).all()
