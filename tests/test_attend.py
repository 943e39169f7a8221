"""`seqcli attend`: the engine on tiny real models, and the command end to end."""

from __future__ import annotations

import builtins
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcli.core.errors import SeqcliError
from seqcli.core.files import write_json, write_tensors
from seqcli.data.tokenizers import Tokenizer
from seqcli.inference.attend import Attention, compute, hide_special, save_image, select, to_json
from seqcli.models.registry import get_arch
from seqcli.runs.config import TrainConfig, make_model_config
from seqcli.runs.directory import config_record, load_run
from seqcli.views.heatmap import MARK, SHADES

SENTENCE = "Tourists visit Finland to watch Northern lights."
EN = [SENTENCE, "Tourists watch the lights.", "We visit Finland."]
FI = ["Turistit vierailevat Suomessa katsomassa revontulia.", "Turistit katsovat valoja.",
      "Vierailemme Suomessa."]


def make_run(root: Path, arch: str, **overrides: object) -> Path:
    """Write a tiny untrained run directory, as `seqcli train` would leave it."""
    src, tgt = Tokenizer.train(EN, "word", 64), Tokenizer.train(FI, "word", 64)
    torch.manual_seed(0)
    cfg = make_model_config(arch, "tiny", src.vocab_size, tgt.vocab_size, dict(overrides))
    model = get_arch(arch).model(cfg)
    path = root / (arch + "".join(f"-{v}" for v in overrides.values()))
    path.mkdir()
    write_json(path / "config.json", config_record(TrainConfig(arch=arch, size="tiny"), cfg))
    src.save(path / "src_tokenizer.json")
    tgt.save(path / "tgt_tokenizer.json")
    write_tensors(path / "model.safetensors", model.state_dict())
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {"transformer": make_run(root, "transformer"), "bahdanau": make_run(root, "bahdanau"),
            "hard": make_run(root, "bahdanau", attention="hard"), "gru": make_run(root, "gru")}


@pytest.fixture(scope="module")
def transformer(runs: dict[str, Path]) -> Attention:
    return compute(load_run(runs["transformer"]), SENTENCE)


# ---- the engine ---------------------------------------------------------------------

def test_transformer_maps_are_labelled_and_row_stochastic(runs: dict[str, Path],
                                                          transformer: Attention) -> None:
    run = load_run(runs["transformer"])
    att = transformer
    assert att.source == run.src_tok.tokens(SENTENCE) + ["<eos>"]
    assert att.output[-1] == "<eos>" and att.decoder_inputs[0] == "<bos>"
    assert att.output[:-1] == att.decoder_inputs[1:]
    assert att.kinds() == ["cross", "encoder-self", "decoder-self"]
    cfg = run.model_config
    assert att.layers("cross") == cfg.decoder_layers and att.layers("encoder-self") == cfg.encoder_layers
    for name, w in att.maps.items():
        rows, cols, _, _ = att.axes(name.split(".")[0])
        assert w.shape == (cfg.heads, len(rows), len(cols)), name
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    self_map = att.maps["decoder-self.0"]
    assert np.all(np.triu(self_map, 1) == 0)  # causal: no row looks ahead


def test_default_view_is_last_layer_cross_mean_of_heads(transformer: Attention) -> None:
    att = transformer
    view = select(att)
    n_layers, n_heads = att.layers("cross"), att.maps["cross.0"].shape[0]
    assert view.name == f"cross.{n_layers - 1}"
    assert "cross-attention" in view.title and f"mean of {n_heads} heads" in view.title
    if n_layers > 1:
        assert f"layer {n_layers} of {n_layers}" in view.title
    np.testing.assert_allclose(view.panels[0][1], att.maps[view.name].mean(0))
    assert (view.rows, view.cols) == (att.output, att.source)


def test_heads_one_or_all_and_ranges(transformer: Attention) -> None:
    att = transformer
    n_heads = att.maps["cross.0"].shape[0]
    one = select(att, "encoder-self", layer=1, head=n_heads)
    np.testing.assert_array_equal(one.panels[0][1], att.maps["encoder-self.0"][n_heads - 1])
    assert f"head {n_heads} of {n_heads}" in one.title and one.rows == att.source
    every = select(att, "decoder-self", all_heads=True)
    assert len(every.panels) == n_heads and every.rows == att.decoder_inputs
    with pytest.raises(SeqcliError, match=rf"--head 99 is out of range.*\(1-{n_heads}\)"):
        select(att, head=99)
    with pytest.raises(SeqcliError, match="--layer 0 is out of range"):
        select(att, layer=0)
    with pytest.raises(SeqcliError, match="valid: cross, decoder-self, encoder-self"):
        select(att, "self")


def test_hide_special_drops_bos_eos_and_renormalises(transformer: Attention) -> None:
    view = select(transformer, "cross", hide=True)
    assert "<eos>" not in view.rows + view.cols and any("renormalised" in n for n in view.notes)
    w = view.panels[0][1]
    assert w.shape == (len(transformer.output) - 1, len(transformer.source) - 1)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    dec = select(transformer, "decoder-self", hide=True)
    assert "<bos>" not in dec.rows and dec.panels[0][1][0, 0] == pytest.approx(1.0)


def test_hide_special_keeps_proportions() -> None:
    w = np.array([[0.2, 0.2, 0.6], [0.0, 0.0, 1.0]])
    out = hide_special(w, [True, True], [True, True, False])
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.0, 0.0]])  # an all-special row stays 0


