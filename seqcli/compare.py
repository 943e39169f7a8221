"""The comparison campaign behind `seqcli compare` and the measured columns of `seqcli evolution`.

A campaign trains every chosen architecture with the same budget (wall time or
steps), seed, corpus, tokenizer settings and size preset (the presets aim at
comparable parameter counts), then scores each on the test split with greedy
decoding: BLEU and chrF (sacreBLEU, signature kept), BLEU per source-length bucket
(Bahdanau et al. 2014, fig. 2) and decoding speed. Existing runs can be compared
the same way without training. Nothing here asks which architecture it holds: it
only calls `train`, `load_run` and `translate`.

The report (report.json, with report.md beside it) is rewritten atomically after
every architecture, so an interrupted campaign leaves what it measured and
`--resume` goes on from there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqcli.errors import SeqcliError
from seqcli.metrics import BUCKET, bleu, bucket_of, chrf
from seqcli.progress import Silent

if TYPE_CHECKING:
    from seqcli.data import Corpus

# Seconds of training per architecture. Measured on aurora, size small, on the shared
# 2-core CPU with one torch thread: everything but the training loop (tokenizers,
# final validation, scoring 1,200 test sentences, decoding an untrained model to the
# length limit: the worst case) took 24-57 s per architecture, 272 s for all eight,
# so 8 x 90 s + 272 s is about 16.5 minutes, inside the ~20 minutes asked for.
DEFAULT_BUDGET = 90.0
MIN_BUCKET = 10  # a length bucket with fewer test sentences is merged into the one before
REPORT_JSON, REPORT_MD = "report.json", "report.md"
REPORT_FORMAT = 1

Pair = tuple[str, str]


def parse_archs(spec: str | None) -> list[str]:
    """Turn `all` or a comma list into registry names, in the order given (registry order for all)."""
    from seqcli.models.registry import REGISTRY, get_arch

    if spec is None or spec.strip().lower() == "all":
        return list(REGISTRY)
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    if not names:
        raise SeqcliError("--archs is empty; give `all` or names such as gru,transformer")
    for name in names:
        get_arch(name)
    return names


@dataclass(frozen=True)
class Plan:
    """What a campaign trains: the same settings for every architecture."""

    archs: list[str]
    out: Path = Path("runs/compare")
    corpus: str = "aurora"
    size: str = "small"
    budget: float | None = DEFAULT_BUDGET  # seconds of training per architecture
    steps: int | None = None  # or this many optimizer steps each
    seed: int = 1
    device: str = "auto"
    train_flags: dict[str, Any] = field(default_factory=dict)  # other TrainConfig fields, shared

    def flags(self, arch: str) -> dict[str, Any]:
        """The `train()` flags of one architecture."""
        return {**self.train_flags, "arch": arch, "corpus": self.corpus, "size": self.size,
                "steps": self.steps, "time_budget": None if self.steps else self.budget,
                "seed": self.seed, "device": None if self.device == "auto" else self.device,
                "out": str(self.out / arch)}


class Campaign(Silent):
    """Campaign events on top of the per-architecture training reporter; this one shows nothing.

    One object serves both levels, so it is passed to `train()` as its reporter and
    the display can show the architecture's own progress inside the campaign's.
    """

    def begin(self, names: list[str], budget: float | None, steps: int | None) -> None: ...
    def arch_start(self, name: str) -> None: ...
    def phase(self, text: str) -> None: ...
    def arch_done(self, name: str, seconds: float, reused: bool) -> None: ...
    def end(self) -> None: ...


# ---- evaluation ---------------------------------------------------------------------


def length_groups(srcs: Sequence[str], width: int = BUCKET,
                  min_sentences: int = MIN_BUCKET) -> list[tuple[str, list[int]]]:
    """Group sentence indices by source length in words: [("1-10", [...]), ..., ("41+", [...])].

    Long buckets hold few sentences and one sentence swings their BLEU, so groups at
    the long end with fewer than `min_sentences` are merged into their neighbour,
    which is then labelled "<low>+".
    """
    groups: dict[int, list[int]] = {}
    for i, src in enumerate(srcs):
        low = ((max(len(src.split()), 1) - 1) // width) * width + 1
        groups.setdefault(low, []).append(i)
    ordered = [(low, bucket_of(low, width), idx) for low, idx in sorted(groups.items())]
    while len(ordered) > 1 and len(ordered[-1][2]) < min_sentences:
        _, _, tail = ordered.pop()
        low, _, idx = ordered.pop()
        ordered.append((low, f"{low}+", idx + tail))
    return [(label, idx) for _, label, idx in ordered]


def _last(records: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [r for r in records if r.get("kind") == kind]
    return found[-1] if found else {}


def finished(run_dir: Path) -> bool:
    """True when the run's training ran to its end (it wrote a summary record)."""
    from seqcli.runs import read_metrics

    return bool(_last(read_metrics(run_dir), "summary"))


