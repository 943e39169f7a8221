"""The comparison campaign behind `seqcli compare` and the measured columns of `seqcli evolution`.

A campaign trains every chosen architecture with the same budget (wall time or
steps), seed, corpus, tokenizer settings and size preset (the presets aim at
comparable parameter counts), then scores each on the test split with greedy
decoding: BLEU and chrF (sacreBLEU, signature kept), BLEU per source-length bucket
(Bahdanau et al. 2014, fig. 2) and decoding speed. Existing runs can be compared
the same way without training. Nothing here asks which architecture it holds: it
only calls `train`, `load_run` and `evaluate`.

The report (report.json, with report.md beside it) is rewritten atomically after
every architecture, so an interrupted campaign leaves what it measured and
`--resume` goes on from there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqcli.compare.curves import learning_curve, time_to_fraction
from seqcli.compare.plan import OVERHEAD, PLATEAU, Campaign, Plan
from seqcli.compare.report import (
    REPORT_JSON,
    build_report,
    load_report,
    write_report,
)
from seqcli.compare.seeds import aggregate
from seqcli.core.device import resolve_device, resolve_precision
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus
from seqcli.inference.evaluate import evaluate
from seqcli.models.registry import REGISTRY, get_arch
from seqcli.runs.config import make_model_config
from seqcli.runs.directory import CONFIG, load_run, read_config, read_metrics
from seqcli.training.loop import train

if TYPE_CHECKING:
    import torch

    from seqcli.data.corpus import Corpus

Pair = tuple[str, str]


def parse_archs(spec: str | None) -> list[str]:
    """Turn `all` or a comma list into registry names, in the order given (registry order for all)."""

    if spec is None or spec.strip().lower() == "all":
        return list(REGISTRY)
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    if not names:
        raise SeqcliError("--archs is empty; give `all` or names such as gru,transformer")
    for name in names:
        get_arch(name)
    return names


def _last(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [r for r in records if r.get("kind") == kind]
    return found[-1] if found else {}


def finished(run_dir: Path) -> bool:
    """True when the run's training ran to its end (it wrote a summary record)."""

    return bool(_last(read_metrics(run_dir), "summary"))


def run_entry(run_dir: Path, pairs: Sequence[Pair], test_name: str, device: str = "auto",
              precision: str = "auto") -> dict[str, Any]:
    """Measure one run: size, training speed and scores, test BLEU/chrF by length, decoding speed."""

    if not pairs:
        raise SeqcliError(f"the test split of {run_dir}'s corpus is empty; nothing to score")
    run = load_run(run_dir, device=resolve_device(device), precision=precision)
    records = read_metrics(run_dir)
    summary, valid = _last(records, "summary"), _last(records, "valid")
    scored = evaluate(run, pairs)  # greedy, BLEU by length with the one bucketer
    history = run.arch.history
    curve = learning_curve(records)
    t90 = time_to_fraction(curve)
    return {
        "arch": run.arch.name, "label": run.arch.name, "stage": history.stage, "year": history.year,
        "run": str(run_dir), "seed": run.train_config.seed, "size": run.train_config.size,
        "parameters": run.model.num_parameters(),
        "steps": summary.get("step", valid.get("step")), "stopped": summary.get("stopped"),
        "plateaued": summary.get("stopped") == PLATEAU, "cap_seconds": run.train_config.time_budget,
        "cap_steps": run.train_config.steps,
        "train_seconds": summary.get("elapsed"), "tokens_per_s": summary.get("tgt_tok_s", summary.get("tok_s")),
        "valid_ppl": (summary.get("valid") or valid).get("ppl"),
        "best_valid_bleu": max((p.bleu for p in curve), default=None),
        "time_to_90": None if t90 is None else round(t90, 1),
        "test": scored.summary(test_name),
        "by_length": [b.as_dict() for b in scored.by_length],
        "curve": [p.as_dict() for p in curve],
    }


def _precision(plan: Plan, device: torch.device) -> str:
    """The precision the campaign's runs train in: --precision resolved for the size's width (each run records its own)."""
    widths = {make_model_config(name, plan.size, 8, 8).d_model for name in plan.archs}
    return resolve_precision(plan.precision, device, min(widths))


def _check_out(plan: Plan, resume: bool, force: bool) -> None:
    """Refuse to overwrite earlier runs unless told, before anything is trained."""

    if resume and force:
        raise SeqcliError("give --resume (keep trained architectures) or --force (retrain them), not both")
    if plan.out.exists() and not plan.out.is_dir():
        raise SeqcliError(f"--out {plan.out} exists and is not a directory")
    existing = [a for a in plan.archs if any((plan.run_dir(a, s) / CONFIG).exists() for s in plan.seed_list())]
    if existing and not (resume or force):
        raise SeqcliError(f"{plan.out} already holds runs for {', '.join(existing)}; use --resume to keep "
                          "them, --force to retrain them, or another --out")


def _reusable(out: Path) -> dict[str, dict[str, Any]]:
    """Seed entries of an earlier campaign's report in `out`, by run directory name (for --resume)."""
    try:
        report = load_report(out / REPORT_JSON)
    except SeqcliError:
        return {}
    if report.get("mode") != "train":
        return {}
    return {Path(s["run"]).name: s for e in report["architectures"] if isinstance(e, dict)
            for s in e.get("seeds", []) if isinstance(s, dict) and "run" in s}


