"""The campaign's report: report.json (+ report.md), its table, caption, chart and evolution rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqcli.compare.curves import FRACTION
from seqcli.compare.plan import PLATEAU, duration
from seqcli.compare.verdicts import BORNE_OUT, CLAIMS, INCONCLUSIVE, NOT_BORNE_OUT, verdicts
from seqcli.core.errors import SeqcliError
from seqcli.core.files import write_json, write_text
from seqcli.models.registry import REGISTRY
from seqcli.views.chart import CurveChart, LineChart

if TYPE_CHECKING:
    pass


REPORT_JSON, REPORT_MD = "report.json", "report.md"


# 2: seeds (per-seed entries under each architecture's mean entry, spreads), learning
# curves, plateau flags and the claims' verdicts. Format 1 reports are upgraded on load.
REPORT_FORMAT = 2


def build_report(settings: dict[str, Any], test_name: str, entries: list[dict[str, Any]], wall: float,
                 complete: bool) -> dict[str, Any]:
    """The report.json object: settings, the shared test set and signature, one entry per run."""
    names = [e["arch"] for e in entries]
    for e in entries:  # the same architecture twice (compare RUN_DIR...): tell them apart by directory
        e["label"] = e["arch"] if names.count(e["arch"]) == 1 else f"{e['arch']} ({e['run']})"
    test = entries[0]["test"] if entries else {}
    report = {"format": REPORT_FORMAT, "created": datetime.now(UTC).isoformat(timespec="seconds"),
              "complete": complete, "wall_seconds": round(wall, 1), **settings, "test_set": test_name,
              "test_sentences": test.get("sentences"), "signature": test.get("signature"),
              "chrf_signature": test.get("chrf_signature"), "architectures": entries}
    report["verdicts"] = verdicts(report)
    return report


def _upgrade(report: dict[str, Any]) -> dict[str, Any]:
    """A format 1 report in today's form: each entry its own single seed, no curve, verdicts judged."""
    for e in report["architectures"]:
        if isinstance(e, dict) and "seeds" not in e:
            seed = {k: v for k, v in e.items() if k != "label"}
            seed.update(plateaued=e.get("stopped") == PLATEAU, curve=[])
            e.update(seeds=[seed], plateaued=int(seed["plateaued"]), curve=[], spread={})
    report["format"] = REPORT_FORMAT
    report["verdicts"] = verdicts(report)
    return report


def write_report(out: Path, report: dict[str, Any]) -> None:
    """Write report.json and report.md into `out`, each atomically."""

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
    return _upgrade(report) if fmt < REPORT_FORMAT else report


def buckets(report: dict[str, Any]) -> list[str]:
    """Length-bucket labels over all entries, shortest first."""
    labels = [b["bucket"] for e in report["architectures"] for b in e.get("by_length", [])]
    return sorted(dict.fromkeys(labels), key=lambda b: int(b.split("-")[0].rstrip("+")))


def _num(value: Any, fmt: str, spread: float | None = None) -> str:
    """A number, with ± its spread over seeds when known."""
    if value is None:
        return "–"
    return format(value, fmt) + (f"±{format(spread, fmt)}" if spread is not None else "")


def plateau_cell(entry: dict[str, Any]) -> str:
    """yes (validation BLEU stopped improving), no, cap (stopped at the cap), or k/n over seeds."""
    n = len(entry.get("seeds") or [entry])
    count = int(entry.get("plateaued") or 0)
    if n > 1:
        return f"{count}/{n}"
    return "yes" if count else "no, cap" if entry.get("stopped") in ("time", "steps", "epochs") else "no"


