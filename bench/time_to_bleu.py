"""Time to a good model: wall time for `seqcli train` to reach a validation BLEU threshold.

    python bench/time_to_bleu.py [--target aurora:30 --target multi30k:10] [--arch transformer]
                                 [--size tiny] [--budget 15m] [--eval-every 100] [--sentences 200]
                                 [--no-reference]

For each target corpus:threshold, the real command runs (`python -m seqcli train`,
a subprocess with OMP_NUM_THREADS=--threads) with greedy validation BLEU on the
first --sentences validation pairs every --eval-every steps; the clock starts
when the process starts (tokenizer training and validation included) and stops
when a validation record reaches the threshold. Then, in this process, the
plain-PyTorch reference of the same size and initialisation (bench/reference.py)
does the same work the way a short script would (default AdamW, greedy decoding
by recomputing the prefix): it trains the same tokenizers, takes the same
batches and schedule, and evaluates alike (validation loss on the whole split,
greedy BLEU on the same sentences). Both run one after the other, so the load
average is printed with each. multi30k is en→de from ../shared/corpora/multi30k.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from common import CORPORA, ROOT, header, set_threads
from reference import ReferenceBahdanau, ReferenceTransformer, greedy_bahdanau, greedy_transformer

from seqcli.data.batching import collate_source, encode_pairs, make_batches
from seqcli.data.corpus import load_corpus
from seqcli.data.tokenizers import Tokenizer, default_vocab_size, train_tokenizers
from seqcli.inference.evaluate import evaluate
from seqcli.models.registry import get_arch
from seqcli.runs.config import parse_duration
from seqcli.runs.directory import read_config
from seqcli.training.step import learning_rate

CORPUS_ARGS = {"aurora": ["--corpus", "aurora"],
               "multi30k": ["--corpus", str(CORPORA / "multi30k"), "--src", "en", "--tgt", "de"]}


def valid_records(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line being written
        if record.get("kind") == "valid":
            records.append(record)
    return records


def run_seqcli(corpus: str, threshold: float, args: argparse.Namespace, out: Path) -> dict:
    """Start `seqcli train`, stop it at the threshold: seconds (None: not reached), step, best record."""
    config = out.parent / f"{out.name}.toml"
    config.write_text(f"valid_bleu_sentences = {args.sentences}\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "seqcli", "train", *CORPUS_ARGS[corpus], "--arch", args.arch,
           "--size", args.size, "--out", str(out),
           "--eval-every", str(args.eval_every), "--time-budget", f"{args.budget:.0f}s", "--config", str(config)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    reached, step, best = None, None, {}
    while proc.poll() is None:
        time.sleep(0.5)
        for record in valid_records(out):
            best = max(best, record, key=lambda r: r.get("bleu", -1)) if best else record
            if reached is None and record["bleu"] >= threshold:
                reached, step = time.monotonic() - t0, record["step"]
        if reached is not None:
            proc.send_signal(signal.SIGTERM)  # it saves and leaves
            proc.wait(timeout=120)
    if proc.returncode not in (0, 130, -signal.SIGTERM) and reached is None:
        raise RuntimeError(f"seqcli train failed: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
    return {"seconds": reached, "step": step, "best": best}


def run_reference(corpus: str, threshold: float, args: argparse.Namespace, seqcli_run: Path,
                  budget: float) -> dict:
    """The plain-PyTorch model doing what `seqcli train` does, the plain way.

    The same work: tokenizers trained the same way (checked: the very same files),
    the same batches and schedule, and at each evaluation the loss on the whole
    validation split plus greedy BLEU on its first --sentences pairs.
    """
    config = read_config(seqcli_run)
    train_cfg, model_cfg = config["train"], config["model"]
    t0 = time.monotonic()
    data = load_corpus(*(["aurora"] if corpus == "aurora" else [str(CORPORA / "multi30k"), "en", "de"]))
    vocab = train_cfg["vocab_size"] or default_vocab_size(data.train)
    src_tok, tgt_tok = train_tokenizers(data.train, train_cfg["tokenizer"], vocab, train_cfg["joint_vocab"])
    for tok, name in ((src_tok, "src"), (tgt_tok, "tgt")):
        assert tok.to_str() == (seqcli_run / f"{name}_tokenizer.json").read_text(encoding="utf-8")
    limit = min(train_cfg["max_tokens"], model_cfg["max_len"] - 1)
    encoded = encode_pairs(data.train, src_tok, tgt_tok, max_tokens=limit)
    valid_batches = make_batches(encode_pairs(data.valid, src_tok, tgt_tok, max_tokens=model_cfg["max_len"] - 1),
                                 train_cfg["batch_tokens"], shuffle=False)
    valid = data.valid[: args.sentences]
    c = argparse.Namespace(**model_cfg)
    torch.manual_seed(train_cfg["seed"])
    model = (ReferenceTransformer if args.arch == "transformer" else ReferenceBahdanau).like(c)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0)
    preset = get_arch(args.arch).train  # seqcli's schedule, as the run used it (no overrides given)
    defaults = (preset.schedule, preset.lr, preset.warmup)
    step, epoch, best, reached, eval_s = 0, 0, {}, None, 0.0
    while reached is None and time.monotonic() - t0 < budget:
        for batch in make_batches(encoded, train_cfg["batch_tokens"], shuffle=True, seed=train_cfg["seed"],
                                  epoch=epoch):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step + 1, defaults[0], defaults[1], defaults[2], c.d_model)
            logits = model(batch.src, batch.src_mask, batch.tgt_in)
            loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0,
                                   label_smoothing=0.1, reduction="sum")
            optimizer.zero_grad(set_to_none=True)
            (loss / batch.n_tgt_tokens).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if step % args.eval_every == 0:
                t_eval = time.monotonic()
                record = {"step": step, "loss": valid_loss(model, valid_batches),
                          "bleu": reference_bleu(model, valid, src_tok, tgt_tok)}
                eval_s += time.monotonic() - t_eval
                best = record if not best or record["bleu"] > best["bleu"] else best
                if record["bleu"] >= threshold:
                    reached = time.monotonic() - t0
            if reached is not None or time.monotonic() - t0 >= budget:
                break
        epoch += 1
    return {"seconds": reached, "step": step if reached else None, "best": best, "eval_s": eval_s}


@torch.no_grad()
def valid_loss(model: torch.nn.Module, batches: list) -> float:
    """Mean NLL per target token over the validation batches."""
    model.eval()
    total = count = 0.0
    for batch in batches:
        logits = model(batch.src, batch.src_mask, batch.tgt_in)
        total += F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0,
                                 reduction="sum").item()
        count += batch.n_tgt_tokens
    model.train()
    return total / count


def reference_bleu(model: torch.nn.Module, pairs: list[tuple[str, str]], src_tok: Tokenizer,
                   tgt_tok: Tokenizer) -> float:
    """Greedy BLEU of the reference on pairs, scored by seqcli's own evaluation path."""

    def translate(lines: Sequence[str]) -> list[str]:
        hyps = []
        for i in range(0, len(lines), 50):  # batches of 50 sentences
            src, mask = collate_source(src_tok.encode_batch(list(lines[i:i + 50])))
            steps = int(2 * mask.sum(1).max()) + 10  # seqcli's limit: 2 × source length + 10
            decode = greedy_transformer if isinstance(model, ReferenceTransformer) else greedy_bahdanau
            hyps += [tgt_tok.decode(ids) for ids in decode(model, src, mask, steps)]  # type: ignore[arg-type]
        return hyps

    if not pairs:
        return 0.0  # as seqcli's validation does with --sentences 0
    model.eval()
    try:
        return evaluate(translate, pairs, by_length=False).bleu.score
    finally:
        model.train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", help="corpus:threshold, e.g. aurora:20 (repeatable)")
    parser.add_argument("--arch", default="transformer", choices=["transformer", "bahdanau"])
    parser.add_argument("--size", default="tiny", help="model size preset (tiny trains to BLEU 30 on aurora "
                        "in minutes on 2 CPU cores)")
    parser.add_argument("--budget", default="15m", help="give up after this long, per contender")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--sentences", type=int, default=200, help="validation sentences for BLEU")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    args.budget = parse_duration(args.budget)
    warnings.filterwarnings("ignore", message=".*nested tensors.*")  # nn.Transformer's eval fast path
    set_threads(args.threads)
    header("time_to_bleu: wall time for `seqcli train` to reach a validation BLEU")
    rows = []
    for target in args.target or ["aurora:30", "multi30k:10"]:
        corpus, threshold = target.split(":")[0], float(target.split(":")[1])
        with tempfile.TemporaryDirectory() as tmp:
            print(f"\n{corpus}: seqcli train --arch {args.arch} --size {args.size}, threshold BLEU {threshold:g} "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
            ours = run_seqcli(corpus, threshold, args, Path(tmp) / "run")
            row = [corpus, f"{threshold:g}", fmt(ours)]
            if not args.no_reference:
                print(f"{corpus}: plain-PyTorch reference (load average {os.getloadavg()[0]:.2f})", flush=True)
                theirs = run_reference(corpus, threshold, args, Path(tmp) / "run", args.budget)
                done = ours["seconds"] and theirs["seconds"]
                speedup = f"{theirs['seconds'] / ours['seconds']:.2f}×" if done else "n/a"
                row += [fmt(theirs) + f", {theirs['eval_s']:.0f} s of it evaluating", speedup]
            rows.append(row)
            print("  " + " | ".join(row), flush=True)
    print()
    head = ["corpus", "BLEU ≥", "seqcli train"] + ([] if args.no_reference else ["reference", "speed-up"])
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def fmt(result: dict) -> str:
    if result["seconds"] is not None:
        return f"{result['seconds']:.0f} s (step {result['step']})"
    best = result["best"]
    return f"not reached (best {best.get('bleu', 0):.1f} at step {best.get('step', 0)})"


if __name__ == "__main__":
    main()
