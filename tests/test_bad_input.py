"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing lost.

The cases are a table (CASES, USAGE_CASES, TRANSLATE_CASES); docs/errors.md shows the
same table to users, and a test below keeps the two in step. Most cases run in-process
through `seqcli.cli.main` (the same entry `python -m seqcli` calls); a handful run as
real subprocesses, the honest check that nothing else (a library warning, an exit-time
error) reaches stderr.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

import seqcli as seqcli_package
from seqcli.cli.app import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "errors.md"
# Subprocesses import the same seqcli as this process: the installed one under `pytest`.
SEQCLI_PATH = str(Path(seqcli_package.__file__).resolve().parents[1])

@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; idle OpenMP workers spinning on a shared machine cost 10x."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---- a tiny corpus and a tiny trained run, once per module -----------------------------

SUBJECTS = [("tourists", "turistit"), ("people", "ihmiset"), ("children", "lapset"),
            ("we", "me"), ("they", "he")]
VERBS = [("visit", "vierailevat"), ("love", "rakastavat"), ("see", "näkevät")]
OBJECTS = [("Finland", "Suomea"), ("lakes", "järviä"), ("forests", "metsiä")]


def corpus_lines() -> list[str]:
    """45 synthetic English<TAB>Finnish lines (generated, never copied from a corpus)."""
    return [f"{s} {v} {o}.\t{fs} {fv} {fo}." for s, fs in SUBJECTS for v, fv in VERBS
            for o, fo in OBJECTS]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(corpus.tsv, run directory) of a 2-step tiny Transformer; max_len 32 keeps decoding cheap."""
    from seqcli.training.loop import train

    base = tmp_path_factory.mktemp("trained")
    corpus = base / "corpus.tsv"
    corpus.write_text("\n".join(corpus_lines()) + "\n", encoding="utf-8")
    flags = {"arch": "transformer", "size": "tiny", "steps": 2, "corpus": str(corpus),
             "out": str(base / "run"), "vocab_size": 120, "batch_tokens": 256, "device": "cpu", "model": {"max_len": 32}}
    train(flags, evaluate_test=False)
    return corpus, base / "run"


@dataclass
class Env:
    """What a case may use: a scratch dir, a fresh copy of the run, a good corpus."""

    tmp: Path
    run: Path
    corpus: Path


@pytest.fixture
def env(trained: tuple[Path, Path], tmp_path: Path) -> Env:
    corpus, run = trained
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Env(scratch, copy, corpus)


# ---- helpers that break things ---------------------------------------------------------

def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garble(path: Path) -> None:
    """Keep the size, destroy the header: what a bad download looks like."""
    data = bytearray(path.read_bytes())
    data[:64] = b"\xfe" * 64
    path.write_bytes(bytes(data))


def edit_config(run: Path, change: Callable[[dict], None]) -> None:
    record = json.loads((run / "config.json").read_text())
    change(record)
    (run / "config.json").write_text(json.dumps(record))


def other_tokenizer(run: Path) -> None:
    """A valid tokenizer, but with a vocabulary the weights were not trained for."""
    from seqcli.data.tokenizers import Tokenizer

    tok = Tokenizer.train(["something else entirely"] * 3, "word", 50)
    tok.save(run / "tgt_tokenizer.json")


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def moses(env: Env, en: str, fi: str) -> str:
    write(env.tmp / "moses" / "train.en", en)
    write(env.tmp / "moses" / "train.fi", fi)
    return str(env.tmp / "moses")


def tsv(env: Env, data: bytes | str) -> str:
    return str(write(env.tmp / "c.tsv", data))


GOOD = "\n".join(corpus_lines()) + "\n"

# ---- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the command, what it breaks first, the exit code, the key words."""

    id: str
    argv: Callable[[Env], list[str]]
    code: int
    words: tuple[str, ...]
    prepare: Callable[[Env], object] = field(default=lambda env: None)
    notes: int = 0  # progress lines allowed before the error (found only after reading the corpus)


def translate(env: Env, *extra: str) -> list[str]:
    return ["translate", "--model", str(env.run), "--device", "cpu", *extra, "tourists"]


