#!/usr/bin/env python3
"""Decoding speed beside the peers at equal output lengths: every toolkit emits exactly L tokens per sentence.

    python bench/decode_round.py [--length 20] [--repeats 3]       # after bench/round.sh (its models, its venvs)

In the peers round (bench/round.sh) each toolkit decodes with the model it trained in
120 updates, so a step count depends on when that model happens to emit <eos>: one
sentence that never ends keeps its batch of 64 decoding to the 60-token cap, and
OpenNMT-py 3.5.1 also cuts outputs at 1.25 x the source length by default. Sentences
per second then compare models as much as decoders. Here no sentence may end before
L tokens nor go past them (seqcli `--min-len L --max-len L`, HF `min_new_tokens =
max_new_tokens = L`, OpenNMT-py `-min_length L -max_length L`, and for 3.5.1 `-max_length_ratio 100`),
so every contender does the same work: the 1,000 test sentences of the round's corpus,
sorted by length, in batches of 64, greedy and beam 5, L target tokens each. The
weights do not change that work: seqcli and OpenNMT-py decode the models the round
trained; HF's runner keeps no model, so HF gets a MarianMT of the same configuration
with random weights.

Each contender runs in its own process (its own venv), in rounds: seqcli auto, HF fp32,
HF under bf16 autocast, OpenNMT-py 3.0.4, OpenNMT-py 3.5.1, seqcli fp32, then again.
Timing: seqcli and HF around their decoding loops after a warm-up call (as the round's
runners do); OpenNMT-py its own `-report_time` total (0.1 s resolution, its input
reading included). Output tokens are counted in each contender's output, not assumed.
Prints the CPU, its bf16 support, a table of medians and the ratios; writes
$PEER_ROOT/results/decode_round.json. Nothing else may run meanwhile (2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = Path(os.environ.get("PEER_ROOT", "/tmp/seqcli-peers"))
PEERS = Path(os.environ.get("PEERS_DIR", HERE.parents[2] / "shared" / "peers"))
BATCH, N = 64, 1000


def sorted_batches(lines: list[str]) -> list[list[int]]:
    """The round's decoding batches: the test sentences sorted by length, 64 at a time."""
    order = sorted(range(len(lines)), key=lambda i: len(lines[i].split()))
    return [order[k:k + BATCH] for k in range(0, len(order), BATCH)]


def test_lines() -> list[str]:
    return (ROOT / "corpus" / "test.src").read_text(encoding="utf-8").splitlines()[:N]


# ---- workers: each prints one JSON line {"greedy": [seconds, tokens], "beam5": [...]} -------------


def seqcli_worker(run_dir: str, precision: str, length: int) -> dict[str, Any]:
    import torch

    from seqcli.inference.decode import translate
    from seqcli.runs.directory import load_run

    torch.set_num_threads(2)
    run = load_run(run_dir, device="cpu", precision=precision)
    lines = test_lines()
    translate(run, lines[:8])  # warm-up outside the timing, as the round's runner does
    out: dict[str, Any] = {"precision": run.precision}
    for beam, key in ((1, "greedy"), (5, "beam5")):
        tokens, t0 = 0, time.perf_counter()
        for ids in sorted_batches(lines):
            result = translate(run, [lines[i] for i in ids], beam=beam, max_len=length, min_len=length,
                               batch_tokens=10**9)
            tokens += sum(len(r.ids) for r in result)
        out[key] = [time.perf_counter() - t0, tokens]
    return out