def evaluate_run(run_dir: Path, pairs: Sequence[Pair], test_name: str, device: str = "auto") -> dict[str, Any]:
    """Measure one run: size, training speed and scores, test BLEU/chrF by length, decoding speed."""
    from seqcli.decode import translate
    from seqcli.device import resolve_device
    from seqcli.runs import load_run, read_metrics

    if not pairs:
        raise SeqcliError(f"the test split of {run_dir}'s corpus is empty; nothing to score")
    run = load_run(run_dir, device=resolve_device(device))
    records = read_metrics(run_dir)
    summary, valid = _last(records, "summary"), _last(records, "valid")
    srcs, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    t0 = time.monotonic()
    hyps = [t.text for t in translate(run, srcs)]
    seconds = time.monotonic() - t0
    b, ch = bleu(hyps, [refs]), chrf(hyps, [refs])
    by_length = [{"bucket": label, "sentences": len(idx),
                  "bleu": round(bleu([hyps[i] for i in idx], [[refs[i] for i in idx]]).score, 2)}
                 for label, idx in length_groups(srcs)]
    history = run.arch.history
    return {
        "arch": run.arch.name, "label": run.arch.name, "stage": history.stage, "year": history.year,
        "run": str(run_dir), "size": run.train_config.size, "parameters": run.model.num_parameters(),
        "steps": summary.get("step", valid.get("step")), "stopped": summary.get("stopped"),
        "train_seconds": summary.get("elapsed"), "tokens_per_s": summary.get("tok_s"),
        "valid_ppl": (summary.get("valid") or valid).get("ppl"),
        "test": {"set": test_name, "sentences": len(hyps), "bleu": round(b.score, 2), "chrf": round(ch.score, 2),
                 "signature": b.signature, "chrf_signature": ch.signature,
                 "decode_sent_s": round(len(hyps) / max(seconds, 1e-9), 1)},
        "by_length": by_length,
    }


# ---- the campaign -------------------------------------------------------------------


def _check_out(plan: Plan, resume: bool, force: bool) -> None:
    """Refuse to overwrite earlier runs unless told, before anything is trained."""
    from seqcli.runs import CONFIG

    if resume and force:
        raise SeqcliError("give --resume (keep trained architectures) or --force (retrain them), not both")
    if plan.out.exists() and not plan.out.is_dir():
        raise SeqcliError(f"--out {plan.out} exists and is not a directory")
    existing = [a for a in plan.archs if (plan.out / a / CONFIG).exists()]
    if existing and not (resume or force):
        raise SeqcliError(f"{plan.out} already holds runs for {', '.join(existing)}; use --resume to keep "
                          "them, --force to retrain them, or another --out")


def _reusable(out: Path) -> dict[str, dict[str, Any]]:
    """Entries of an earlier campaign's report in `out`, by architecture (for --resume)."""
    try:
        report = load_report(out / REPORT_JSON)
    except SeqcliError:
        return {}
    if report.get("mode") != "train":
        return {}
    return {e["arch"]: e for e in report["architectures"] if isinstance(e, dict) and "arch" in e}


def run_campaign(plan: Plan, *, resume: bool = False, force: bool = False,
                 report: Campaign | None = None) -> dict[str, Any]:
    """Train and evaluate every architecture of the plan; returns (and writes) the report."""
    from seqcli.data import load_corpus
    from seqcli.device import resolve_device

    report = report or Campaign()
    _check_out(plan, resume, force)
    plan.out.mkdir(parents=True, exist_ok=True)
    f = plan.train_flags
    corpus = load_corpus(plan.corpus, f.get("src"), f.get("tgt"), f.get("test_set"))
    earlier = _reusable(plan.out) if resume else {}
    budget = None if plan.steps else plan.budget
    settings = {"mode": "train", "corpus": corpus.name, "size": plan.size, "budget_seconds": budget,
                "steps": plan.steps, "seed": plan.seed, "device": resolve_device(plan.device).type,
                "archs": plan.archs, **({"train_flags": f} if f else {})}
    entries: list[dict[str, Any]] = []
    t_start = time.monotonic()
    report.begin(plan.archs, budget, plan.steps)
    for name in plan.archs:
        t0 = time.monotonic()
        report.arch_start(name)
        entry, reused = _one(plan, name, corpus, earlier.get(name), resume, force, report)
        if entry is None:  # interrupted: keep what was measured, say it is incomplete
            return _save(plan.out, settings, corpus.test_name, entries, t_start, complete=False)
        entries.append(entry)
        report.arch_done(name, time.monotonic() - t0, reused)
        _save(plan.out, settings, corpus.test_name, entries, t_start, complete=False)
    report.end()
    return _save(plan.out, settings, corpus.test_name, entries, t_start, complete=True)