def table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The evolution table as headers and rows of text (shared by the terminal and report.md)."""
    labels = buckets(report)
    headers = ["architecture", "year", "params", "steps", "plateau", "train time", f"to {FRACTION:.0%}",
               "train tok/s", "valid ppl", "BLEU", "chrF", *[f"BLEU {b}" for b in labels], "decode sent/s"]
    rows = []
    for e in report["architectures"]:
        by = {b["bucket"]: (b["bleu"], b.get("spread")) for b in e.get("by_length", [])}
        t, sd = e.get("test", {}), e.get("spread") or {}
        params = e.get("parameters")
        t90 = duration(e.get("time_to_90")) if e.get("time_to_90") is not None else "–"
        if e.get("time_to_90") is not None and sd.get("time_to_90") is not None:
            t90 += f"±{duration(sd['time_to_90'])}"
        rows.append([e["label"], str(e.get("year", "")), f"{params / 1e6:.2f}M" if params else "–",
                     _num(e.get("steps"), ","), plateau_cell(e), duration(e.get("train_seconds")), t90,
                     _num(e.get("tokens_per_s"), ",.0f"), _num(e.get("valid_ppl"), ".2f"),
                     _num(t.get("bleu"), ".2f", sd.get("bleu")), _num(t.get("chrf"), ".2f", sd.get("chrf")),
                     *[_num(by.get(b, (None, None))[0], ".2f", by.get(b, (None, None))[1]) for b in labels],
                     _num(t.get("decode_sent_s"), ",.1f")])
    return headers, rows


def caption(report: dict[str, Any]) -> str:
    """What the numbers were measured on, and the sacreBLEU signatures that reproduce them."""
    cap = (f"{report['steps']} steps" if report.get("steps") else
           f"{duration(report['budget_seconds'])} of training" if report.get("budget_seconds") else None)
    if report.get("total_seconds") and not report.get("steps"):
        cap = (f"an equal share of what was left of the campaign's {duration(report['total_seconds'])} "
               "(less the measured scoring time)" + (f", at most {cap}" if cap else ""))
    parts = [f"{report.get('test_set')} split of {report.get('corpus')} ({report.get('test_sentences')} sentences), "
             "greedy decoding"]
    seeds = report.get("seeds") or 1
    who = f"size {report.get('size')}, " + (f"seed {report.get('seed')}" if seeds == 1 else
                                            f"{seeds} seeds from {report.get('seed')}, mean ± standard deviation")
    if cap and report.get("patience"):
        parts.append(f"each trained until its validation BLEU ({report.get('valid_sentences')} sentences, every "
                     f"{report.get('eval_every')} steps) had not improved for {report['patience']} validations "
                     f"(plateau), or to its cap: {cap}; {who}")
    elif cap:
        parts.append(f"same budget for each: {cap}, {who}")
    if cap:
        parts.append(f"train time includes validation; to {FRACTION:.0%}: training time (validation excluded) "
                     f"until validation BLEU reached {FRACTION:.0%} of its best")
    counts = {b["bucket"]: b["sentences"] for e in report["architectures"][:1] for b in e.get("by_length", [])}
    if counts:
        parts.append("test sentences per length bucket: " + ", ".join(f"{k} words: {n}" for k, n in counts.items()))
    parts.append(f"BLEU {report.get('signature')}")
    parts.append(f"chrF {report.get('chrf_signature')}")
    return "; ".join(parts)


def _spreads(values: list[float | None]) -> list[float | None] | None:
    return values if any(v is not None for v in values) else None


def chart(report: dict[str, Any]) -> LineChart:
    """BLEU against source length, one line per entry; error bars (PNG) where seeds give a spread."""

    labels = buckets(report)
    series: dict[str, Sequence[float | None]] = {}
    errors: dict[str, Sequence[float | None]] = {}
    for e in report["architectures"]:
        by = {b["bucket"]: b for b in e.get("by_length", [])}
        series[e["label"]] = [by[b]["bleu"] if b in by else None for b in labels]
        spread = _spreads([by[b].get("spread") if b in by else None for b in labels])
        if spread:
            errors[e["label"]] = spread
    return LineChart(labels, series, title="test BLEU by source length", y_label="BLEU",
                     x_label="source sentence length (words)", errors=errors)


def curves_chart(report: dict[str, Any]) -> CurveChart:
    """Validation BLEU against training time, one line per entry (mean over seeds; error bars in the PNG)."""
    series: dict[str, list[tuple[float, float]]] = {}
    errors: dict[str, list[float]] = {}
    for e in report["architectures"]:
        curve = e.get("curve") or []
        if curve:
            series[e["label"]] = [(p["seconds"], p["bleu"]) for p in curve]
            if any(p.get("spread") is not None for p in curve):
                errors[e["label"]] = [p.get("spread") or 0.0 for p in curve]
    return CurveChart(series, title="validation BLEU against training time", y_label="BLEU",
                      x_label="training time (validation excluded)", errors=errors, x_format=_tick, height=15,
                      width=64)


def _tick(seconds: float) -> str:
    return "0" if seconds == 0 else duration(seconds)


MARKS = {BORNE_OUT: "✔", NOT_BORNE_OUT: "✘", INCONCLUSIVE: "≈"}


def verdict_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(verdict, line) per claim: `✔ borne out: <claim> — <evidence>`."""
    return [(v["verdict"], f"{MARKS.get(v['verdict'], '–')} {v['verdict']}: {v['statement']} — {v['evidence']}")
            for v in report.get("verdicts", [])]


def report_markdown(report: dict[str, Any]) -> str:
    """report.md: the table, its caption, both charts as text and the verdicts."""
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
        if any(e.get("curve") for e in report["architectures"]):
            lines += ["```", curves_chart(report).plain(), "```", ""]
    if report.get("verdicts"):
        lines += ["## The lecture notes' claims, judged", ""]
        lines += [f"- {line}" for _, line in verdict_lines(report)] + [""]
    return "\n".join(lines)


def evolution_rows(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The registry's history of every architecture, beside what `compare` measured (None if not).

    Each row also carries the verdict of the claim about that architecture (the first one a
    claim needs), so the history's "challenge" sits beside what the numbers said of it.
    """

    measured: dict[str, dict[str, Any]] = {}
    for e in (report or {}).get("architectures", []):
        measured.setdefault(e["arch"], e)  # the first run of an architecture speaks for it
    judged = {v["claim"]: v for v in (report or {}).get("verdicts", [])}
    about = {c.needs[0]: judged.get(c.key) for c in CLAIMS}
    rows = []
    for name, arch in REGISTRY.items():
        h, e = arch.history, measured.get(name)
        longest = (e or {}).get("by_length", [])[-1:] or [{}]
        verdict = about.get(name) or {}
        rows.append({"arch": name, "stage": h.stage, "year": h.year, "paper": h.paper, "key_idea": h.key_idea,
                     "features": h.features, "challenge": h.challenge, "next_fix": h.next_fix,
                     "bleu": (e or {}).get("test", {}).get("bleu"), "longest_bucket": longest[0].get("bucket"),
                     "bleu_longest": longest[0].get("bleu"), "tokens_per_s": (e or {}).get("tokens_per_s"),
                     "claim": verdict.get("statement"), "claim_key": verdict.get("claim"), "verdict": verdict.get("verdict"),
                     "evidence": verdict.get("evidence")})
    return rows
