"""`seqcli translate` and `seqcli bleu --model` on a tiny trained run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from seqcli.cli.app import main
from seqcli.training.loop import train


@pytest.fixture(scope="module")
def run(tiny_tsv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("translate") / "runs" / "transformer"
    train({"arch": "transformer", "size": "tiny", "corpus": str(tiny_tsv), "out": str(out), "steps": 30,
           "batch_tokens": 600, "eval_every": 1000, "valid_bleu_sentences": 0, "lr": 5.0, "warmup": 10},
          evaluate_test=False)
    return out


def cli(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        stdin: bytes | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        import io
        import sys

        fake = io.TextIOWrapper(io.BytesIO(stdin))
        monkeypatch.setattr(sys, "stdin", fake)
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


SENTENCES = ["The cat sees the dog.", "The bird follows the student.", "", "The tourist hears the cat."]


def test_stdin_and_arguments_agree(run: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, piped, _ = cli(["translate", "-m", str(run), "--device", "cpu"], capsys, monkeypatch,
                         stdin="\n".join(SENTENCES).encode() + b"\n")
    assert code == 0
    lines = piped.split("\n")[:-1]
    assert len(lines) == len(SENTENCES) and lines[2] == ""
    for sentence, expected in zip(SENTENCES, lines, strict=True):
        if sentence:
            _, alone, _ = cli(["translate", "-m", str(run), sentence], capsys, monkeypatch)
            assert alone == expected + "\n"


def test_input_file_and_nbest(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_text("\n".join(SENTENCES))  # no final newline: still four lines
    code, out, _ = cli(["translate", "-m", str(run), "--input", str(src), "--beam", "3", "--n-best", "3"],
                       capsys, monkeypatch)
    assert code == 0
    rows = out.split("\n")[:-1]
    assert len(rows) == 4
    fields = rows[0].split("\t")
    assert len(fields) == 6  # three (translation, score) pairs
    scores = [float(s) for s in fields[1::2]]
    assert scores == sorted(scores, reverse=True)


def test_batch_size_sets_sentences_per_batch(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--batch-size N decodes N sentences at a time; the batches never change a translation."""
    from seqcli.inference.decode import translate
    from seqcli.runs.directory import load_run

    lines = SENTENCES + ["The student sees the bird.", "The dog follows the tourist."]
    loaded = load_run(run, device="cpu")
    sizes: list[int] = []
    by_three = translate(loaded, lines, beam=2, batch_size=3, on_batch=sizes.append)
    assert sizes == [3, 2]  # the empty line needs no batch
    assert [t.text for t in by_three] == [t.text for t in translate(loaded, lines, beam=2)]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(lines) + "\n")
    outputs = [cli(["translate", "-m", str(run), "--input", str(src), "--beam", "2", *extra], capsys, monkeypatch)
               for extra in ([], ["--batch-size", "1"])]
    assert outputs[0][0] == outputs[1][0] == 0 and outputs[0][1] == outputs[1][1]
    assert outputs[0][1].split("\n")[:-1] == [t.text for t in by_three]


def test_json_has_tokens_score_attention(run: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(["translate", "-m", str(run), "--json", "The cat sees the dog."], capsys, monkeypatch)
    assert code == 0
    record = json.loads(out)
    assert record["source"] == "The cat sees the dog."
    assert record["tokens"][-1] == "<eos>" and record["src_tokens"][-1] == "<eos>"
    cross = record["attention"]["cross.0"]
    assert len(cross) == len(record["tokens"]) and len(cross[0]) == len(record["src_tokens"])
    assert all(abs(sum(row) - 1) < 1e-2 for row in cross)


def test_default_model_is_latest_run(run: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(run.parent.parent)
    code, out, err = cli(["translate", "The cat sees the dog."], capsys, monkeypatch)
    assert code == 0 and out.count("\n") == 1
    assert f"using {os.path.join('runs', 'transformer')}" in err


def test_bleu_of_a_run(run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = cli(["bleu", "--model", str(run), "--json"], capsys, monkeypatch)
    assert code == 0
    report = json.loads(out)
    names = [s["name"] for s in report["scores"]]
    assert names == ["BLEU", "chrF"]
    assert report["sentences"] > 0 and sum(n for _, n in report["by_length"].values()) == report["sentences"]


def test_min_len_with_max_len_fixes_the_length(run: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """--min-len N --max-len N: every output has exactly N tokens, greedy and beam (the equal-work bench)."""
    for beam in ("1", "3"):
        for n in ("3", "7"):
            code, out, _ = cli(["translate", "-m", str(run), "--json", "--beam", beam, "--min-len", n, "--max-len", n,
                                "The cat sees the dog."], capsys, monkeypatch)
            assert code == 0 and len(json.loads(out)["tokens"]) - 1 == int(n)  # without <eos>
