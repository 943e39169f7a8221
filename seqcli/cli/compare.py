"""`seqcli compare` and `seqcli evolution`.

compare: train every chosen architecture with one budget (or score existing runs)
and print the evolution table and the BLEU-by-length chart; evolution: the
registry's history table beside the numbers of the latest compare report. The
campaign's progress display is in `campaign_progress`.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from seqcli.cli.campaign_progress import campaign_reporter
from seqcli.cli.common import (
    CORPUS_HELP,
    DATA,
    TRAINING,
    Device,
    Flag,
    Json,
    Precision,
    Src,
    TestSet,
    Tgt,
)
from seqcli.compare.plan import DEFAULTS, Plan, duration
from seqcli.models.catalog import SIZES
from seqcli.runs.defaults import TrainConfig

DEFAULT_OUT = DEFAULTS.out


def natural_width(console: Any, renderable: Any, limit: int = 10_000) -> int:
    """How wide a renderable wants to be, up to limit."""
    from rich.measure import Measurement

    return Measurement.get(console, console.options.update(max_width=limit), renderable).maximum


def print_wide(console: Any, renderable: Any, limit: int = 120) -> None:
    """Print a wrapping table at its natural width (up to limit) when stdout is a pipe, which has no width."""
    if not console.is_terminal:
        console.width = min(limit, max(console.width, natural_width(console, renderable, limit)))
    console.print(renderable)


def print_unwrapped(console: Any, table: Any) -> None:
    """Print a table of numbers whole: wider than the terminal rather than with a number cut."""
    width = console.width
    console.width = max(width, natural_width(console, table))  # print(width=...) cannot go wider
    try:
        console.print(table)
    finally:
        console.width = width


def _table(headers: list[str], rows: list[list[str]], columns: list[int], **kw: Any) -> Any:
    """A rich table of the chosen columns; numbers never wrap or get cut, headers may wrap."""
    from rich import box
    from rich.table import Table

    t = Table(box=box.SIMPLE_HEAD, **kw)
    for i in columns:
        name = headers[i].replace("BLEU ", "BLEU\n").replace(" ", "\n", 1) if i else headers[i]
        widest = max([len(r[i]) for r in rows] + [len(line) for line in name.splitlines()])
        t.add_column(name, justify="right" if i else "left", style=None if i else "bold", no_wrap=True,
                     min_width=widest)
    for r in rows:
        t.add_row(*(r[i] for i in columns))
    return t


def render_report(report: dict[str, Any]) -> None:
    """The evolution table (with its caption) and the BLEU-by-length chart on stdout.

    A terminal too narrow for the whole table gets it in two parts: the measures,
    then BLEU by length, so no number is ever cut.
    """
    from seqcli.compare.report import caption, chart, curves_chart, table
    from seqcli.views.render import stdout_console

    console = stdout_console()
    headers, rows = table(report)
    title = "The evolution, measured"
    whole = _table(headers, rows, list(range(len(headers))), title=title)
    if not console.is_terminal or natural_width(console, whole) <= console.width:
        print_unwrapped(console, whole)
    else:
        by_length = [i for i, h in enumerate(headers) if h.startswith("BLEU ")]
        measures = [i for i in range(len(headers)) if i not in by_length]
        print_unwrapped(console, _table(headers, rows, measures, title=title))
        print_unwrapped(console, _table(headers, rows, [0, *by_length], title="Test BLEU by source length (words)"))
    console.print(caption(report) + ".", markup=False, style="dim")
    for line in report.get("notes", []):
        console.print(f"note: {line}", markup=False)
    if rows:
        console.print()
        console.print(chart(report))
    if any(e.get("curve") for e in report["architectures"]):
        console.print()
        console.print(curves_chart(report))
    render_verdicts(console, report)


VERDICT_STYLES = {"borne out": "green", "not borne out": "red", "inconclusive": "yellow"}


def render_verdicts(console: Any, report: dict[str, Any]) -> None:
    """Each claim of the lecture notes with its evidence and verdict (rules: seqcli/compare/verdicts.py)."""
    from seqcli.compare.report import verdict_lines

    lines = verdict_lines(report)
    if not lines:
        return
    console.print()
    console.print("The lecture notes' claims, judged by these numbers", style="bold", markup=False)
    for verdict, line in lines:
        console.print(line, style=VERDICT_STYLES.get(verdict, "dim"), markup=False, soft_wrap=True)


def compare(
    runs: Annotated[list[Path] | None, typer.Argument(metavar="RUN_DIR", show_default=False, help="Score these runs as they are; no training.")] = None,
    archs: Annotated[str | None, typer.Option("--archs", "-a", metavar="LIST", help="all (default), or e.g. rnn,gru,transformer.")] = None,
    corpus: Annotated[str | None, typer.Option("--corpus", "-c", metavar="CORPUS", rich_help_panel=DATA, help=CORPUS_HELP)] = None,
    src: Src = None,
    tgt: Tgt = None,
    test_set: TestSet = None,
    total: Annotated[str | None, typer.Option("--total", metavar="DUR", rich_help_panel=TRAINING, help=f"Campaign time per seed, shared out as caps (default {duration(DEFAULTS.total)}).")] = None,
    budget: Annotated[str | None, typer.Option("--budget", metavar="DUR", rich_help_panel=TRAINING, help="A fixed cap per run instead, e.g. 90s, 2m.")] = None,
    steps: Annotated[int | None, typer.Option("--steps", min=1, metavar="N", rich_help_panel=TRAINING, help="Cap per run: N optimizer steps instead.")] = None,
    patience: Annotated[int | None, typer.Option("--patience", min=0, metavar="N", rich_help_panel=TRAINING, help=f"Plateau: N evals without gain; 0: to the cap (default {DEFAULTS.patience}).")] = None,
    eval_every: Annotated[int | None, typer.Option("--eval-every", min=1, metavar="N", rich_help_panel=TRAINING, help=f"Steps between validations (default {DEFAULTS.eval_every}).")] = None,
    valid_sentences: Annotated[int | None, typer.Option("--valid-sentences", min=1, metavar="N", rich_help_panel=TRAINING, help=f"Sentences per validation (default {DEFAULTS.valid_sentences}).")] = None,
    seeds: Annotated[int | None, typer.Option("--seeds", min=1, metavar="N", rich_help_panel=TRAINING, help=f"Runs per architecture (default {DEFAULTS.seeds}).")] = None,
    size: Annotated[str | None, typer.Option(metavar="SIZE", rich_help_panel=TRAINING, help=f"{' | '.join(SIZES)} (default {DEFAULTS.size}).")] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=TRAINING, help=f"First seed, the same for all (default {DEFAULTS.seed}).")] = None,
    vocab_size: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=DATA, help="Vocabulary per side (default: from corpus).")] = None,
    batch_tokens: Annotated[int | None, typer.Option(metavar="N", rich_help_panel=TRAINING, help=f"Tokens per batch (default {TrainConfig.batch_tokens}).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", metavar="DIR", help="Where the runs and the report go.")] = DEFAULTS.out,
    resume: Annotated[bool, typer.Option("--resume", metavar=Flag, help="Keep the runs in --out; train the rest.")] = False,
    force: Annotated[bool, typer.Option("--force", metavar=Flag, help="Retrain the runs already in --out.")] = False,
    device: Device = DEFAULTS.device,
    precision: Precision = DEFAULTS.precision,
    png: Annotated[Path | None, typer.Option("--png", metavar="FILE", help="Also draw BLEU by length into a PNG.")] = None,
    curves_png: Annotated[Path | None, typer.Option("--curves-png", metavar="FILE", help="Also draw the learning curves into a PNG.")] = None,
    json_out: Json = False,
) -> None:
    """Train all architectures alike; print the evolution, measured.

    Each trains with the same seeds, corpus and size until its validation BLEU
    stops improving (--patience) or it reaches its cap (a share of --total, or
    --budget, or --steps), and is scored on the test split (greedy): BLEU, chrF, BLEU by source length,
    decoding speed. The learning curves and the lecture notes' claims, each with
    its evidence and verdict, follow the table; with --seeds N, means ± sd. With
    RUN_DIRs, those runs are scored as they are (on --corpus's test split when
    given). PNGs need the plot extra.

    Examples:
      seqcli compare --archs rnn,gru,bahdanau --budget 2m
      seqcli compare runs/a runs/b --corpus aurora
    """
    options = dict(locals())  # every option by name: the first statement, so nothing else is in it
    from seqcli.compare.campaign import compare_runs, run_campaign
    from seqcli.core.errors import SeqcliError

    if budget and steps:
        raise SeqcliError("give --budget or --steps, not both")
    progress = campaign_reporter()
    if runs:
        _refuse_training_options(options)
        work = partial(compare_runs, runs, out, corpus, device, report=progress, precision=precision)
    else:
        work = partial(run_campaign, _plan(options), resume=resume, force=force, report=progress)
    try:
        report = work()
    finally:
        progress.end()  # also after an error or Ctrl-C, so the terminal gets its cursor back
    _show(report, out, png, curves_png, json_out)


# The options that only training uses (an option given is not None, or a flag set).
_TRAINING_ONLY = {"--archs": "archs", "--total": "total", "--budget": "budget", "--steps": "steps",
                  "--patience": "patience",
                  "--eval-every": "eval_every", "--valid-sentences": "valid_sentences", "--seeds": "seeds",
                  "--size": "size", "--seed": "seed", "--vocab-size": "vocab_size", "--batch-tokens": "batch_tokens",
                  "--src": "src", "--tgt": "tgt", "--test-set": "test_set", "--resume": "resume", "--force": "force"}


def _refuse_training_options(o: dict[str, Any]) -> None:
    """RUN_DIRs are scored as they are: an option that only training uses is an error."""
    from seqcli.core.errors import SeqcliError

    given = [flag for flag, name in _TRAINING_ONLY.items() if o[name] is not None and o[name] is not False]
    if given:
        raise SeqcliError(f"{', '.join(given)} apply when training; RUN_DIRs are scored as they are")


def _plan(o: dict[str, Any]) -> Plan:
    """The campaign the options ask for; what they leave out keeps the Plan's default."""
    from seqcli.compare.campaign import parse_archs
    from seqcli.runs.config import parse_duration

    flags = {k: o[k] for k in ("src", "tgt", "test_set", "vocab_size", "batch_tokens") if o[k] is not None}
    given = {k: o[k] for k in ("patience", "eval_every", "valid_sentences", "seeds", "seed", "size", "corpus")
             if o[k] is not None}
    # A --budget alone is a fixed cap per run; the campaign-wide --total applies unless it is given.
    total = parse_duration(o["total"]) if o["total"] else None if o["budget"] else DEFAULTS.total
    return Plan(archs=parse_archs(o["archs"]), out=o["out"], total=total,
                budget=parse_duration(o["budget"]) if o["budget"] else DEFAULTS.budget,
                steps=o["steps"], device=o["device"], precision=o["precision"], train_flags=flags, **given)


