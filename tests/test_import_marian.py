"""`seqcli import` of a MarianMT checkpoint (issue 14), offline.

A tiny MarianMT (random weights, SentencePiece models trained on 400 aurora lines) is
built with transformers and saved as `save_pretrained` does; the imported run must
give transformers' logits, its greedy output and MarianTokenizer's ids, show its
attention, resume into fine-tuning, and every bad checkpoint must be refused in one
line with nothing left at --out. The Transformer options Marian needs are tested
first, without the extra.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

from seqcli.cli.app import main
from seqcli.core.errors import SeqcliError
from seqcli.core.files import atomic_directory
from seqcli.data.corpus import load_corpus
from seqcli.data.tokenizers import Tokenizer, train_tokenizers
from seqcli.inference.decode import attention_maps, greedy, translate
from seqcli.models.transformer import Transformer, TransformerConfig, positional_encoding
from seqcli.runs.directory import MODEL, STATE, load_run, read_config
from seqcli.training.importing import import_marian

NEEDS_HF = "the hf extra builds the reference MarianMT: pip install 'seqcli[hf]'"
# MarianTokenizer wants sacremoses for a normaliser it never applies while encoding.
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


# ---- the Transformer options Marian needs (no extra) --------------------------------

def options_model(**options: Any) -> Transformer:
    torch.manual_seed(0)
    config = TransformerConfig(src_vocab=20, tgt_vocab=20, d_model=16, heads=4, layers=2, ffn=32,
                               dropout=0.0, max_len=32, **options)
    return Transformer(config).eval()


MARIAN_OPTIONS = {"activation": "swish", "positions": "concatenated", "scale_embeddings": True,
                  "share_embeddings": True, "pre_norm": False}


@pytest.mark.parametrize("options", [MARIAN_OPTIONS, {"activation": "gelu", "scale_embeddings": False}],
                         ids=["marian", "gelu-unscaled"])
def test_options_keep_the_one_interface(options: dict[str, Any]) -> None:
    """Teacher forcing equals stepwise decoding, and padding changes nothing, with each option."""
    model = options_model(**options)
    src = torch.tensor([[5, 6, 7, 3], [8, 9, 3, 0]])
    tgt = torch.tensor([[2, 10, 11, 12], [2, 13, 14, 15]])
    memory = model.encode(src, src != 0)
    whole = model.decode(memory, tgt).logits
    step = model.decode(memory, tgt[:, :1])
    logits = [step.logits]
    for t in range(1, tgt.size(1)):
        step = model.decode(memory, tgt[:, t:t + 1], step.state)
        logits.append(step.logits)
    torch.testing.assert_close(torch.cat(logits, 1), whole, atol=1e-5, rtol=1e-5)
    alone = model.decode(model.encode(src[1:, :3], src[1:, :3] != 0), tgt[1:]).logits
    torch.testing.assert_close(alone, whole[1:], atol=1e-5, rtol=1e-5)


def test_shared_embeddings_are_one_tensor() -> None:
    model = options_model(share_embeddings=True)
    assert model.source_embedding() is model.tgt_embed
    assert not any(k.startswith("src_embed") for k in model.state_dict())
    with pytest.raises(SeqcliError, match="one vocabulary"):
        TransformerConfig(src_vocab=20, tgt_vocab=21, share_embeddings=True)


def test_concatenated_sinusoids_are_marians() -> None:
    """Marian: PE[pos, i] = sin(pos / 10000^(2i/d)) for i < d/2, then the cosines of the same."""
    d = 10
    table = positional_encoding(50, d, "concatenated")
    for pos in (0, 3, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert table[pos, i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, d // 2 + i].item() == pytest.approx(math.cos(angle), abs=1e-6)
    interleaved = positional_encoding(50, d)
    torch.testing.assert_close(table, torch.cat([interleaved[:, 0::2], interleaved[:, 1::2]], 1))


def test_unknown_option_values_suggest_the_valid_ones() -> None:
    with pytest.raises(SeqcliError, match="unknown activation 'swich'.*'swish'"):
        TransformerConfig(activation="swich")
    with pytest.raises(SeqcliError, match="unknown positions layout"):
        TransformerConfig(positions="learned")


def test_a_directory_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(out) as tmp:
        (tmp / "a").write_text("1")
    with atomic_directory(out, replace=True) as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b"] and [p.name for p in tmp_path.iterdir()] == ["run"]
    with pytest.raises(SeqcliError, match="already exists"), atomic_directory(out):
        pass


def test_sentencepiece_cannot_be_trained() -> None:
    with pytest.raises(SeqcliError, match="seqcli import"):
        train_tokenizers([("a", "b")], "sentencepiece")


# ---- a tiny MarianMT checkpoint -------------------------------------------------------

SENTENCES = [s for pair in load_corpus("aurora").test[:200] for s in pair]
ODD = ["Hämäläinen visits Åland ☃ 你好 ßtraße.", "naïve café — “quoted” … x² ①", "  spaced   out  ",
       ">>fin<< Tourists visit Finland.", "tab\there", "ää öö ﬁ", "Tämä on kissa.", "Ǆ 🙂 \u200b end"]


def write_vocab(directory: Path, spm: Any) -> list[str]:
    """A shared vocabulary as Marian builds one: </s>, <unk>, the pieces of both sides, <pad> last.

    Three source pieces are left out (MarianTokenizer reads them as <unk>) and a
    target-language code is in, as in multilingual OPUS-MT models.
    """
    pieces: list[str] = [">>fin<<"]
    for side in ("source", "target"):
        sp = spm.SentencePieceProcessor(model_file=str(directory / f"{side}.spm"))
        pieces += [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                   if not (sp.is_control(i) or sp.is_unknown(i))]
    left_out = {"▁visit", "▁Finland", "ing"}
    vocab = ["</s>", "<unk>", *[p for p in dict.fromkeys(pieces) if p not in left_out], "<pad>"]
    (directory / "vocab.json").write_text(json.dumps({p: i for i, p in enumerate(vocab)}), encoding="utf-8")
    return vocab


@pytest.fixture(scope="module")
def marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A save_pretrained directory of a random tiny MarianMT with its tokenizer files."""
    spm = pytest.importorskip("sentencepiece", reason=NEEDS_HF)
    transformers = pytest.importorskip("transformers", reason=NEEDS_HF)
    directory = tmp_path_factory.mktemp("opus-mt-tiny")
    pairs = load_corpus("aurora").train[:400]
    for side, texts in (("source", [s for s, _ in pairs]), ("target", [t for _, t in pairs])):
        spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_prefix=str(directory / side),
                                       vocab_size=250, model_type="unigram", character_coverage=1.0,
                                       hard_vocab_limit=False, minloglevel=2)
        (directory / f"{side}.model").rename(directory / f"{side}.spm")
    vocab = write_vocab(directory, spm)
    V = len(vocab)
    config = transformers.MarianConfig(
        vocab_size=V, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32, activation_function="swish",
        max_position_embeddings=256, scale_embedding=True, pad_token_id=V - 1, eos_token_id=0,
        decoder_start_token_id=V - 1, share_encoder_decoder_embeddings=True)
    torch.manual_seed(0)
    model = transformers.MarianMTModel(config).eval()
    with torch.no_grad():  # weights far from the init, so a mismapped tensor shows
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.2)
            else:
                p.normal_(0, 0.3 if p.dim() > 1 else 0.1)
        model.final_logits_bias.normal_(0, 1.0)
        model.final_logits_bias[0, 0] += 4.5  # </s> likely enough that some outputs end early
    model.save_pretrained(directory)
    tokenizer = transformers.MarianTokenizer(str(directory / "source.spm"), str(directory / "target.spm"),
                                             str(directory / "vocab.json"))
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def imported(marian: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_marian(str(marian), tmp_path_factory.mktemp("runs") / "opus-tiny").run_dir


def marian_ids(marian: Path) -> tuple[list[int], int]:
    """seqcli id -> Marian id (the renumbering the import made), and Marian's <pad>."""
    vocab = json.loads((marian / "vocab.json").read_text(encoding="utf-8"))
    pad = vocab["<pad>"]
    order = [pad, vocab["<unk>"], pad, vocab["</s>"]] + [i for i in range(len(vocab)) if i not in (pad, 0, 1)]
    return order, pad


def hf_model_and_tokenizer(marian: Path) -> tuple[Any, Any]:
    transformers = pytest.importorskip("transformers", reason=NEEDS_HF)
    return (transformers.MarianMTModel.from_pretrained(marian).eval(),
            transformers.MarianTokenizer.from_pretrained(marian))


# ---- equality with transformers ---------------------------------------------------------

def test_logits_equal_transformers_on_a_padded_batch(marian: Path, imported: Path) -> None:
    hf, tok = hf_model_and_tokenizer(marian)
    run = load_run(imported)
    order, pad = marian_ids(marian)
    pairs = load_corpus("aurora").test[:24]
    batch = tok([s for s, _ in pairs], text_target=[t for _, t in pairs], padding=True, return_tensors="pt")
    labels = batch["labels"].masked_fill(batch["labels"] == -100, pad)  # -100: older transformers
    tgt_in = torch.cat([torch.full((len(pairs), 1), pad), labels[:, :-1]], 1)  # Marian starts from <pad>
    ours_of = {m: s for s, m in enumerate(order) if s != 0}  # Marian id -> seqcli id (<pad> -> <bos>)
    src = torch.tensor([[ours_of[i] if i != pad else 0 for i in row] for row in batch["input_ids"].tolist()])
    with torch.no_grad():
        ref = hf(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                 decoder_input_ids=tgt_in).logits
        ours = run.model(src, src != 0, torch.tensor([[ours_of[i] for i in r] for r in tgt_in.tolist()]))
    real = labels != pad
    assert (~batch["attention_mask"].bool()).any() and (~real).any()  # the batch has padding on both sides
    back = ours[..., torch.tensor([ours_of[m] for m in range(len(ours_of))])]  # columns in Marian's order
    delta = (back - ref).abs()[real].max().item()
    assert delta < 1e-4, f"max |Δlogit| {delta:.2e}"


def test_greedy_output_is_generates(marian: Path, imported: Path) -> None:
    hf, tok = hf_model_and_tokenizer(marian)
    run = load_run(imported)
    order, pad = marian_ids(marian)
    texts = [s for s, _ in load_corpus("aurora").test[200:264]]
    batch = tok(texts, padding=True, return_tensors="pt")
    limit = 24
    generated = hf.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=limit, min_length=0,
                            bad_words_ids=[[pad]], forced_eos_token_id=None)  # OPUS-MT's own settings
    src = torch.tensor([[0 if i == pad else order.index(i) for i in row] for row in batch["input_ids"].tolist()])
    ours = greedy(run.model, src, src != 0, [limit] * len(texts))
    same, lengths = 0, set()
    for hyp, row in zip(ours, generated.tolist(), strict=True):
        ref = row[1:]  # after the start token
        ref = ref[:ref.index(0)] if 0 in ref else ref
        same += [order[i] for i in hyp.ids] == [i for i in ref if i != pad]
        lengths.add(len(ref))
    assert same == len(texts), f"greedy identical on {same} of {len(texts)}"
    assert len(lengths) > 1  # some stopped by </s>, some by the limit: rows leave the batch
    translations = translate(run, texts[:4])
    assert [t.text for t in translations] == [run.tgt_tok.decode(t.ids) for t in translations]