def hf_worker(bf16: bool, length: int) -> dict[str, Any]:
    import torch

    sys.path.insert(0, str(PEERS))
    import bare_torch as B  # type: ignore[import-not-found]  # the shared folder's data helpers
    from transformers import MarianConfig, MarianMTModel

    torch.set_num_threads(2)
    torch.manual_seed(1)
    sv, _ = B.build_vocab(B.read(f"{ROOT}/corpus/train.src"), 8000)
    tv, _ = B.build_vocab(B.read(f"{ROOT}/corpus/train.tgt"), 8000)
    PAD, BOS, EOS = B.PAD, B.BOS, B.EOS
    config = MarianConfig(  # run_hf.py's configuration
        vocab_size=len(sv), decoder_vocab_size=len(tv), share_encoder_decoder_embeddings=False,
        d_model=256, encoder_layers=3, decoder_layers=3, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=1024, decoder_ffn_dim=1024,
        activation_function="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
        max_position_embeddings=256, scale_embedding=True, tie_word_embeddings=False,
        pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS, decoder_start_token_id=BOS,
        forced_eos_token_id=None)
    model = MarianMTModel(config).eval()
    lines = test_lines()
    enc = [B.encode(s, sv) + [EOS] for s in lines]

    def source(ids: list[int]) -> Any:
        src = torch.full((len(ids), max(len(enc[i]) for i in ids)), PAD, dtype=torch.long)
        for j, i in enumerate(ids):
            src[j, : len(enc[i])] = torch.tensor(enc[i])
        return src

    def generate(src: Any, beam: int) -> Any:
        return model.generate(input_ids=src, attention_mask=src.ne(PAD).long(), num_beams=beam, do_sample=False,
                              max_new_tokens=length, min_new_tokens=length, length_penalty=1.0)

    out: dict[str, Any] = {"precision": "bf16 autocast" if bf16 else "fp32"}
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        generate(source(list(range(8))), 1)  # warm-up
        for beam, key in ((1, "greedy"), (5, "beam5")):
            tokens, t0 = 0, time.perf_counter()
            for ids in sorted_batches(lines):
                for row in generate(source(ids), beam)[:, 1:].tolist():  # without the start token
                    tokens += sum(1 for x in row if x not in (PAD, EOS))
            out[key] = [time.perf_counter() - t0, tokens]
    return out


def onmt_worker(venv: str, model: str, length: int) -> dict[str, Any]:
    out: dict[str, Any] = {"precision": "fp32"}
    env = {**os.environ, "OMP_NUM_THREADS": "2", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    # 3.5.1 also caps an output at 1.25 x its source (-max_length_ratio); 3.0.4 has no such cap or flag.
    ratio = ["-max_length_ratio", "100"] if venv == "onmt35" else []
    with tempfile.TemporaryDirectory() as tmp:
        for beam, key in ((1, "greedy"), (5, "beam5")):
            hyp = Path(tmp) / f"hyp{beam}.txt"
            log = subprocess.run(
                [f"{ROOT}/{venv}/bin/onmt_translate", "-model", model, "-src", f"{ROOT}/corpus/test.src",
                 "-output", str(hyp), "-beam_size", str(beam), "-batch_size", str(BATCH), "-batch_type", "sents",
                 "-min_length", str(length), "-max_length", str(length), *ratio, "-report_time"],
                env=env, capture_output=True, text=True, check=True).stderr
            seconds = float(re.findall(r"Total translation time \(s\): ([0-9.]+)", log)[-1])
            out[key] = [seconds, sum(len(line.split()) for line in hyp.read_text(encoding="utf-8").splitlines())]
    return out


# ---- the round ---------------------------------------------------------------------------------


def contenders(length: int) -> dict[str, list[str]]:
    """label -> command line, for those whose venv and model exist."""
    me, found = [sys.executable, str(HERE), "--length", str(length), "--worker"], {}
    runs = sorted(ROOT.glob("work/seqcli_transformer_*"), key=lambda p: p.stat().st_mtime)
    runs = [r for r in runs if (r / "model.safetensors").is_file() and "smoke" not in r.name]
    if runs:
        found["seqcli auto"] = [*me, "seqcli", str(runs[-1]), "auto"]
    if (ROOT / "hf/bin/python").is_file():
        hf = [str(ROOT / "hf/bin/python"), str(HERE), "--length", str(length), "--worker", "hf"]
        found["HF fp32"] = [*hf, "fp32"]
        found["HF bf16 autocast"] = [*hf, "bf16"]
    for label, venv, work in (("OpenNMT-py 3.0.4", "onmt", "onmt_transformer"),
                              ("OpenNMT-py 3.5.1", "onmt35", "onmt_transformer_351")):
        models = sorted((ROOT / "work" / work).glob("model_step_*.pt"))
        if (ROOT / venv / "bin/onmt_translate").is_file() and models:
            found[label] = [*me, "onmt", venv, str(models[-1])]
    if runs:
        found["seqcli fp32"] = [*me, "seqcli", str(runs[-1]), "fp32"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=20, help="target tokens every sentence decodes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="print the table of the last saved round again")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        saved = json.loads((ROOT / "results" / "decode_round.json").read_text())
        print(f"CPU: {saved['cpu']}, native bf16: {'yes' if saved['cpu_bf16'] else 'no'}")
        report(saved["results"], saved["length"])
        return
    if args.worker:
        kind, *rest = args.worker
        if kind == "seqcli":
            result = seqcli_worker(rest[0], rest[1], args.length)
        elif kind == "hf":
            result = hf_worker(rest[0] == "bf16", args.length)
        else:
            result = onmt_worker(rest[0], rest[1], args.length)
        print(json.dumps(result))
        return
    if not (ROOT / "corpus" / "test.src").is_file():
        sys.exit(f"bench/decode_round.py: no corpus under {ROOT}: run bench/round.sh first (it trains the models too)")
    from common import header  # the seqcli environment only (workers run in the peers' venvs)

    machine = header("decode_round: greedy and beam 5 beside the peers, every output the same length")
    print(f"{N} test sentences of {ROOT / 'corpus'}, batches of {BATCH}, exactly {args.length} tokens each\n")
    found = contenders(args.length)
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in found}
    for r in range(args.repeats):
        for label, cmd in found.items():
            load = os.getloadavg()[0]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                print(f"{label}: failed ({done.stderr.strip().splitlines()[-1:]})")
                continue
            res = json.loads(done.stdout.strip().splitlines()[-1])
            res["load_before"] = load
            results[label].append(res)
            print(f"pass {r + 1} {label:<18} greedy {rate(res, 'greedy'):7,.0f} tok/s   beam-5 {rate(res, 'beam5'):6,.0f} "
                  f"tok/s   (1-min load before {load:.2f})", flush=True)
    report(results, args.length)
    out = ROOT / "results" / "decode_round.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": machine["cpu"], "cpu_bf16": machine["cpu_bf16"], "machine": machine,
                               "length": args.length, "results": results}, indent=1))
    print(f"\nwritten: {out}")