def _show(report: dict[str, Any], out: Path, png: Path | None, curves_png: Path | None, json_out: bool) -> None:
    """The report on stdout (JSON, or tables and charts) and where its files are; 130 if interrupted."""
    from seqcli.views.render import note

    charts = save_charts(report, png, curves_png)
    if json_out:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        render_report(report)
    note(f"report: {out / 'report.json'}, {out / 'report.md'}" + "".join(f", {c}" for c in charts))
    if not report.get("complete", True):
        note(f"interrupted; go on with: seqcli compare --resume --out {out} (and the same options)")
        raise typer.Exit(130)


def save_charts(report: dict[str, Any], png: Path | None, curves_png: Path | None) -> list[str]:
    """Draw the asked-for PNG charts (plot extra); say what was written."""
    from seqcli.compare.report import chart, curves_chart
    from seqcli.views.chart import save_png

    written = []
    if png:
        save_png(chart(report), png)
        written.append(f"chart: {png}")
    if curves_png:
        save_png(curves_chart(report), curves_png)
        written.append(f"learning curves: {curves_png}")
    return written


def evolution(
    report: Annotated[Path | None, typer.Option("--report", "-r", metavar="FILE", help=f"A compare report (default {DEFAULT_OUT / 'report.json'}).")] = None,
    json_out: Json = False,
) -> None:
    """Print the evolution table: history beside what compare measured.

    The history comes from the registry; the numbers from a compare report, when
    there is one.

    Examples:
      seqcli evolution
      seqcli evolution --report runs/compare-gpu/report.json --json
    """
    from rich.table import Table

    from seqcli.compare.report import REPORT_JSON, evolution_rows, load_report
    from seqcli.views.render import note, stdout_console

    path = report or DEFAULT_OUT / REPORT_JSON
    measured = load_report(path) if report or path.is_file() else None
    rows = evolution_rows(measured)
    if json_out:
        typer.echo(json.dumps({"report": str(path) if measured else None, "rows": rows}, ensure_ascii=False, indent=2))
        return
    longest = next((r["longest_bucket"] for r in rows if r["longest_bucket"]), "longest")
    t = Table(title="The evolution of sequence models", show_lines=True,
              caption=_evolution_caption(measured, path, longest), caption_justify="left")
    t.add_column("architecture", style="bold", min_width=12)
    for col in ("key features", "challenge it left", "what the next stage brought"):
        t.add_column(col, min_width=14)
    numbers = ("BLEU", f"BLEU\n{longest}", "train\ntok/s") if measured else ()
    for col in numbers:
        t.add_column(col, justify="right")
    if measured:
        t.add_column("claim\njudged", min_width=12)
    for r in rows:
        measures = (_cell(r["bleu"], ".2f"), _cell(r["bleu_longest"], ".2f"), _cell(r["tokens_per_s"], ",.0f"),
                    _verdict_cell(r))
        t.add_row(f"{r['stage']}\n{r['arch']}, {r['year']}", r["features"], r["challenge"], r["next_fix"],
                  *(measures if measured else ()))
    print_wide(stdout_console(), t)
    if measured is None:
        note(f"no compare report at {path}: run `seqcli compare` to fill in the measured columns")


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _verdict_cell(row: dict[str, Any]) -> Any:
    """The claim about this row's architecture and its verdict, coloured by the verdict."""
    from rich.text import Text

    if not row.get("verdict"):
        return ""
    return Text.assemble((row["verdict"], VERDICT_STYLES.get(row["verdict"], "dim")), "\n", (row["claim_key"], "dim"))


def _evolution_caption(report: dict[str, Any] | None, path: Path, longest: str | None) -> str:
    from seqcli.compare.report import caption

    if report is None:
        return "History from the registry (seqcli/models/registry.py); no measurements yet."
    return (f"History from the registry; numbers from {path}: " + caption(report)
            + (f"; longest length bucket: {longest} words" if longest else "")
            + "; claim judged: the lecture notes' claim about the row's architecture, judged by those numbers "
              "(`seqcli compare` prints each with its evidence; rules in seqcli/compare/verdicts.py)")