def train(env: Env, corpus: str, *extra: str, out: Path | None = None) -> list[str]:
    return ["train", "--corpus", corpus, "--out", str(out or env.tmp / "out"), "--size", "tiny",
            "--steps", "1", "--device", "cpu", "--vocab-size", "60", *extra]


CASES = [
    # run directories
    Case("run-missing", lambda e: ["translate", "-m", str(e.tmp / "nope"), "x"], 1,
         ("run directory not found",)),
    Case("run-empty", lambda e: ["translate", "-m", str(e.tmp), "x"], 1, ("not a seqcli run", "config.json")),
    Case("run-is-file", lambda e: ["translate", "-m", str(e.corpus), "x"], 1, ("not a directory",)),
    Case("weights-truncated", translate, 1, ("best.safetensors", "truncated or corrupted"),
         lambda e: truncate(e.run / "best.safetensors")),
    Case("weights-corrupted", translate, 1, ("model.safetensors", "truncated or corrupted"),
         lambda e: ((e.run / "best.safetensors").unlink(), garble(e.run / "model.safetensors"))),
    Case("weights-missing", translate, 1, ("no weights",),
         lambda e: [(e.run / n).unlink() for n in ("best.safetensors", "model.safetensors")]),
    Case("config-newer-format", translate, 1, ("newer than this seqcli", "upgrade"),
         lambda e: edit_config(e.run, lambda r: r.update(format=r["format"] + 1))),
    Case("config-not-json", translate, 1, ("config.json", "not valid JSON"),
         lambda e: write(e.run / "config.json", "{oops")),
    Case("config-unknown-arch", translate, 1, ("unknown architecture", "transfomer", "did you mean"),
         lambda e: edit_config(e.run, lambda r: r.update(arch="transfomer"))),
    Case("config-unknown-field", translate, 1, ("unknown model fields", "colour"),
         lambda e: edit_config(e.run, lambda r: r["model"].update(colour="red"))),
    Case("weights-wrong-shape", translate, 1, ("has shape", "expects"),
         lambda e: edit_config(e.run, lambda r: r["model"].update(ffn=r["model"]["ffn"] * 2))),
    Case("tokenizer-mismatch", translate, 1, ("tokenizers", "do not match the model"),
         lambda e: other_tokenizer(e.run)),
    Case("tokenizer-broken", translate, 1, ("src_tokenizer.json", "not a valid tokenizer"),
         lambda e: write(e.run / "src_tokenizer.json", "[1, 2")),
    Case("tokenizer-missing", translate, 1, ("cannot read tokenizer", "src_tokenizer.json"),
         lambda e: (e.run / "src_tokenizer.json").unlink()),
    Case("no-runs-yet", lambda e: ["translate", "x"], 1, ("no trained run",)),
    # corpora
    Case("corpus-missing", lambda e: train(e, str(e.tmp / "missing.tsv")), 1, ("not found", "missing.tsv")),
    Case("corpus-unequal-lines", lambda e: train(e, moses(e, "a\nb\nc\n", "x\ny\n")), 1,
         ("has 3 lines", "has 2", "line-aligned")),
    Case("corpus-invalid-utf8", lambda e: train(e, tsv(e, GOOD.encode() + b"ok\tbad \xff\n")), 1,
         ("c.tsv:46", "invalid UTF-8", "0xff")),
    Case("corpus-empty-after-cleaning", lambda e: train(e, tsv(e, "".join(f"s{i}\t \n" for i in range(50)))), 1,
         ("empty after cleaning",)),
    Case("corpus-no-tab", lambda e: train(e, tsv(e, "one\ttwo\nthree four\n")), 1, ("c.tsv:2", "no TAB")),
    Case("corpus-empty-file", lambda e: train(e, tsv(e, "")), 1, ("too small",)),
    Case("corpus-no-train-file", lambda e: train(e, str(write(e.tmp / "d" / "notes.txt", "x").parent)), 1,
         ("no train.<lang> files",)),
    # options
    Case("unknown-arch", lambda e: train(e, str(e.corpus), "--arch", "transfomer"), 1,
         ("unknown architecture", "did you mean 'transformer'", "lstm", "bahdanau")),
    Case("steps-zero", lambda e: train(e, str(e.corpus), "--steps", "0"), 1, ("--steps must be positive",)),
    Case("steps-negative", lambda e: train(e, str(e.corpus), "--steps", "-5"), 1, ("--steps must be positive",)),
    Case("epochs-negative", lambda e: train(e, str(e.corpus), "--epochs", "-1"), 1, ("--epochs must be positive",)),
    Case("time-budget-zero", lambda e: train(e, str(e.corpus), "--time-budget", "0s"), 1,
         ("duration must be positive",)),
    Case("time-budget-unreadable", lambda e: train(e, str(e.corpus), "--time-budget", "5 parsecs"), 1,
         ("cannot read duration",)),
    Case("batch-tokens-zero", lambda e: train(e, str(e.corpus), "--batch-tokens", "0"), 1,
         ("--batch-tokens must be positive",)),
    Case("save-every-negative", lambda e: train(e, str(e.corpus), "--save-every", "-1"), 1,
         ("--save-every must not be negative",)),
    Case("config-key-unknown", lambda e: train(e, str(e.corpus), "--config", str(write(e.tmp / "c.toml", "stepz = 5"))),
         1, ("unknown config key 'stepz'", "did you mean 'steps'")),
    Case("config-toml-invalid", lambda e: train(e, str(e.corpus), "--config", str(write(e.tmp / "c.toml", "x = = 1"))),
         1, ("invalid TOML",)),
    Case("config-file-missing", lambda e: train(e, str(e.corpus), "--config", str(e.tmp / "no.toml")), 1,
         ("config file not found",)),
    Case("model-field-unknown", lambda e: train(e, str(e.corpus), "--set", "head=2"), 1,
         ("unknown model field", "'head'", "did you mean 'heads'")),
    Case("model-field-negative", lambda e: train(e, str(e.corpus), "--set", "d_model=-4"), 1,
         ("model field d_model must be at least 1",)),
    Case("model-dropout-range", lambda e: train(e, str(e.corpus), "--set", "dropout=2"), 1,
         ("model field dropout must be in [0, 1)",)),
    Case("model-heads-indivisible", lambda e: train(e, str(e.corpus), "--set", "heads=5"), 1,
         ("multiple of heads",)),
    Case("max-len-too-small", lambda e: train(e, str(e.corpus), "--set", "max_len=2"), 1,
         ("no training pair fits",), notes=1),
    Case("set-without-value", lambda e: train(e, str(e.corpus), "--set", "heads"), 1, ("key=value",)),
    Case("schedule-unknown", lambda e: train(e, str(e.corpus), "--schedule", "noma"), 1,
         ("unknown schedule", "did you mean 'noam'")),
    Case("constant-with-warmup", lambda e: train(e, str(e.corpus), "--schedule", "constant", "--warmup", "50"), 1,
         ("--warmup 50 has no effect", "warmup_constant")),
    Case("out-holds-other-run", lambda e: train(e, str(e.corpus), out=e.run), 1,
         ("already holds a run", "--resume", "--force")),
    Case("out-not-a-run", lambda e: train(e, str(e.corpus)), 1, ("not a seqcli run", "--force"),
         lambda e: write(e.tmp / "out" / "thesis.tex", "precious")),
    Case("out-is-file", lambda e: train(e, str(e.corpus), out=e.corpus), 1,
         ("exists and is not a directory",)),
    Case("out-unwritable", lambda e: train(e, str(e.corpus), out=e.corpus / "run"), 1,
         ("cannot write to --out",)),
    Case("resume-nothing", lambda e: [*train(e, str(e.corpus)), "--resume"], 1, ("no run to resume",)),
    Case("resume-other-arch", lambda e: ["train", "--out", str(e.run), "--resume", "--arch", "lstm"], 1,
         ("--arch cannot change on --resume",)),
    Case("device-absent", lambda e: [*train(e, str(e.corpus)), "--device", "cuda"], 1,
         ("--device cuda", "no CUDA GPU")),
    Case("device-unknown", lambda e: [*train(e, str(e.corpus)), "--device", "tpu"], 1,
         ("unknown device 'tpu'", "cpu", "cuda")),
    Case("precision-unknown", lambda e: [*train(e, str(e.corpus)), "--precision", "fp16"], 1,
         ("unknown precision 'fp16'", "bf16", "fp32")),
    Case("translate-precision-unknown", lambda e: translate(e, "--precision", "bf61"), 1,
         ("unknown precision 'bf61'", "did you mean 'bf16'")),
    Case("nbest-over-beam", lambda e: translate(e, "--n-best", "3"), 1, ("--n-best 3 needs --beam",)),
    Case("input-file-missing", lambda e: ["translate", "-m", str(e.run), "-i", str(e.tmp / "in.txt")], 1,
         ("cannot read --input",)),
]

