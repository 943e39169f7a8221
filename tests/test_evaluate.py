"""The one evaluation path (`inference.evaluate`) and the one length bucketer behind it.

A tiny Transformer is trained for a few steps on a corpus whose test split fills
three length buckets, the last too small to stand alone, so the bucketer must merge
it; every consumer (training, `seqcli bleu`, `seqcli compare`) must then report the
same numbers for the same sentences. Nothing here checks that the model is good.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from seqcli.cli.app import main
from seqcli.compare.campaign import compare_runs
from seqcli.core.errors import SeqcliError
from seqcli.data.corpus import load_corpus
from seqcli.inference.evaluate import Evaluation, evaluate, evaluate_files, score
from seqcli.inference.metrics import MIN_BUCKET, bleu, chrf, ter
from seqcli.runs.directory import load_run
from seqcli.training.loop import TrainResult, train

# Test sentences per length bucket: 1-10 and 11-20 stand alone, 21-30 is merged into 11-20.
TEST_LENGTHS = [3 + i % 8 for i in range(12)] + [11 + i % 10 for i in range(11)] + [23, 25, 28]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, word_pairs: Any) -> Path:
    """A Moses-style directory (train, valid, test) with test sentences of 3 to 28 words."""
    pair = word_pairs.pair
    return word_pairs.moses(tmp_path_factory.mktemp("lengths"), {
        "train": [pair(1 + i % 14, i) for i in range(60)], "valid": [pair(2 + i, i) for i in range(4)],
        "test": [pair(n, i) for i, n in enumerate(TEST_LENGTHS)]})


@pytest.fixture(scope="module")
def trained(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """A tiny Transformer, 80 steps, with its test evaluation done by the training loop."""
    out = tmp_path_factory.mktemp("run") / "transformer"
    return train({"arch": "transformer", "size": "tiny", "corpus": str(corpus), "out": str(out), "steps": 80,
                  "batch_tokens": 400, "vocab_size": 120, "valid_bleu_sentences": 4, "seed": 3, "device": "cpu"})


def _test_pairs(corpus: Path) -> list[tuple[str, str]]:
    return list(load_corpus(str(corpus)).test)


def test_evaluate_a_run_is_deterministic_and_complete(trained: TrainResult, corpus: Path) -> None:
    pairs = _test_pairs(corpus)
    first, second = (evaluate(load_run(trained.run_dir), pairs) for _ in range(2))
    assert first.hypotheses == second.hypotheses and len(first.hypotheses) == len(pairs) == first.sentences
    assert (first.bleu, first.chrf, first.by_length) == (second.bleu, second.chrf, second.by_length)
    assert 0 <= first.bleu.score <= 100 and 0 <= first.chrf.score <= 100 and first.ter is None
    assert first.bleu.signature.startswith("nrefs:1|") and first.chrf.signature.startswith("nrefs:1|")
    assert first.words == sum(len(h.split()) for h in first.hypotheses)
    assert first.seconds > 0 and first.sentences_per_s > 0 and first.words_per_s >= 0
    assert [(b.label, b.sentences) for b in first.by_length] == [("1-10", 12), ("11+", 14)]
    assert first.bleu == bleu(first.hypotheses, [[t for _, t in pairs]])  # the same sacreBLEU call


def test_evaluate_a_run_directory_as_the_loaded_run(trained: TrainResult, corpus: Path) -> None:
    pairs = _test_pairs(corpus)
    by_path = evaluate(trained.run_dir, pairs, device="cpu", by_length=False)
    by_run = evaluate(load_run(trained.run_dir), pairs, by_length=False)
    assert by_path.hypotheses == by_run.hypotheses and by_path.bleu == by_run.bleu
    assert by_path.by_length == () == by_run.by_length


def test_evaluate_a_translator_function(word_pairs: Any) -> None:
    """Any function from sources to hypotheses is scored alike (a benchmark's reference model)."""
    pairs = [word_pairs.pair(n, i) for i, n in enumerate(TEST_LENGTHS)]
    lookup = dict(pairs)
    result = evaluate(lambda lines: [lookup[s] for s in lines], pairs, beam=5, with_ter=True)
    assert result.bleu.score == pytest.approx(100) and result.chrf.score == pytest.approx(100)
    assert result.ter is not None and result.ter.score == pytest.approx(0)
    assert [b.name for b in result.scores] == ["BLEU", "chrF", "TER"]
    assert all(b.bleu == pytest.approx(100) for b in result.by_length)
    assert result.hypotheses == tuple(t for _, t in pairs)


def test_score_and_summary() -> None:
    hyps, refs, srcs = ["a b c d", "e f"], ["a b c x", "e f"], ["1 2 3", "4 5"]
    result = score(hyps, [refs], srcs, with_ter=True, seconds=2.0)
    assert isinstance(result, Evaluation)
    assert (result.bleu, result.chrf, result.ter) == (bleu(hyps, [refs]), chrf(hyps, [refs]), ter(hyps, [refs]))
    assert result.words == 6 and result.words_per_s == 3.0 and result.sentences_per_s == 1.0
    assert [b.as_dict() for b in result.by_length] == [{"bucket": "1-10", "sentences": 2,
                                                        "bleu": round(result.bleu.score, 2)}]
    assert result.summary("test") == {
        "set": "test", "sentences": 2, "bleu": round(result.bleu.score, 2), "chrf": round(result.chrf.score, 2),
        "signature": result.bleu.signature, "chrf_signature": result.chrf.signature, "decode_sent_s": 1.0,
        "decode_words_s": 3.0}


def test_nothing_to_evaluate_is_an_error() -> None:
    with pytest.raises(SeqcliError, match="no sentence pairs"):
        evaluate(lambda lines: list(lines), [])


def test_training_records_the_evaluation_of_its_best_weights(trained: TrainResult, corpus: Path) -> None:
    expected = evaluate(load_run(trained.run_dir), _test_pairs(corpus), by_length=False).summary("test")
    speed = ("decode_sent_s", "decode_words_s")
    assert {k: v for k, v in trained.test.items() if k not in speed} == {
        k: v for k, v in expected.items() if k not in speed}
    assert all(trained.test[k] > 0 for k in speed)


def test_bleu_by_length_and_compare_give_identical_buckets(trained: TrainResult, corpus: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`seqcli bleu --model`, `seqcli bleu HYP REF --by-length --src` and compare bucket alike."""
    pairs = _test_pairs(corpus)
    report = compare_runs([trained.run_dir], tmp_path / "compare", device="cpu")
    entry = report["architectures"][0]
    from_compare = {b["bucket"]: (b["bleu"], b["sentences"]) for b in entry["by_length"]}

    with pytest.raises(SystemExit) as done:
        main(["bleu", "--model", str(trained.run_dir), "--device", "cpu", "--json"])
    assert done.value.code == 0
    cli = json.loads(capsys.readouterr().out)
    from_model = {k: (round(v, 2), n) for k, (v, n) in cli["by_length"].items()}

    hyp, ref, src = tmp_path / "hyp.fi", tmp_path / "ref.fi", tmp_path / "src.en"
    hyp.write_text("".join(h + "\n" for h in evaluate(load_run(trained.run_dir), pairs).hypotheses), encoding="utf-8")
    ref.write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    src.write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    files = evaluate_files(hyp, [ref], False, src, on_note=lambda _: None)
    from_files = {k: (round(v, 2), n) for k, (v, n) in files["by_length"].items()}

    assert from_compare == from_model == from_files
    assert list(from_compare) == ["1-10", "11+"] and from_compare["11+"][1] == 14 > MIN_BUCKET
    assert [s["score"] for s in cli["scores"]] == [entry["test"]["bleu"], entry["test"]["chrf"]]