def rate(res: dict[str, Any], key: str) -> float:
    seconds, tokens = res[key]
    return float(tokens / seconds)


def report(results: dict[str, list[dict[str, Any]]], length: int) -> None:
    medians = {label: {key: statistics.median(rate(r, key) for r in runs) for key in ("greedy", "beam5")}
               for label, runs in results.items() if runs}
    peers = {label: m for label, m in medians.items() if not label.startswith("seqcli")}
    defaults = {label: m for label, m in peers.items() if "bf16" not in label}
    print(f"\nmedian output tokens/s, {length} tokens per sentence (ratio = seqcli ÷ the best peer at its defaults; "
          "÷ HF under bf16 autocast)")
    print("| toolkit | greedy tok/s | beam-5 tok/s | greedy ratio | beam-5 ratio |\n|---|---|---|---|---|")
    for label, m in medians.items():
        cells = []
        for key in ("greedy", "beam5"):
            if label.startswith("seqcli") and defaults:
                best = max(v[key] for v in defaults.values())
                hf = peers.get("HF bf16 autocast", {}).get(key)
                cells.append(f"{m[key] / best:.2f}" + (f" (÷ HF bf16 {m[key] / hf:.2f})" if hf else ""))
            else:
                cells.append("")
        print(f"| {label} | {m['greedy']:,.0f} | {m['beam5']:,.0f} | {cells[0]} | {cells[1]} |")
    # The same ratio pass by pass (each pass runs every contender once, minutes apart at most).
    for label in (x for x in results if x.startswith("seqcli")):
        for key in ("greedy", "beam5"):
            ratios = [rate(ours, key) / max(rate(results[p][i], key) for p in defaults if i < len(results[p]))
                      for i, ours in enumerate(results[label]) if all(i < len(results[p]) for p in defaults)]
            if ratios:
                print(f"{label}, {key}: ÷ the best default peer of the same pass: "
                      + ", ".join(f"{r:.2f}" for r in ratios) + f" (median {statistics.median(ratios):.2f})")


if __name__ == "__main__":
    main()