def test_tokenizer_ids_equal_marian_tokenizers(marian: Path, imported: Path) -> None:
    _, tok = hf_model_and_tokenizer(marian)
    run = load_run(imported)
    order, _ = marian_ids(marian)
    texts = SENTENCES + ODD
    agree = total = 0
    for ours, marian_encode in ((run.src_tok, lambda t: tok(t)["input_ids"]),
                                (run.tgt_tok, lambda t: tok(text_target=t)["input_ids"])):
        for text in texts:
            total += 1
            agree += [order[i] for i in ours.encode(text)] == marian_encode(text)[:-1]  # without </s>
    assert agree == total, f"ids identical on {agree} of {total} sentences"
    unknown = run.src_tok.encode("☃ 你好")
    assert [run.src_tok.id_to_token(i) for i in unknown] == ["▁", "<unk>", "▁", "<unk>"]
    assert run.tgt_tok.decode(run.tgt_tok.encode("Kissa on matolla.")) == "Kissa on matolla."


def test_the_tokenizer_files_stand_alone(imported: Path) -> None:
    """The run's tokenizers load without sentencepiece or transformers: plain `tokenizers` JSON."""
    tok = Tokenizer.load(imported / "src_tokenizer.json")
    assert tok.kind == "sentencepiece" and tok.vocab_size == read_config(imported)["model"]["src_vocab"]
    assert [tok.id_to_token(i) for i in range(4)] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert 3 not in tok.encode("<eos> <pad>")  # typed specials are text


