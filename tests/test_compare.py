"""`seqcli compare` / `seqcli evolution`: the campaign engine, the report, the chart, the CLI.

One real campaign (three architectures, two steps each, on a corpus written to a
temp dir) is shared by the engine tests; they check the report's structure and that
every requested architecture appears, never that one beats another. The CLI tests
patch the engine (STYLE.md, point 12).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import seqcli.compare.campaign as campaign_module
import seqcli.compare.report as report_module
import seqcli.training.loop
from seqcli.cli.app import main
from seqcli.cli.campaign_progress import campaign_eta
from seqcli.compare.campaign import compare_runs, parse_archs, run_campaign
from seqcli.compare.plan import DEFAULTS, FINISH, MIN_SHARE, Campaign, Plan, duration
from seqcli.compare.report import (
    REPORT_JSON,
    REPORT_MD,
    build_report,
    evolution_rows,
    load_report,
    table,
)
from seqcli.compare.verdicts import CLAIMS
from seqcli.core.errors import SeqcliError
from seqcli.inference.metrics import length_groups
from seqcli.models.registry import REGISTRY
from seqcli.runs.directory import load_run
from seqcli.views.chart import ASCII_SHARED, DOT, MARKERS, SHARED, LineChart, nice_top

ARCHS = ["ann", "bahdanau", "transformer"]  # one per family the campaign must not tell apart


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, word_pairs: Any) -> Path:
    """A Moses-style directory whose test split fills two length buckets (1-10: 13, 11-20: 11 sentences)."""
    pair = word_pairs.pair
    return word_pairs.moses(tmp_path_factory.mktemp("micro"), {
        "train": [pair(1 + i % 12, i) for i in range(40)], "valid": [pair(2 + i, i) for i in range(3)],
        "test": [pair(1 + (i * 7) % 20, i) for i in range(24)]})


class Recorder(Campaign):
    """Records the campaign's events, to check what a progress display is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def begin(self, names: list[str], budget: float | None, steps: int | None) -> None:
        self.events.append(("begin", (list(names), budget, steps)))

    def arch_start(self, name: str) -> None:
        self.events.append(("arch_start", name))

    def update(self, step: int, **fields: Any) -> None:
        self.events.append(("update", step))

    def arch_done(self, name: str, seconds: float, reused: bool) -> None:
        self.events.append(("arch_done", (name, reused)))

    def end(self) -> None:
        self.events.append(("end", None))


def _plan(corpus: Path, out: Path, archs: list[str] = ARCHS) -> Plan:
    return Plan(archs=archs, out=out, corpus=str(corpus), size="tiny", steps=2, device="cpu",
                train_flags={"vocab_size": 120, "valid_bleu_sentences": 3})


@pytest.fixture(scope="module")
def campaign(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, dict[str, Any], Recorder]:
    plan = _plan(corpus, tmp_path_factory.mktemp("compare") / "out")
    recorder = Recorder()
    return plan, run_campaign(plan, report=recorder), recorder


# ---- the campaign, for real ---------------------------------------------------------


def test_report_lists_every_requested_architecture_in_order(campaign: tuple[Plan, dict[str, Any], Recorder]) -> None:
    plan, report, _ = campaign
    assert [e["arch"] for e in report["architectures"]] == ARCHS
    assert report["complete"] and report["mode"] == "train" and report["steps"] == 2
    assert json.loads((plan.out / REPORT_JSON).read_text(encoding="utf-8")) == report
    md = (plan.out / REPORT_MD).read_text(encoding="utf-8")
    for name in ARCHS:
        assert f"| {name} |" in md
    assert report["signature"] in md and "```" in md  # caption and chart


def test_each_entry_is_measured_on_the_whole_test_split(campaign: tuple[Plan, dict[str, Any], Recorder],
                                                        corpus: Path) -> None:
    plan, report, _ = campaign
    n_test = len((corpus / "test.en").read_text(encoding="utf-8").splitlines())
    for e in report["architectures"]:
        assert e["steps"] == 2 and e["stopped"] == "steps"
        assert e["parameters"] == load_run(plan.out / e["arch"]).model.num_parameters() > 0
        assert e["year"] == REGISTRY[e["arch"]].history.year
        assert e["train_seconds"] > 0 and e["tokens_per_s"] > 0 and e["valid_ppl"] > 1
        test = e["test"]
        assert test["sentences"] == n_test and 0 <= test["bleu"] <= 100 and 0 <= test["chrf"] <= 100
        assert test["signature"].startswith("nrefs:1|") and test["decode_sent_s"] > 0
        buckets = [b["bucket"] for b in e["by_length"]]
        assert buckets == report_module.buckets(report) == ["1-10", "11-20"]
        assert sum(b["sentences"] for b in e["by_length"]) == n_test