def _one(plan: Plan, name: str, corpus: Corpus, earlier: dict[str, Any] | None, resume: bool, force: bool,
         report: Campaign) -> tuple[dict[str, Any] | None, bool]:
    """Train (unless --resume finds it finished) and score one architecture: (entry or None, reused)."""
    from seqcli.runs import CONFIG, read_metrics
    from seqcli.train import train

    run_dir = plan.out / name
    reused = resume and finished(run_dir)
    if not reused:
        result = train(plan.flags(name), None, resume=resume and (run_dir / CONFIG).exists(), force=force,
                       report=report, evaluate_test=False)
        if result.interrupted:
            return None, False
    if reused and earlier and earlier.get("steps") == _last(read_metrics(run_dir), "summary").get("step"):
        return {**earlier, "run": str(run_dir)}, True  # scored before; the directory may have moved
    report.phase(f"scoring {len(corpus.test)} {corpus.test_name} sentences")
    return evaluate_run(run_dir, corpus.test, corpus.test_name, plan.device), reused


def compare_runs(run_dirs: Sequence[Path], out: Path, corpus: str | None = None, device: str = "auto",
                 report: Campaign | None = None) -> dict[str, Any]:
    """Evaluate existing runs on one test set without training; returns (and writes) the report.

    The test set is the first run's corpus, or `corpus` when given, so every run is
    scored on the same sentences; a run trained on another corpus gets a note.
    """
    from seqcli.data import load_corpus
    from seqcli.runs import read_config

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
    settings = {"mode": "runs", "corpus": data.name, "device": device, "runs": [str(d) for d in run_dirs],
                "notes": notes}
    names = [str(c.get("arch", c["train"].get("arch"))) for c in configs]
    entries: list[dict[str, Any]] = []
    t_start = time.monotonic()
    report.begin(names, None, None)
    for name, run_dir in zip(names, run_dirs, strict=True):
        t0 = time.monotonic()
        report.arch_start(name)
        report.phase(f"scoring {len(data.test)} {data.test_name} sentences")
        entries.append(evaluate_run(Path(run_dir), data.test, data.test_name, device))
        report.arch_done(name, time.monotonic() - t0, False)
    report.end()
    return _save(out, settings, data.test_name, entries, t_start, complete=True)


def _save(out: Path, settings: dict[str, Any], test_name: str, entries: list[dict[str, Any]],
          t_start: float, complete: bool) -> dict[str, Any]:
    result = build_report(settings, test_name, entries, time.monotonic() - t_start, complete)
    write_report(out, result)
    return result


# ---- the report ---------------------------------------------------------------------


def build_report(settings: dict[str, Any], test_name: str, entries: list[dict[str, Any]], wall: float,
                 complete: bool) -> dict[str, Any]:
    """The report.json object: settings, the shared test set and signature, one entry per run."""
    names = [e["arch"] for e in entries]
    for e in entries:  # the same architecture twice (compare RUN_DIR...): tell them apart by directory
        e["label"] = e["arch"] if names.count(e["arch"]) == 1 else f"{e['arch']} ({e['run']})"
    test = entries[0]["test"] if entries else {}
    return {"format": REPORT_FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": complete, "wall_seconds": round(wall, 1), **settings, "test_set": test_name,
            "test_sentences": test.get("sentences"), "signature": test.get("signature"),
            "chrf_signature": test.get("chrf_signature"), "architectures": entries}


def write_report(out: Path, report: dict[str, Any]) -> None:
    """Write report.json and report.md into `out`, each atomically."""
    from seqcli.runs import write_json, write_text

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / REPORT_JSON, report)
    write_text(out / REPORT_MD, report_markdown(report))


