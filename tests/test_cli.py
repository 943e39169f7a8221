"""CLI wiring: every command has help; errors are one line; usage errors exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import typer
from typer.main import get_command

from seqcli.cli.app import app, main

COMMANDS = ["train", "translate", "attend", "bleu", "compare", "evolution", "archs", "data"]


def command_paths() -> list[list[str]]:
    root = get_command(app)
    paths = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        for sub in getattr(cmd, "commands", {}):
            paths.append([name, sub])
    return paths


def test_top_level_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([*path, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "Usage" in out and len(out.strip().splitlines()) > 3
    cmd = get_command(app)
    for part in path:
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"{' '.join(path)} has no docstring"


def test_domain_error_is_one_line_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "--arch", "transfomer"])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'transformer'" in err[0]


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-such-option"])
    assert e.value.code == 2


def test_no_traceback_from_a_subprocess() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("SEQCLI_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "seqcli", "translate", "--model", "/nonexistent/run", "hello"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["error: run directory not found: /nonexistent/run"]
    assert proc.stdout == ""


def test_archs_lists_registry(capsys: pytest.CaptureFixture[str]) -> None:
    from seqcli.models.registry import REGISTRY

    with pytest.raises(SystemExit) as e:
        main(["archs", "--size", "tiny", "--json"])
    assert e.value.code in (0, None)
    import json

    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == list(REGISTRY)
    assert all(r["parameters"] > 0 for r in rows)
    assert {r["attention"] for r in rows} == {True, False}
    assert typer  # imported for get_command typing