def test_progress_display_hears_every_stage(campaign: tuple[Plan, dict[str, Any], Recorder]) -> None:
    _, _, recorder = campaign
    kinds = [k for k, _ in recorder.events]
    assert recorder.events[0] == ("begin", (ARCHS, None, 2)) and kinds[-1] == "end"
    assert [v for k, v in recorder.events if k == "arch_start"] == ARCHS
    assert [v for k, v in recorder.events if k == "arch_done"] == [(a, False) for a in ARCHS]
    for a in ARCHS:  # the architecture's own progress arrives between its start and its end
        start, done = recorder.events.index(("arch_start", a)), recorder.events.index(("arch_done", (a, False)))
        assert ("update", 2) in recorder.events[start:done]


def test_existing_runs_need_resume_or_force(campaign: tuple[Plan, dict[str, Any], Recorder]) -> None:
    plan, _, _ = campaign
    with pytest.raises(SeqcliError, match="ann, bahdanau, transformer.*--resume"):
        run_campaign(plan)
    with pytest.raises(SeqcliError, match="not both"):
        run_campaign(plan, resume=True, force=True)


def test_resume_keeps_trained_architectures_and_trains_the_missing_one(
        campaign: tuple[Plan, dict[str, Any], Recorder], corpus: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    plan, report, _ = campaign
    out = tmp_path / "out"
    shutil.copytree(plan.out, out)
    shutil.rmtree(out / "ann")
    trained: list[str] = []
    real_train = seqcli.training.loop.train

    def spy(flags: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        trained.append(flags["arch"])
        return real_train(flags, *args, **kwargs)

    monkeypatch.setattr(campaign_module, "train", spy)
    again = run_campaign(_plan(corpus, out), resume=True)
    assert trained == ["ann"]
    assert [e["arch"] for e in again["architectures"]] == ARCHS
    # The kept architectures were not scored again: their entries are the earlier ones.
    earlier = {e["arch"]: e["test"] for e in json.loads((plan.out / REPORT_JSON).read_text())["architectures"]}
    assert again["architectures"][1]["test"] == earlier["bahdanau"]


def test_interrupted_campaign_writes_an_incomplete_report(corpus: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(flags: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return seqcli.training.loop.TrainResult(Path(flags["out"]), 0, "interrupted", 0.0, 0.0)

    monkeypatch.setattr(campaign_module, "train", interrupted)
    report = run_campaign(_plan(corpus, tmp_path / "out"))
    assert not report["complete"] and report["architectures"] == []
    assert "Incomplete" in (tmp_path / "out" / REPORT_MD).read_text(encoding="utf-8")


def test_compare_existing_runs_scores_them_on_one_test_set(campaign: tuple[Plan, dict[str, Any], Recorder],
                                                           tmp_path: Path) -> None:
    plan, trained, _ = campaign
    dirs = [plan.out / "transformer", plan.out / "ann", plan.out / "ann" / ".." / "transformer"]
    report = compare_runs(dirs, tmp_path / "cmp", device="cpu")
    assert report["mode"] == "runs" and report["notes"] == []
    assert [e["arch"] for e in report["architectures"]] == ["transformer", "ann"]  # each run once
    # Greedy decoding is deterministic: the same run scores what the campaign measured.
    assert report["architectures"][1]["test"]["bleu"] == trained["architectures"][0]["test"]["bleu"]
    assert load_report(tmp_path / "cmp" / REPORT_JSON)["architectures"] == report["architectures"]


def test_a_budget_run_records_its_curve_and_that_it_hit_the_cap(campaign: tuple[Plan, dict[str, Any], Recorder]) -> None:
    _, report, _ = campaign
    assert [v["claim"] for v in report["verdicts"]] == [c.key for c in CLAIMS]
    for e in report["architectures"]:
        assert e["plateaued"] == 0 and len(e["seeds"]) == 1 and e["seeds"][0]["seed"] == 1
        assert [p["step"] for p in e["curve"]] == [2] and e["best_valid_bleu"] == e["curve"][0]["bleu"]
    assert {row[table(report)[0].index("plateau")] for row in table(report)[1]} == {"no, cap"}


@pytest.fixture(scope="module")
def plateaued(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, dict[str, Any], Recorder]:
    """gru twice (two seeds) with a learning rate too small to move a weight: BLEU never improves,
    so both runs plateau after `patience` validations, well before the cap."""
    plan = Plan(archs=["gru"], out=tmp_path_factory.mktemp("plateau") / "out", corpus=str(corpus), size="tiny",
                steps=20, patience=2, eval_every=1, seeds=2, seed=3, device="cpu",
                train_flags={"vocab_size": 120, "valid_bleu_sentences": 3, "lr": 1e-30})
    recorder = Recorder()
    return plan, run_campaign(plan, report=recorder), recorder


def test_plateau_and_seeds_are_recorded(plateaued: tuple[Plan, dict[str, Any], Recorder]) -> None:
    plan, report, recorder = plateaued
    assert (report["seeds"], report["patience"], report["eval_every"]) == (2, 2, 1)
    [entry] = report["architectures"]
    assert [s["run"] for s in entry["seeds"]] == [str(plan.out / "gru"), str(plan.out / "gru-seed4")]
    assert [s["seed"] for s in entry["seeds"]] == [3, 4]
    for seed in entry["seeds"]:
        assert seed["stopped"] == "early stopping" and seed["plateaued"] and seed["steps"] == 3
        assert [p["step"] for p in seed["curve"]] == [1, 2, 3]
    assert entry["plateaued"] == 2 and entry["spread"]["bleu"] is not None
    assert table(report)[1][0][table(report)[0].index("plateau")] == "2/2"
    assert [v for k, v in recorder.events if k == "arch_start"] == ["gru seed 3", "gru seed 4"]


def test_resume_keeps_every_seed(plateaued: tuple[Plan, dict[str, Any], Recorder],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    plan, report, _ = plateaued
    monkeypatch.setattr(campaign_module, "train", lambda *a, **k: pytest.fail("nothing is left to train"))
    again = run_campaign(plan, resume=True)
    assert again["architectures"][0]["seeds"] == report["architectures"][0]["seeds"]


def test_a_format_1_report_is_read_as_single_seeds(tmp_path: Path) -> None:
    old = _report()  # its entries have the format 1 fields only
    old["format"] = 1
    del old["verdicts"]
    (tmp_path / "r.json").write_text(json.dumps(old), encoding="utf-8")
    report = load_report(tmp_path / "r.json")
    assert report["format"] == report_module.REPORT_FORMAT and len(report["verdicts"]) == len(CLAIMS)
    assert [len(e["seeds"]) for e in report["architectures"]] == [1, 1]
    assert table(report)[1][1][table(report)[0].index("BLEU")] == "21.50"


# ---- pure parts ----------------------------------------------------------------------


def test_parse_archs() -> None:
    assert parse_archs(None) == parse_archs("all") == list(REGISTRY)
    assert parse_archs(" gru,transformer, gru ") == ["gru", "transformer"]
    with pytest.raises(SeqcliError, match="did you mean 'gru'"):
        parse_archs("gru,grux")
    with pytest.raises(SeqcliError, match="empty"):
        parse_archs(" , ")


@given(st.lists(st.integers(1, 70), max_size=80), st.integers(1, 15))
def test_length_groups_partition_sentences_by_length(lengths: list[int], minimum: int) -> None:
    srcs = ["w " * n for n in lengths]
    groups = length_groups(srcs, min_sentences=minimum)
    assert sorted(i for _, idx in groups for i in idx) == list(range(len(srcs)))
    lows = [int(label.split("-")[0].rstrip("+")) for label, _ in groups]
    assert lows == sorted(set(lows))
    for k, (label, idx) in enumerate(groups):
        for i in idx:
            assert lengths[i] >= lows[k]
            if "+" not in label:
                assert lengths[i] <= int(label.split("-")[1])
    if len(groups) > 1:
        assert len(groups[-1][1]) >= minimum  # only a lone group may stay small


def test_the_campaign_time_is_shared_out_among_the_runs_left() -> None:
    plan = Plan(archs=["a", "b", "c"], total=300.0)
    assert plan.share(3, 0.0, 20.0) == pytest.approx((300 - FINISH) / 3 - 20)
    assert plan.share(2, 60.0, 20.0) == pytest.approx((300 - FINISH - 60) / 2 - 20)  # the first plateaued early: more for the rest
    assert plan.share(1, 299.0, 20.0) == MIN_SHARE
    assert Plan(total=300.0, seeds=2).share(6, 0.0, 0.0) == pytest.approx((600 - FINISH) / 6)  # the total is per seed
    assert Plan(total=300.0, budget=50.0).share(3, 0.0, 20.0) == 50.0  # a budget caps the share
    assert Plan(total=None, budget=50.0).share(3, 0.0, 20.0) == 50.0 and Plan(steps=10).share(3, 0.0, 0.0) is None
    assert Plan().flags("gru", cap=42.0)["time_budget"] == 42.0 and Plan(steps=10).flags("gru", cap=42.0)["time_budget"] is None


def test_campaign_eta() -> None:
    assert campaign_eta([], 3, 5.0, None) is None
    assert campaign_eta([], 2, 10.0, 0.25) == pytest.approx(30 + 40 * 2)  # this arch extrapolated
    assert campaign_eta([100.0, 200.0], 2, 50.0, 0.9) == pytest.approx(100 + 150 * 2)  # finished ones rule
    assert campaign_eta([100.0], 0, 400.0, 0.5) == 0.0


def test_duration() -> None:
    assert [duration(s) for s in (None, 4.4, 90, 3725)] == ["–", "4s", "1m30s", "1h02m"]


def _entry(arch: str, bleu: float, buckets: dict[str, float], run: str = "") -> dict[str, Any]:
    return {"arch": arch, "year": REGISTRY[arch].history.year, "run": run or f"runs/{arch}", "parameters": 1_500_000,
            "steps": 10, "train_seconds": 95.0, "tokens_per_s": 1234.5, "valid_ppl": 12.3,
            "test": {"set": "test", "sentences": 30, "bleu": bleu, "chrf": 40.0, "signature": "nrefs:1|sig",
                     "chrf_signature": "nrefs:1|chrf", "decode_sent_s": 9.5},
            "by_length": [{"bucket": k, "sentences": 10, "bleu": v} for k, v in buckets.items()]}


def _report() -> dict[str, Any]:
    entries = [_entry("gru", 11.0, {"1-10": 14.0, "11-20": 9.0, "21+": 4.0}),
               _entry("transformer", 21.5, {"1-10": 24.0, "11-20": 21.0, "21+": 17.25})]
    return build_report({"mode": "train", "corpus": "aurora", "size": "small", "budget_seconds": 90.0,
                         "steps": None, "seed": 1}, "test", entries, 10.0, True)


def test_the_same_architecture_twice_is_told_apart_by_its_directory() -> None:
    entries = [_entry("gru", 1.0, {}, "runs/a/gru"), _entry("ann", 1.0, {}), _entry("gru", 2.0, {}, "runs/b/gru")]
    report = build_report({"mode": "runs"}, "test", entries, 1.0, True)
    assert [e["label"] for e in report["architectures"]] == ["gru (runs/a/gru)", "ann", "gru (runs/b/gru)"]


def test_table_has_one_row_per_run_and_one_column_per_bucket() -> None:
    headers, rows = table(_report())
    assert headers[-4:-1] == ["BLEU 1-10", "BLEU 11-20", "BLEU 21+"]
    assert [r[0] for r in rows] == ["gru", "transformer"]
    assert rows[1][headers.index("BLEU")] == "21.50" and rows[1][headers.index("BLEU 21+")] == "17.25"
    assert rows[0][headers.index("params")] == "1.50M" and rows[0][headers.index("train time")] == "1m35s"
    assert "1m30s of training" in report_module.caption(_report()) and "nrefs:1|sig" in report_module.caption(_report())


def test_evolution_rows_put_history_beside_the_measurements() -> None:
    rows = evolution_rows(_report())
    assert [r["arch"] for r in rows] == list(REGISTRY)
    for r in rows:
        h = REGISTRY[r["arch"]].history
        assert (r["stage"], r["features"], r["challenge"], r["next_fix"]) == (h.stage, h.features, h.challenge,
                                                                              h.next_fix)
    by = {r["arch"]: r for r in rows}
    assert (by["transformer"]["bleu"], by["transformer"]["bleu_longest"], by["transformer"]["longest_bucket"]) == \
        (21.5, 17.25, "21+")
    assert by["ann"]["bleu"] is None and by["ann"]["tokens_per_s"] is None
    assert all(r["bleu"] is None for r in evolution_rows(None))


def test_load_report_rejects_what_is_not_a_report(tmp_path: Path) -> None:
    cases = {"missing.json": None, "bad.json": "{", "other.json": "[1, 2]",
             "newer.json": json.dumps({"format": 99, "architectures": []})}
    for name, text in cases.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        with pytest.raises(SeqcliError, match=r"no compare report|not valid JSON|not a seqcli|newer"):
            load_report(tmp_path / name)


# ---- the chart -------------------------------------------------------------------------


def test_nice_top_is_a_round_bound_at_most_twice_the_value() -> None:
    for v in (0.013, 0.9, 1.0, 3.2, 17.0, 26.0, 99.0):
        assert v <= nice_top(v) <= 2 * v
    assert nice_top(0.0) == 1.0


def test_chart_places_markers_by_value_and_marks_shared_points() -> None:
    chart = LineChart(["1-10", "11-20", "21+"], {"a": [10.0, 5.0, 0.0], "b": [10.0, None, 2.0]}, height=11)
    grid = chart.grid()
    g = chart.geometry()
    assert g.top == 10.0
    assert grid[0][g.col(0)][0] == SHARED  # both series at 10 on the same cell
    assert grid[5][g.col(1)] == (MARKERS[0], 0)  # 5 of 10: the middle row
    assert grid[10][g.col(2)] == (MARKERS[0], 0) and grid[8][g.col(2)] == (MARKERS[1], 1)
    # b has no point at 11-20, only its segment from 10 down to 2 passing through (row 4).
    marks = [(r, row[g.col(1)][0]) for r, row in enumerate(grid) if row[g.col(1)][0] in MARKERS + SHARED]
    assert marks == [(5, MARKERS[0])] and grid[4][g.col(1)] == (DOT, 1)
    text = chart.plain()
    assert "● a" in text and "■ b" in text and "several" in text
    assert all(ord(c) < 128 for c in chart.plain(ascii_only=True)) and ASCII_SHARED in chart.plain(ascii_only=True)


def test_chart_colour_only_where_the_console_has_it() -> None:
    chart = LineChart(["x", "y"], {"a": [1.0, 2.0]})
    for colour in (True, False):
        out = io.StringIO()
        Console(file=out, force_terminal=colour, color_system="standard" if colour else None, width=80).print(chart)
        assert ("\x1b[" in out.getvalue()) is colour
    with pytest.raises(ValueError, match="2 x labels"):
        LineChart(["x", "y"], {"a": [1.0]})


# ---- the command line (engine patched) ----------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SEQCLI_DEBUG", raising=False)
    code: int | str | None = 0
    try:
        main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


def test_compare_command_builds_the_plan_and_prints_table_and_chart(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(plan: Plan, **kwargs: Any) -> dict[str, Any]:
        seen.update(plan=plan, **kwargs)
        return _report()

    monkeypatch.setattr(campaign_module, "run_campaign", fake)
    code, out, err = _cli(["compare", "--archs", "gru,transformer", "--budget", "90s", "--size", "tiny",
                           "--vocab-size", "500", "--out", str(tmp_path), "--resume"], capsys, monkeypatch)
    assert code == 0, err
    plan = seen["plan"]
    assert (plan.archs, plan.budget, plan.steps, plan.size, plan.corpus) == (["gru", "transformer"], 90.0, None,
                                                                             "tiny", "aurora")
    assert plan.total is None  # --budget alone: a fixed cap per run, no shared campaign time
    assert plan.train_flags == {"vocab_size": 500} and seen["resume"] and not seen["force"]
    assert "transformer" in out and "21.50" in out and "BLEU 11-20" not in out  # headers split over lines
    assert "test BLEU by source length" in out and "source sentence length" in out
    assert str(tmp_path / "report.json") in err


def test_compare_command_passes_plateau_and_seed_options_and_prints_the_verdicts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(plan: Plan, **kwargs: Any) -> dict[str, Any]:
        seen["plan"] = plan
        return _report()

    monkeypatch.setattr(campaign_module, "run_campaign", fake)
    code, out, err = _cli(["compare", "--seeds", "3", "--patience", "0", "--eval-every", "100", "--valid-sentences",
                           "50", "--steps", "900", "--out", str(tmp_path)], capsys, monkeypatch)
    assert code == 0, err
    plan = seen["plan"]
    assert (plan.seeds, plan.patience, plan.eval_every, plan.valid_sentences, plan.steps) == (3, 0, 100, 50, 900)
    assert plan.total == DEFAULTS.total and plan.size == DEFAULTS.size  # defaults from the one Plan
    assert "The lecture notes' claims, judged" in out
    assert "inconclusive: The Transformer trains faster" in out and "not measured: A plain RNN forgets" in out
    code, _, err = _cli(["compare", "runs/x", "--seeds", "2"], capsys, monkeypatch)
    assert code == 1 and "--seeds apply when training" in err


@pytest.mark.parametrize("argv, message", [
    (["compare", "--budget", "1m", "--steps", "5"], "--budget or --steps"),
    (["compare", "runs/x", "--steps", "5"], "--steps apply when training"),
    (["compare", "--archs", "tranformer"], "did you mean 'transformer'"),
])
def test_compare_command_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _cli(argv, capsys, monkeypatch)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_evolution_command_with_and_without_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no runs/compare/report.json here
    code, out, err = _cli(["evolution"], capsys, monkeypatch)
    assert code == 0 and "Transformer" in out and "vanishing" in out and "21.50" not in out
    assert "no compare report" in err
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_report()))
    code, out, _ = _cli(["evolution", "--report", str(path)], capsys, monkeypatch)
    assert code == 0 and "21.50" in out and "17.25" in out and "1,234" in out
    assert "inconclusive" in out and "not measured" in out and "bottleneck" in out
    code, out, _ = _cli(["evolution", "--report", str(path), "--json"], capsys, monkeypatch)
    rows = json.loads(out)["rows"]
    assert code == 0 and [r["arch"] for r in rows] == list(REGISTRY)
    code, _, err = _cli(["evolution", "--report", str(tmp_path / "missing.json")], capsys, monkeypatch)
    assert code == 1 and "no compare report" in err


def test_a_narrow_terminal_gets_the_table_in_two_parts_with_no_number_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    import seqcli.views.render
    from seqcli.cli.compare import render_report

    report = _report()
    for width in (80, 30):  # 30: too narrow even for half the table; still nothing is cut
        out = io.StringIO()
        monkeypatch.setattr(seqcli.views.render, "stdout_console",
                            lambda o=out, w=width: Console(file=o, force_terminal=True, width=w, color_system=None))
        render_report(report)
        text = out.getvalue()
        assert "…" not in text and "Test BLEU by source length" in text
        for row in table(report)[1]:
            for cell in row:
                assert cell in text


def test_png_needs_the_plot_extra(tmp_path: Path) -> None:
    from seqcli.views.chart import save_png

    chart = report_module.chart(_report())
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(SeqcliError, match=r"seqcli\[plot\]"):
            save_png(chart, tmp_path / "c.png")
        return
    save_png(chart, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_plain_progress_names_the_architecture_its_progress_and_the_rest(capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from seqcli.cli.campaign_progress import PlainCampaign

    monkeypatch.setenv("NO_COLOR", "1")
    p = PlainCampaign(every=0.0)
    p.begin(["ann", "gru"], None, 10)
    p.arch_start("ann")
    p.start(10, None)
    p.update(5, loss=2.5, tgt_tok_s=1000.0)
    assert p.fraction() == 0.5
    p.phase("scoring 30 test sentences")
    p.arch_done("ann", 61.0, False)
    p.arch_start("gru")
    err = capsys.readouterr().err
    assert "[1/2] ann" in err and "step 5  loss 2.500  1,000 tgt tok/s" in err and "scoring 30" in err
    assert "ann: done in 1m01s" in err and "[2/2] gru · rest of campaign ~1m01s" in err