def run_campaign(plan: Plan, *, resume: bool = False, force: bool = False,
                 report: Campaign | None = None) -> dict[str, Any]:
    """Train and evaluate every architecture of the plan; returns (and writes) the report."""

    report = report or Campaign()
    _check_out(plan, resume, force)
    plan.out.mkdir(parents=True, exist_ok=True)
    f = plan.train_flags
    corpus = load_corpus(plan.corpus, f.get("src"), f.get("tgt"), f.get("test_set"))
    earlier = _reusable(plan.out) if resume else {}
    budget = None if plan.steps else plan.budget
    device = resolve_device(plan.device)
    settings = {"mode": "train", "corpus": corpus.name, "size": plan.size, "budget_seconds": budget,
                "total_seconds": None if plan.steps else plan.total, "steps": plan.steps, "patience": plan.patience, "eval_every": plan.eval_every,
                "valid_sentences": plan.valid_sentences, "seed": plan.seed, "seeds": plan.seeds,
                "device": device.type, "precision": _precision(plan, device), "archs": plan.archs, **({"train_flags": f} if f else {})}
    entries: list[dict[str, Any]] = []
    t_start = time.monotonic()
    runs = [(name, seed) for name in plan.archs for seed in plan.seed_list()]
    labels = [name if plan.seeds == 1 else f"{name} seed {seed}" for name, seed in runs]
    report.begin(labels, budget, plan.steps)
    done: list[dict[str, Any]] = []  # seed entries of the architecture in progress
    overheads: list[float] = []  # seconds each trained run spent outside its training loop
    for i, ((name, seed), label) in enumerate(zip(runs, labels, strict=True)):
        t0 = time.monotonic()
        report.arch_start(label)
        overhead = max(overheads) if overheads else OVERHEAD  # the next may cost as much as the costliest
        cap = plan.share(len(runs) - i, t0 - t_start, overhead)
        entry, reused = _one(plan, name, seed, cap, corpus, earlier.get(plan.run_dir(name, seed).name), resume,
                             force, report)
        if entry is None:  # interrupted: keep what was measured, say it is incomplete
            return _save(plan.out, settings, corpus.test_name, entries, t_start, complete=False)
        done.append(entry)
        report.arch_done(label, time.monotonic() - t0, reused)
        if not reused:  # what the cap did not cover: setup, scoring, and a capped run's last validation
            trained = min(entry.get("train_seconds") or 0.0, cap or float("inf"))
            overheads.append(max(time.monotonic() - t0 - trained, 0.0))
        if len(done) == plan.seeds:
            entries.append(aggregate(done))
            done = []
            _save(plan.out, settings, corpus.test_name, entries, t_start, complete=False)
    report.end()
    return _save(plan.out, settings, corpus.test_name, entries, t_start, complete=True)


def _one(plan: Plan, name: str, seed: int, cap: float | None, corpus: Corpus, earlier: dict[str, Any] | None,
         resume: bool, force: bool, report: Campaign) -> tuple[dict[str, Any] | None, bool]:
    """Train (unless --resume finds it finished) and score one run: (seed entry or None, reused)."""

    run_dir = plan.run_dir(name, seed)
    reused = resume and finished(run_dir)
    if not reused:
        result = train(plan.flags(name, seed, cap), None, resume=resume and (run_dir / CONFIG).exists(),
                       force=force, report=report, evaluate_test=False)
        if result.interrupted:
            return None, False
    if reused and earlier and earlier.get("steps") == _last(read_metrics(run_dir), "summary").get("step"):
        return {**earlier, "run": str(run_dir)}, True  # scored before; the directory may have moved
    report.phase(f"scoring {len(corpus.test)} {corpus.test_name} sentences")
    return run_entry(run_dir, corpus.test, corpus.test_name, plan.device, plan.precision), reused


def compare_runs(run_dirs: Sequence[Path], out: Path, corpus: str | None = None, device: str = "auto",
                 report: Campaign | None = None, precision: str = "auto") -> dict[str, Any]:
    """Evaluate existing runs on one test set without training; returns (and writes) the report.

    The test set is the first run's corpus, or `corpus` when given, so every run is
    scored on the same sentences; a run trained on another corpus gets a note.
    """

    report = report or Campaign()
    unique: dict[Path, Path] = {}
    for d in run_dirs:  # each run once, however it is spelled
        unique.setdefault(Path(d).resolve(), Path(d))
    run_dirs = list(unique.values())
    if not run_dirs:
        raise SeqcliError("give at least one run directory to compare")
    configs = [read_config(Path(d)) for d in run_dirs]  # fail on a bad directory before any work
    first = configs[0]["train"]
    spec = corpus or first["corpus"]
    data = load_corpus(spec, first.get("src"), first.get("tgt"), None if corpus else first.get("test_set"))
    notes = [f"{d} was trained on {c['train']['corpus']!r}, scored here on {spec!r}"
             for d, c in zip(run_dirs, configs, strict=True) if c["train"]["corpus"] != spec]
    settings = {"mode": "runs", "corpus": data.name, "device": device, "precision": precision, "runs": [str(d) for d in run_dirs],
                "notes": notes}
    names = [str(c.get("arch", c["train"].get("arch"))) for c in configs]
    entries: list[dict[str, Any]] = []
    t_start = time.monotonic()
    report.begin(names, None, None)
    for name, run_dir in zip(names, run_dirs, strict=True):
        t0 = time.monotonic()
        report.arch_start(name)
        report.phase(f"scoring {len(data.test)} {data.test_name} sentences")
        entries.append(aggregate([run_entry(Path(run_dir), data.test, data.test_name, device, precision)]))
        report.arch_done(name, time.monotonic() - t0, False)
    report.end()
    return _save(out, settings, data.test_name, entries, t_start, complete=True)


def _save(out: Path, settings: dict[str, Any], test_name: str, entries: list[dict[str, Any]],
          t_start: float, complete: bool) -> dict[str, Any]:
    result = build_report(settings, test_name, entries, time.monotonic() - t_start, complete)
    write_report(out, result)
    return result
