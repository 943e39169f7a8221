"""Learning curves from metrics.jsonl records, the seeds' means and spreads, and the numeric-x chart."""

from __future__ import annotations

from typing import Any

import pytest

from seqcli.compare.curves import (
    Point,
    learning_curve,
    mean_curve,
    mean_sd,
    time_to,
    time_to_fraction,
    training_clock,
)
from seqcli.compare.seeds import aggregate
from seqcli.views.chart import MARKERS, CurveChart


def _records(validation_cost: float = 0.0) -> list[dict[str, Any]]:
    """1 s per 50 steps of training, a validation every 100 steps costing `validation_cost` seconds."""
    out: list[dict[str, Any]] = []
    elapsed = 0.0
    for step in range(50, 401, 50):
        elapsed += 1.0
        if step - 50 in (100, 200, 300):  # the validation after step v lands in the next 50-step window
            elapsed += validation_cost
        out.append({"kind": "train", "step": step, "elapsed": elapsed})
        if step % 100 == 0:
            out.append({"kind": "valid", "step": step, "bleu": step / 10, "ppl": 2.0})
    return out


def test_curve_points_sit_at_each_validation_with_its_training_time() -> None:
    curve = learning_curve(_records())
    assert [(p.step, p.seconds, p.bleu) for p in curve] == [(100, 2.0, 10.0), (200, 4.0, 20.0), (300, 6.0, 30.0),
                                                            (400, 8.0, 40.0)]


def test_validation_time_is_taken_out_of_the_training_clock() -> None:
    slow, fast = learning_curve(_records(validation_cost=5.0)), learning_curve(_records())
    assert [p.seconds for p in slow] == pytest.approx([p.seconds for p in fast])
    clock = dict(training_clock(_records(validation_cost=5.0)))
    assert clock[400] == pytest.approx(8.0)


def test_a_resumed_run_keeps_the_last_record_of_a_replayed_step() -> None:
    records = _records() + [{"kind": "train", "step": 400, "elapsed": 9.0},
                            {"kind": "valid", "step": 400, "bleu": 41.0}]
    curve = learning_curve(records)
    assert curve[-1].bleu == 41.0 and [p.step for p in curve] == [100, 200, 300, 400]


def test_a_validation_between_records_is_interpolated_and_past_the_last_extrapolated() -> None:
    records = [{"kind": "train", "step": 50, "elapsed": 1.0}, {"kind": "train", "step": 100, "elapsed": 2.0},
               {"kind": "valid", "step": 75, "bleu": 1.0}, {"kind": "valid", "step": 130, "bleu": 2.0}]
    assert [p.seconds for p in learning_curve(records)] == pytest.approx([1.5, 2.6])
    assert learning_curve([{"kind": "summary", "step": 3}]) == []


def test_time_to_a_target_interpolates_between_validations() -> None:
    curve = [Point(100, 10.0, 20.0), Point(200, 20.0, 40.0), Point(300, 30.0, 50.0)]
    assert time_to(curve, 30.0) == pytest.approx(15.0)
    assert time_to(curve, 10.0) == pytest.approx(5.0)  # from 0 BLEU at 0 seconds
    assert time_to(curve, 60.0) is None
    assert time_to_fraction(curve) == pytest.approx(20.0 + 10.0 * 0.5)  # 45 = 90% of 50
    assert time_to_fraction([Point(1, 1.0, 0.0)]) is None and time_to_fraction([]) is None


def test_mean_and_spread_over_seeds() -> None:
    assert mean_sd([1.0, 3.0]) == (2.0, pytest.approx(2 ** 0.5))
    assert mean_sd([5.0, None]) == (5.0, None)  # one known value: no spread
    assert mean_sd([None]) == (None, None)
    merged = mean_curve([[{"step": 100, "seconds": 2.0, "bleu": 10.0}, {"step": 200, "seconds": 4.0, "bleu": 20.0}],
                         [{"step": 100, "seconds": 4.0, "bleu": 12.0}]])
    assert merged == [{"step": 100, "seconds": 3.0, "bleu": 11.0, "spread": 1.41, "seeds": 2},
                      {"step": 200, "seconds": 4.0, "bleu": 20.0, "spread": None, "seeds": 1}]


def _seed(bleu: float, stopped: str, seed: int) -> dict[str, Any]:
    return {"arch": "gru", "label": "gru", "run": f"r/gru-seed{seed}", "seed": seed, "steps": 100 * seed,
            "stopped": stopped, "plateaued": stopped == "early stopping", "train_seconds": 10.0 * seed,
            "tokens_per_s": 1000.0, "time_to_90": 5.0, "best_valid_bleu": bleu,
            "test": {"bleu": bleu, "chrf": 2 * bleu, "signature": "sig", "decode_sent_s": 10.0},
            "by_length": [{"bucket": "1-10", "sentences": 5, "bleu": bleu}],
            "curve": [{"step": 100, "seconds": 1.0, "bleu": bleu}]}


def test_aggregate_keeps_the_seeds_and_gives_means_and_spreads() -> None:
    entry = aggregate([_seed(10.0, "early stopping", 1), _seed(14.0, "time", 2)])
    assert entry["test"]["bleu"] == 12.0 and entry["test"]["signature"] == "sig"
    assert entry["spread"]["bleu"] == pytest.approx(2.83, abs=0.01) and entry["spread"]["time_to_90"] == 0.0
    assert entry["by_length"] == [{"bucket": "1-10", "sentences": 5, "bleu": 12.0, "spread": pytest.approx(2.83, abs=0.01)}]
    assert (entry["plateaued"], entry["stopped"], entry["steps"], entry["run"]) == (1, "mixed", 150, "r/gru-seed1")
    assert [s["seed"] for s in entry["seeds"]] == [1, 2] and entry["curve"][0]["bleu"] == 12.0
    single = aggregate([_seed(10.0, "time", 1)])
    assert single["spread"]["bleu"] is None and single["plateaued"] == 0 and single["stopped"] == "time"


def test_curve_chart_places_points_by_their_x_value() -> None:
    chart = CurveChart({"a": [(0.0, 0.0), (60.0, 10.0)], "b": [(30.0, 5.0)]}, width=61, height=11,
                       x_format=lambda x: f"{x:.0f}s", ticks=2)
    g = chart.geometry()
    assert (g.right, g.step, g.top) == (60.0, 30.0, 10.0)
    grid = chart.grid()
    assert grid[0][60] == (MARKERS[0], 0) and grid[10][0] == (MARKERS[0], 0) and grid[5][30][0] == MARKERS[1]
    text = chart.plain()
    assert "0s" in text and "30s" in text and "60s" in text and "● a" in text
    with pytest.raises(ValueError, match="1 errors for 2 points"):
        CurveChart({"a": [(0.0, 0.0), (1.0, 1.0)]}, errors={"a": [1.0]})


def test_both_charts_draw_as_png_with_error_bars(tmp_path: Any) -> None:
    pytest.importorskip("matplotlib")
    from seqcli.compare.report import chart, curves_chart
    from seqcli.views.chart import save_png

    entry = aggregate([_seed(10.0, "time", 1), _seed(14.0, "time", 2)])
    report = {"architectures": [entry]}
    assert chart(report).errors == {"gru": [pytest.approx(2.83, abs=0.01)]}
    assert curves_chart(report).errors == {"gru": [pytest.approx(2.83, abs=0.01)]}
    for name, drawn in (("by_length.png", chart(report)), ("curves.png", curves_chart(report))):
        save_png(drawn, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
