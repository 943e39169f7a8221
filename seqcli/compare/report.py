"""The campaign's report: report.json (+ report.md), its table, caption, chart and evolution rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqcli.compare.plan import duration
from seqcli.core.errors import SeqcliError
from seqcli.core.files import write_json, write_text
from seqcli.models.registry import REGISTRY
from seqcli.views.chart import LineChart

if TYPE_CHECKING:
    pass


REPORT_JSON, REPORT_MD = "report.json", "report.md"


REPORT_FORMAT = 1


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
    """BLEU against source length, one line per entry, as a `seqcli.views.chart.LineChart`."""

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
