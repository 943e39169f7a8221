"""--help fits a shell (issue 13): at 80 columns no line is wider, every command shows
examples, and every default it states is the one the engine uses."""

from __future__ import annotations

import re

import pytest
from typer.main import get_command

from seqcli.cli.app import app, main
from seqcli.models.catalog import SIZES
from seqcli.runs.defaults import TrainConfig

WIDTH = 80


def command_paths() -> list[list[str]]:
    root = get_command(app)
    paths: list[list[str]] = [[]]
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        paths += [[name, sub] for sub in getattr(cmd, "commands", {})]
    return paths


def help_text(path: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as e:
        main([*path, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def option_rows(text: str) -> dict[str, str]:
    """{'--batch-tokens': 'N Tokens per batch, ... (default 2048).'}: each option's row, wrapped lines joined."""
    rows: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        inner = line.strip().strip("│").strip()
        if inner.startswith("--"):
            current, _, rest = inner.partition(" ")
            rows[current] = rest.strip()
        elif current and line.startswith("│") and inner:
            rows[current] += " " + inner
        elif not line.startswith("│"):
            current = None
    return {k: re.sub(r"\s+", " ", v) for k, v in rows.items()}


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "seqcli")
def test_help_fits_80_columns_and_shows_examples(path: list[str], monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    lines = help_text(path, monkeypatch, capsys).splitlines()
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert too_wide == []
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    examples = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        examples.append(line.strip())
    assert examples and all("seqcli" in e for e in examples)
    assert any(f"seqcli {' '.join(path)}".strip() in e for e in examples)


def test_train_help_states_the_defaults_of_train_config(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    rows = option_rows(help_text(["train"], monkeypatch, capsys))
    stated = {"--arch": TrainConfig.arch, "--size": TrainConfig.size, "--corpus": TrainConfig.corpus,
              "--tokenizer": TrainConfig.tokenizer, "--batch-tokens": TrainConfig.batch_tokens,
              "--accumulate": TrainConfig.accumulate, "--label-smoothing": TrainConfig.label_smoothing,
              "--clip": TrainConfig.clip, "--seed": TrainConfig.seed, "--patience": TrainConfig.patience}
    for option, value in stated.items():
        assert f"(default {value})" in rows[option], option
    assert " | ".join(SIZES) in rows["--size"]
    assert "default: from corpus" in rows["--vocab-size"]  # derived from the corpus, not a number
    for option in ("--lr", "--schedule", "--warmup", "--steps"):
        assert "default: preset" in rows[option], option
    assert "--separate-vocab" not in rows and "--no-compile" not in rows  # hidden opposites


def test_compare_help_states_the_campaign_defaults(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The campaign's defaults are its Plan's, and what it shares with train is train's (no 8000, no 4096)."""
    from seqcli.compare.plan import DEFAULTS

    rows = option_rows(help_text(["compare"], monkeypatch, capsys))
    assert (DEFAULTS.corpus, DEFAULTS.size, DEFAULTS.seed, DEFAULTS.device) == (
        TrainConfig.corpus, TrainConfig.size, TrainConfig.seed, TrainConfig.device)
    assert f"(default {TrainConfig.batch_tokens})" in rows["--batch-tokens"]
    assert "default: from corpus" in rows["--vocab-size"]
    for option, value in {"--size": DEFAULTS.size, "--seed": DEFAULTS.seed, "--corpus": DEFAULTS.corpus,
                          "--patience": DEFAULTS.patience, "--seeds": DEFAULTS.seeds}.items():
        assert f"(default {value})" in rows[option], option
    assert f"default: {DEFAULTS.out}" in rows["--out"]


def test_most_options_fit_on_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The point of short help strings: a row per option, with few exceptions."""
    for path in (["train"], ["translate"], ["attend"], ["bleu"]):
        text = help_text(path, monkeypatch, capsys)
        option_lines = [line for line in text.splitlines() if line.startswith("│")]
        rows = option_rows(text)
        assert len(option_lines) <= 1.25 * len(rows) + 2, path


def test_bleu_sources_and_the_deprecated_src(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    hyp, ref, src = root / "hyp", root / "ref", root / "src"
    hyp.write_text("a b c\nd e\n", encoding="utf-8")
    ref.write_text("a b c\nd e f\n", encoding="utf-8")
    src.write_text("x y z\nu v\n", encoding="utf-8")
    outputs = []
    for option in ("--sources", "--src"):
        with pytest.raises(SystemExit) as e:
            main(["bleu", str(hyp), str(ref), "--by-length", option, str(src), "--json"])
        assert e.value.code in (0, None)
        captured = capsys.readouterr()
        outputs.append(captured.out)
        assert ("deprecated" in captured.err) == (option == "--src")
    assert outputs[0] == outputs[1]
    help_rows = option_rows(help_text(["bleu"], monkeypatch, capsys))
    assert "--sources" in help_rows and "--src" not in help_rows