def test_rnn_attention_and_hard_attention(runs: dict[str, Path]) -> None:
    soft = compute(load_run(runs["bahdanau"]), SENTENCE)
    assert list(soft.maps) == ["cross.0"] and not soft.hard
    assert "hard" not in select(soft).title
    hard = compute(load_run(runs["hard"]), SENTENCE)
    view = select(hard)
    assert "hard attention (one-hot)" in view.title
    w = view.panels[0][1]
    assert set(np.unique(w)) <= {0.0, 1.0} and np.all(w.sum(-1) == 1)


def test_fixed_context_model_says_why_there_is_nothing(runs: dict[str, Path]) -> None:
    with pytest.raises(SeqcliError, match="fixed-context model.*one context vector"):
        compute(load_run(runs["gru"]), SENTENCE)


def test_json_has_tokens_maps_and_the_view(transformer: Attention) -> None:
    data = json.loads(json.dumps(to_json(transformer, select(transformer))))
    assert data["source_tokens"] == transformer.source
    cross = data["maps"]["cross.0"]
    assert len(cross["weights"][0]) == len(cross["rows"]) == len(transformer.output)
    assert data["view"]["map"].startswith("cross.") and len(data["view"]["panels"]) == 1


def hide_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `import matplotlib` fail as it does where the plot extra is not installed."""
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)


def test_image_without_matplotlib_names_the_extra(transformer: Attention, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    hide_matplotlib(monkeypatch)
    with pytest.raises(SeqcliError, match=r"--png needs matplotlib.*seqcli\[plot\]"):
        save_image(select(transformer), tmp_path / "a.png", "png")
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_image_with_matplotlib(transformer: Attention, tmp_path: Path, fmt: str) -> None:
    pytest.importorskip("matplotlib")
    path = save_image(select(transformer, all_heads=True), tmp_path / f"map.{fmt}", fmt)
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in path.read_bytes()[:2000]


# ---- the command --------------------------------------------------------------------

def cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        stdin: bytes = b"") -> tuple[int, str, str]:
    """Run `seqcli ...` in-process as a pipe would: (exit code, stdout, stderr)."""
    from seqcli.cli.app import main

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("SEQCLI_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    with pytest.raises(SystemExit) as exit_info:
        main(["attend", *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_cli_piped_output_is_a_plain_heatmap_within_80_columns(
        runs: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(["-m", str(runs["bahdanau"]), SENTENCE], capsys, monkeypatch)
    assert code == 0, err
    assert "\x1b[" not in out and "cross-attention" in out and SENTENCE in out
    # The translation is one unwrapped line in a pipe; the map itself fits 80 columns.
    assert all(len(line) <= 80 for line in out.splitlines() if not line.startswith("→"))
    assert MARK in out and "scale 0…1" in out
    assert set(out) & set(SHADES[1:])  # shades instead of colours


def test_cli_reads_stdin_and_prints_json(runs: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["-m", str(runs["transformer"]), "--json", "--map", "encoder-self", "--heads", "all"]
    code, out, err = cli(args, capsys, monkeypatch, stdin=(SENTENCE + "\nignored\n").encode())
    assert code == 0, err
    data = json.loads(out)
    assert data["sentence"] == SENTENCE
    assert data["view"]["map"].startswith("encoder-self.") and len(data["view"]["panels"]) > 1


@pytest.mark.parametrize(("args", "message"), [
    (["--layer", "9"], "out of range"),
    (["--map", "decoder"], "unknown attention map 'decoder'"),
    (["--heads", "2"], "--heads takes 'all'"),
    (["--explain", "causl"], "did you mean 'causal'"),
])
def test_cli_errors_are_one_line_exit_1(runs: dict[str, Path], transformer: Attention,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, args: list[str],
                                        message: str) -> None:
    # The wiring is under test here, not the model: reuse the computed maps.
    monkeypatch.setattr("seqcli.inference.attend.compute", lambda run, text, beam=1: transformer)
    code, out, err = cli(["-m", str(runs["transformer"]), *args, SENTENCE], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_png_without_matplotlib_says_which_extra(
        runs: dict[str, Path], transformer: Attention, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("seqcli.inference.attend.compute", lambda run, text, beam=1: transformer)
    hide_matplotlib(monkeypatch)
    code, _, err = cli(["-m", str(runs["transformer"]), "--png", str(tmp_path / "a.png"), SENTENCE],
                       capsys, monkeypatch)
    assert code == 1 and "pip install 'seqcli[plot]'" in err  # brackets survive the red line


def test_cli_fixed_context_and_empty_sentence(runs: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = cli(["-m", str(runs["gru"]), SENTENCE], capsys, monkeypatch)
    assert code == 1 and "fixed-context" in err
    code, _, err = cli(["-m", str(runs["gru"])], capsys, monkeypatch, stdin=b"  \n")
    assert code == 1 and "empty sentence" in err


def test_cli_explain_without_a_run(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(["--explain", "causal", SENTENCE], capsys, monkeypatch)
    assert code == 0, err
    assert "softmax(Q·Kᵀ / √d_k) · V" in out and "fresh random embedding" in out
    assert "masked" in out and all(len(line) <= 80 for line in out.splitlines())
    code, out, _ = cli(["--explain", "multihead", "--heads", "4", "--json", SENTENCE],
                       capsys, monkeypatch)
    stages = {s["title"]: s for s in json.loads(out)["stages"]}
    assert code == 0 and len(stages["weights"]["heads"]) == 4


def test_cli_explain_uses_the_runs_embeddings(runs: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli(["-m", str(runs["transformer"]), "--explain", "simplified", "--json",
                          SENTENCE], capsys, monkeypatch)
    assert code == 0, err
    data = json.loads(out)
    run = load_run(runs["transformer"])
    assert data["tokens"] == run.src_tok.tokens(SENTENCE)
    assert str(runs["transformer"]) in data["embeddings"]