USAGE_CASES = [  # click's own usage errors: exit 2, a short usage block naming the problem
    Case("usage-unknown-option", lambda e: ["train", "--stepz", "3"], 2, ("No such option", "--steps")),
    Case("usage-not-a-number", lambda e: ["train", "--steps", "many"], 2, ("Invalid value for '--steps'",)),
    Case("usage-beam-zero", lambda e: ["translate", "--beam", "0", "x"], 2, ("--beam",)),
    Case("usage-unknown-command", lambda e: ["trian"], 2, ("No such command", "trian")),
]


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            stdin: bytes = b"") -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SEQCLI_DEBUG", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the same on a GPU machine
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code: int | str | None = 0
    try:
        main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_gives_one_clear_line(case: Case, env: Env, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(env.tmp)  # "no-runs-yet" looks under ./runs
    case.prepare(env)
    argv = case.argv(env)  # may write the bad file it names
    before = snapshot(env)
    code, out, err = run_cli(argv, monkeypatch, capsys)
    lines = err.splitlines()
    assert code == case.code, err
    assert len(lines) == 1 + case.notes, err
    assert lines[-1].startswith("error: "), lines[-1]
    for word in case.words:
        assert word.lower() in lines[-1].lower(), (word, lines[-1])
    assert "Traceback" not in out + err and out == ""
    after = snapshot(env)
    assert {k: after.get(k) for k in before} == before  # nothing lost: no file changed or removed


def snapshot(env: Env) -> dict[str, bytes]:
    """Every file a case could damage: the run copy and the user's files in scratch."""
    files = [p for base in (env.run, env.tmp, env.corpus.parent) for p in base.rglob("*") if p.is_file()]
    return {str(p): p.read_bytes() for p in files}


@pytest.mark.parametrize("case", USAGE_CASES, ids=lambda c: c.id)
def test_usage_errors_exit_2(case: Case, env: Env, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(case.argv(env), monkeypatch, capsys)
    assert code == 2, err
    assert err.splitlines()[0].startswith("Usage: seqcli")
    for word in case.words:
        assert word in err, (word, err)
    assert "Traceback" not in out + err


# ---- translate: any bytes in, exactly one line out per line in ----------------------------


@dataclass(frozen=True)
class Lines:
    """Input bytes for `translate` and how many output lines they must give."""

    id: str
    data: bytes
    lines: int
    notes: int = 0  # warning lines expected on stderr (over-long sources)


TRANSLATE_CASES = [
    Lines("stdin-invalid-utf8", b"tourists \xff\xfe visit\n\xc3\x28\n", 2),
    Lines("stdin-nul-and-control", b"tour\x00ists\x1b[31m\n\x07\x08\x7f\n", 2),
    Lines("stdin-100k-line", b"tourists visit " * 6667 + b"\nwe\n", 2, notes=1),
    Lines("stdin-whitespace-only", b"   \n\t\t\n\xc2\xa0\n", 3),
    Lines("stdin-no-final-newline", b"tourists visit\nwe see", 2),
    Lines("stdin-empty", b"", 0),
    Lines("stdin-blank-lines", b"\n\n\n", 3),
    Lines("stdin-crlf-and-separators", b"we\r\nthey\x0csee\xe2\x80\xa8lakes\r\n\x85\n", 3),
]


@pytest.mark.parametrize("case", TRANSLATE_CASES, ids=lambda c: c.id)
def test_translate_one_line_per_line(case: Lines, env: Env, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["translate", "--model", str(env.run), "--device", "cpu"]
    code, out, err = run_cli(argv, monkeypatch, capsys, stdin=case.data)
    assert code == 0, err
    assert out.count("\n") == case.lines and (out == "" or out.endswith("\n"))
    assert "\r" not in out
    notes = err.splitlines()
    assert len(notes) == case.notes and all("truncated" in n for n in notes), err
    assert "Traceback" not in out + err


def test_translate_output_never_spans_lines(env: Env, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Even a model that emits newlines (a byte-level BPE can) gives one line per input."""
    import seqcli.inference.decode

    monkeypatch.setattr(seqcli.inference.decode, "translate", lambda run, lines, **kw: [
        seqcli.inference.decode.Translation("a\nb\r\nc", [], 0.0, []) for _ in lines])
    code, out, err = run_cli(["translate", "--model", str(env.run)], monkeypatch, capsys, stdin=b"x\ny\n")
    assert code == 0 and out == "a b  c\n" * 2


def test_debug_lets_the_traceback_through(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """SEQCLI_DEBUG=1 is the one way to see a traceback, for bug reports."""
    from seqcli.core.errors import SeqcliError

    monkeypatch.setenv("SEQCLI_DEBUG", "1")
    with pytest.raises(SeqcliError, match="run directory not found"):
        main(["translate", "--model", str(env.tmp / "missing"), "x"])


# ---- the docs table and the test table agree ----------------------------------------------


def documented_ids() -> set[str]:
    """Case ids listed in docs/errors.md (the `id` column, in backticks)."""
    return set(re.findall(r"^\|\s*`([a-z0-9-]+)`", DOCS.read_text(encoding="utf-8"), re.M))


def test_docs_table_lists_every_case() -> None:
    tested = {c.id for c in CASES + USAGE_CASES} | {c.id for c in TRANSLATE_CASES}
    assert len(tested) == len(CASES) + len(USAGE_CASES) + len(TRANSLATE_CASES)  # ids are unique
    assert documented_ids() == tested


# ---- a few real processes: nothing but the one line reaches the terminal -------------------


def seqcli(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": SEQCLI_PATH, "OMP_NUM_THREADS": "1"}
    env.pop("SEQCLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "seqcli", *args], input=stdin, capture_output=True,
                          env=env, timeout=120, check=False)


def test_subprocess_corrupted_run_one_line(env: Env) -> None:
    garble(env.run / "best.safetensors")
    p = seqcli(translate(env))
    err = p.stderr.decode()
    assert p.returncode == 1 and p.stdout == b""
    assert len(err.splitlines()) == 1 and "truncated or corrupted" in err and "Traceback" not in err


def test_subprocess_bad_corpus_one_line(env: Env) -> None:
    p = seqcli(train(env, tsv(env, GOOD.encode() + b"ok\t\xff\n")))
    err = p.stderr.decode()
    assert p.returncode == 1 and len(err.splitlines()) == 1 and "invalid UTF-8" in err


def test_subprocess_translate_hostile_stdin(env: Env) -> None:
    data = b"".join(c.data if c.data.endswith(b"\n") else c.data + b"\n" for c in TRANSLATE_CASES)
    p = seqcli(["translate", "--model", str(env.run), "--device", "cpu"], stdin=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count(b"\n") == data.count(b"\n")
    assert b"Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1  # the truncation note


def test_subprocess_reader_going_away_is_quiet(env: Env) -> None:
    """`seqcli translate < big | head -1`: the reader leaves early; no error, no traceback, status 0."""
    p = subprocess.Popen([sys.executable, "-m", "seqcli", "translate", "--model", str(env.run), "--device", "cpu"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": SEQCLI_PATH, "OMP_NUM_THREADS": "1"})
    assert p.stdout is not None
    p.stdout.close()  # gone before the first line is written
    _, err = p.communicate(b"tourists visit Finland\n" * 20, timeout=120)
    assert p.returncode == 0 and err == b"", err