# ---- the commands on the imported run ------------------------------------------------

def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_translate_attend_chain(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "opus"
    code, _, err = run_cli(["import", str(marian), "--out", str(run)], capsys, monkeypatch)
    assert code == 0 and "imported" in err and "2+2 layers" in err
    code, out, _ = run_cli(["translate", "-m", str(run)], capsys, monkeypatch, stdin="The cat is on the mat.\n\n")
    assert code == 0 and len(out.splitlines()) == 2
    for kind in ("cross", "encoder-self", "decoder-self"):
        code, out, err = run_cli(["attend", "-m", str(run), "--map", kind, "--layer", "1", "--heads", "all",
                                  "The cat is on the mat."], capsys, monkeypatch)
        assert code == 0, err
        assert "layer 1 of 2" in out and "all 4 heads" in out, out[:400]


def test_every_layer_and_head_has_its_maps(imported: Path) -> None:
    run = load_run(imported)
    src = run.src_tok.encode("The cat is on the mat.")
    tgt = run.tgt_tok.encode("Kissa on matolla.")
    encoder, decoder = attention_maps(run.model, src, tgt)
    S, T = len(src) + 1, len(tgt) + 1
    for layer in (0, 1):
        assert encoder[f"encoder-self.{layer}"].shape == (1, 4, S, S)
        assert decoder[f"decoder-self.{layer}"].shape == (1, 4, T, T)
        assert decoder[f"cross.{layer}"].shape == (1, 4, T, S)
        torch.testing.assert_close(decoder[f"cross.{layer}"].sum(-1), torch.ones(1, 4, T))


def test_train_resume_fine_tunes_the_imported_weights(marian: Path, tmp_path: Path, tiny_tsv: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = import_marian(str(marian), tmp_path / "opus", corpus=str(tiny_tsv)).run_dir
    before = load_file(str(run / MODEL))
    code, _, err = run_cli(["train", "--out", str(run), "--resume", "--steps", "3", "--eval-every", "3",
                            "--batch-tokens", "512"], capsys, monkeypatch)
    assert code == 0, err
    assert "resuming" in err and "at step 0" in err
    after = load_file(str(run / MODEL))
    moved = max((after[k] - before[k]).abs().max().item() for k in before)
    assert 0 < moved < 0.01  # three small steps from the imported weights, not from a fresh init
    assert json.loads((run / "config.json").read_text())["train"]["schedule"] == "warmup_constant"


# ---- bad input: one line, nothing at --out -------------------------------------------

def copy_of(marian: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "ckpt"
    shutil.copytree(marian, directory)
    return directory


def edit_config(directory: Path, **changes: Any) -> None:
    path = directory / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")


def refused(source: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> str:
    out = tmp_path / "out" / "run"
    code, stdout, err = run_cli(["import", str(source), "--out", str(out)], capsys, monkeypatch)
    assert code == 1 and stdout == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))
    return err


def test_not_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a MarianMT checkpoint: no config.json" in refused(empty, tmp_path, capsys, monkeypatch)
    assert "no such directory" in refused(tmp_path / "nowhere" / "x" / "y", tmp_path, capsys, monkeypatch)


def test_another_model_type(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    directory = copy_of(marian, tmp_path)
    edit_config(directory, model_type="bart")
    assert "holds a 'bart' model, not MarianMT" in refused(directory, tmp_path, capsys, monkeypatch)


def test_missing_tokenizer_files(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    directory = copy_of(marian, tmp_path)
    (directory / "target.spm").unlink()
    assert "lacks target.spm" in refused(directory, tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(("change", "message"), [
    ({"activation_function": "gelu_new"}, "activation_function 'gelu_new' is not supported"),
    ({"static_position_embeddings": False}, "asks for learned position embeddings"),
    ({"normalize_before": True}, "asks for pre-LN layers"),
    ({"decoder_attention_heads": 2}, "encoder_attention_heads 4 and decoder_attention_heads 2 differ"),
])
def test_unsupported_config_values(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], message: str) -> None:
    directory = copy_of(marian, tmp_path)
    edit_config(directory, **change)
    assert message in refused(directory, tmp_path, capsys, monkeypatch)


def test_learned_position_tables(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Older checkpoints store the position table; a trained one is not Marian's sinusoid."""
    directory = copy_of(marian, tmp_path)
    tensors = load_file(str(directory / "model.safetensors"))
    tensors["model.encoder.embed_positions.weight"] = torch.randn(256, 16)
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    assert "holds learned position embeddings" in refused(directory, tmp_path, capsys, monkeypatch)
    tensors["model.encoder.embed_positions.weight"] = positional_encoding(256, 16, "concatenated")
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    assert import_marian(str(directory), tmp_path / "fine").run_dir.is_dir()  # the sinusoid itself is fine


def test_a_pickle_is_never_loaded(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    directory = copy_of(marian, tmp_path)
    (directory / "model.safetensors").unlink()
    # Not even a valid pickle: any attempt to read it would fail differently.
    (directory / "pytorch_model.bin").write_bytes(b"\x80\x04 this would run code if unpickled")
    err = refused(directory, tmp_path, capsys, monkeypatch)
    assert "pytorch_model.bin is a pickle checkpoint, which seqcli never loads" in err
    assert "pickle checkpoint" in refused(directory / "pytorch_model.bin", tmp_path, capsys, monkeypatch)


def test_a_hub_name_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    hub = pytest.importorskip("huggingface_hub", reason="hub names need huggingface_hub")

    def offline(**_: Any) -> str:
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    monkeypatch.setattr(hub, "snapshot_download", offline)
    monkeypatch.chdir(tmp_path)
    err = refused("Helsinki-NLP/opus-mt-en-fi", tmp_path, capsys, monkeypatch)
    assert "cannot fetch Helsinki-NLP/opus-mt-en-fi from the Hugging Face Hub" in err and "offline" in err


def test_a_hub_repository_without_safetensors(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hub = pytest.importorskip("huggingface_hub", reason="hub names need huggingface_hub")
    snapshot = copy_of(marian, tmp_path)
    (snapshot / "model.safetensors").unlink()  # the download skipped pytorch_model.bin
    monkeypatch.setattr(hub, "snapshot_download", lambda **_: str(snapshot))
    err = refused("Helsinki-NLP/opus-mt-en-fi", tmp_path, capsys, monkeypatch)
    assert "no model.safetensors at revision main" in err and "--revision refs/pr/N" in err


def test_an_older_config_imports(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers 3 wrote BART-style keys and decoding defaults into config.json."""
    directory = copy_of(marian, tmp_path)
    edit_config(directory, static_position_embeddings=True, normalize_before=False, add_bias_logits=True,
                normalize_embedding=False, add_final_layer_norm=False, num_beams=4, max_length=512)
    code, _, err = run_cli(["import", str(directory), "--out", str(tmp_path / "old")], capsys, monkeypatch)
    assert code == 0 and "--beam 4" in err


def test_an_existing_out_is_kept(marian: Path, imported: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.name for p in imported.iterdir())
    code, _, err = run_cli(["import", str(marian), "--out", str(imported)], capsys, monkeypatch)
    assert code == 1 and "already exists" in err
    assert sorted(p.name for p in imported.iterdir()) == before and (imported / STATE).exists()


def test_force_replaces_a_run_and_nothing_else(marian: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    run = import_marian(str(marian), tmp_path / "run").run_dir
    (run / "metrics.jsonl").write_text("{}\n")
    assert import_marian(str(marian), run, force=True).run_dir == run
    assert not (run / "metrics.jsonl").exists() and [p.name for p in tmp_path.iterdir()] == ["run"]
    mine = tmp_path / "my-files"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run_cli(["import", str(marian), "--out", str(mine), "--force"], capsys, monkeypatch)
    assert code == 1 and "not a seqcli run" in err and (mine / "notes.txt").exists()