def load_report(path: Path) -> dict[str, Any]:
    """Read a report.json written by `seqcli compare`; anything else is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise SeqcliError(f"no compare report at {path}; run `seqcli compare` first")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SeqcliError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(report, dict) or not isinstance(report.get("architectures"), list):
        raise SeqcliError(f"{path}: not a seqcli compare report (no 'architectures' list)")
    fmt = report.get("format")
    if not isinstance(fmt, int) or fmt > REPORT_FORMAT:
        raise SeqcliError(f"{path}: report format {fmt} is newer than this seqcli understands; upgrade seqcli")
    return report


def buckets(report: dict[str, Any]) -> list[str]:
    """Length-bucket labels over all entries, shortest first."""
    labels = [b["bucket"] for e in report["architectures"] for b in e.get("by_length", [])]
    return sorted(dict.fromkeys(labels), key=lambda b: int(b.split("-")[0].rstrip("+")))


def _num(value: Any, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def duration(seconds: float | None) -> str:
    """Seconds as 45s, 2m00s or 1h05m."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The evolution table as headers and rows of text (shared by the terminal and report.md)."""
    labels = buckets(report)
    headers = ["architecture", "year", "params", "train time", "train tok/s", "valid ppl", "BLEU", "chrF",
               *[f"BLEU {b}" for b in labels], "decode sent/s"]
    rows = []
    for e in report["architectures"]:
        by = {b["bucket"]: b["bleu"] for b in e.get("by_length", [])}
        t = e.get("test", {})
        params = e.get("parameters")
        rows.append([e["label"], str(e.get("year", "")), f"{params / 1e6:.2f}M" if params else "–",
                     duration(e.get("train_seconds")), _num(e.get("tokens_per_s"), ",.0f"),
                     _num(e.get("valid_ppl"), ".2f"), _num(t.get("bleu"), ".2f"), _num(t.get("chrf"), ".2f"),
                     *[_num(by.get(b), ".2f") for b in labels], _num(t.get("decode_sent_s"), ",.1f")])
    return headers, rows


def caption(report: dict[str, Any]) -> str:
    """What the numbers were measured on, and the sacreBLEU signatures that reproduce them."""
    budget = (f"{report['steps']} steps" if report.get("steps") else
              f"{duration(report['budget_seconds'])} of training" if report.get("budget_seconds") else None)
    parts = [f"{report.get('test_set')} split of {report.get('corpus')} ({report.get('test_sentences')} sentences), "
             "greedy decoding"]
    if budget:
        parts.append(f"same budget for each: {budget}, size {report.get('size')}, seed {report.get('seed')} "
                     "(train time includes validation)")
    counts = {b["bucket"]: b["sentences"] for e in report["architectures"][:1] for b in e.get("by_length", [])}
    if counts:
        parts.append("test sentences per length bucket: " + ", ".join(f"{k} words: {n}" for k, n in counts.items()))
    parts.append(f"BLEU {report.get('signature')}")
    parts.append(f"chrF {report.get('chrf_signature')}")
    return "; ".join(parts)


def chart(report: dict[str, Any]) -> Any:
    """BLEU against source length, one line per entry, as a `seqcli.chart.LineChart`."""
    from seqcli.chart import LineChart

    labels = buckets(report)
    series: dict[str, Sequence[float | None]] = {}
    for e in report["architectures"]:
        by = {b["bucket"]: b["bleu"] for b in e.get("by_length", [])}
        series[e["label"]] = [by.get(b) for b in labels]
    return LineChart(labels, series, title="test BLEU by source length", y_label="BLEU",
                     x_label="source sentence length (words)")


def report_markdown(report: dict[str, Any]) -> str:
    """report.md: the table, its caption and the chart as text."""
    headers, rows = table(report)
    lines = ["# seqcli compare", ""]
    if not report.get("complete", True):
        lines += ["*Incomplete: the campaign was interrupted; `seqcli compare --resume` goes on.*", ""]
    lines += ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", caption(report) + ".", ""]
    lines += [f"Note: {n}" for n in report.get("notes", [])]
    if report["architectures"]:
        lines += ["```", chart(report).plain(), "```", ""]
    return "\n".join(lines)


def evolution_rows(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The registry's history of every architecture, beside what `compare` measured (None if not)."""
    from seqcli.models.registry import REGISTRY

    measured: dict[str, dict[str, Any]] = {}
    for e in (report or {}).get("architectures", []):
        measured.setdefault(e["arch"], e)  # the first run of an architecture speaks for it
    rows = []
    for name, arch in REGISTRY.items():
        h, e = arch.history, measured.get(name)
        longest = (e or {}).get("by_length", [])[-1:] or [{}]
        rows.append({"arch": name, "stage": h.stage, "year": h.year, "paper": h.paper, "key_idea": h.key_idea,
                     "features": h.features, "challenge": h.challenge, "next_fix": h.next_fix,
                     "bleu": (e or {}).get("test", {}).get("bleu"), "longest_bucket": longest[0].get("bucket"),
                     "bleu_longest": longest[0].get("bleu"), "tokens_per_s": (e or {}).get("tokens_per_s")})
    return rows
