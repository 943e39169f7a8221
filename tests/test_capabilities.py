"""What a consumer knows about a model is a capability the model declares (issue 13).

Nothing outside seqcli/models/ names an architecture or reads a family's config field:
`Seq2Seq.hard_attention`, `Seq2Seq.source_embedding()`, `ModelConfig.vocab_fields` /
`rate_fields` and the registry's `--set` shortcuts say it instead. A scan of the source
holds the rule; a behaviour test holds each capability.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import seqcli
from seqcli.cli.app import main
from seqcli.core.errors import SeqcliError
from seqcli.models.base import ModelConfig
from seqcli.models.catalog import DEFAULT_ARCH, SHORTCUTS, SIZES, shortcut_sets
from seqcli.models.registry import REGISTRY, shortcut_archs
from seqcli.runs.config import make_model_config

PACKAGE = Path(seqcli.__file__).resolve().parent
ARCH_NAMES = set(REGISTRY)
BASE_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}
# Fields only some families have: reading one outside models/ branches on the architecture.
FAMILY_FIELDS = {f.name for a in REGISTRY.values() for f in dataclasses.fields(a.config)} - BASE_FIELDS
NAME_LOOKUPS = {"named_modules", "named_children", "named_parameters", "named_buffers"}


def _leaks(tree: ast.AST) -> list[str]:
    """Grep-like, on the syntax tree: the ways code outside models/ has known a model."""
    found = []
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and node.value in ARCH_NAMES:
            found.append(f"{where}: names the architecture {node.value!r}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in FAMILY_FIELDS):
            found.append(f"{where}: getattr of the model field {node.args[1].value!r}")
        elif (isinstance(node, ast.Attribute) and node.attr in FAMILY_FIELDS
              and isinstance(node.value, ast.Attribute | ast.Name)
              and getattr(node.value, "attr", getattr(node.value, "id", "")) in ("config", "model_config")):
            found.append(f"{where}: reads the model field {node.attr!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in NAME_LOOKUPS:
            found.append(f"{where}: finds modules by name ({node.func.attr})")
        elif (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
              and isinstance(node.ops[0], ast.In | ast.NotIn) and isinstance(node.comparators[0], ast.Attribute)
              and node.comparators[0].attr == "name"):
            found.append(f"{where}: matches a fragment of a name ({node.left.value!r} in ….name)")
        elif (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
              and isinstance(node.slice, ast.Constant) and node.slice.value in FAMILY_FIELDS
              and isinstance(node.value, ast.Name) and ("model" in node.value.id or "override" in node.value.id)):
            found.append(f"{where}: writes the model field {node.slice.value!r}")
    return found


def outside_models() -> list[object]:
    paths = sorted(p for p in PACKAGE.rglob("*.py") if "models" not in p.relative_to(PACKAGE).parts)
    return [pytest.param(p, id=str(p.relative_to(PACKAGE))) for p in paths]


@pytest.mark.parametrize("path", outside_models())
def test_nothing_outside_models_knows_an_architecture(path: Path) -> None:
    assert _leaks(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("code", [
    'hard = getattr(run.model_config, "attention", None) == "hard"',
    "x = run.model_config.score",
    'tables = [m for n, m in model.named_modules() if "src" in n]',
    'skip = [f for f in fields(c) if "vocab" in f.name]',
    'model["attention"] = attention',
    'arch = "bahdanau"',
])
def test_the_scan_finds_each_kind_of_leak(code: str) -> None:
    assert _leaks(ast.parse(code))


def _tiny(name: str, src_vocab: int = 23, tgt_vocab: int = 31, **overrides: str) -> nn.Module:
    torch.manual_seed(0)
    model = REGISTRY[name].model(make_model_config(name, "tiny", src_vocab, tgt_vocab, overrides))
    return model.eval()


@pytest.mark.parametrize("joint", [False, True], ids=["separate", "joint"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_source_embedding_is_the_table_the_encoder_reads(name: str, joint: bool) -> None:
    model = _tiny(name, 23, 23 if joint else 31)
    table = model.source_embedding()
    assert isinstance(table, nn.Embedding) and table.num_embeddings == 23
    src, tgt_in = torch.tensor([[4, 5, 6, 3]]), torch.tensor([[2, 7, 8]])
    mask = torch.ones_like(src, dtype=torch.bool)
    with torch.no_grad():
        before = model(src, mask, tgt_in)
        table.weight[5] += 1.0  # token 5 is in the source only
        after = model(src, mask, tgt_in)
    assert not torch.allclose(before, after)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_hard_attention_is_declared_by_the_model(name: str) -> None:
    assert _tiny(name).hard_attention is False
    for option in REGISTRY[name].shortcuts:
        hard = _tiny(name, **shortcut_sets({option: "hard"}))
        assert hard.hard_attention is True
        src, tgt_in = torch.tensor([[4, 5, 6, 3]]), torch.tensor([[2, 7, 8]])
        mask = torch.ones_like(src, dtype=torch.bool)
        with torch.no_grad():
            step = hard.decode(hard.encode(src, mask, need_weights=True), tgt_in, need_weights=True)
        weights = step.attention["cross.0"]
        assert set(weights.unique().tolist()) <= {0.0, 1.0} and torch.all(weights.sum(-1) == 1)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_config_declares_its_vocabulary_and_rate_fields(name: str) -> None:
    config = make_model_config(name, "tiny", 23, 31)
    names = {f.name for f in dataclasses.fields(config)}
    assert set(config.vocab_fields) <= names and set(config.rate_fields) <= names
    floats = {f.name for f in dataclasses.fields(config) if isinstance(getattr(config, f.name), float)}
    assert {n for n in floats if "dropout" in n} <= set(config.rate_fields)  # the declaration is complete
    config.check_values()
    for rate in config.rate_fields:
        with pytest.raises(SeqcliError, match=f"{rate} must be in"):
            dataclasses.replace(config, **{rate: 1.0}).check_values()
    ints = [f.name for f in dataclasses.fields(config) if type(getattr(config, f.name)) is int
            and f.name not in config.vocab_fields]
    for field in ints:
        with pytest.raises(SeqcliError, match=f"{field} must be at least 1"):
            try:
                broken = dataclasses.replace(config, **{field: 0})
            except SeqcliError as e:  # a family's own check may come first
                raise SeqcliError(f"model field {field} must be at least 1 ({e})") from None
            broken.check_values()
    for vocab in config.vocab_fields:
        with pytest.raises(SeqcliError, match="unknown model field"):
            make_model_config(name, "tiny", 23, 31, {vocab: "9"})


def test_shortcuts_are_declared_per_architecture() -> None:
    for name, arch in REGISTRY.items():
        for option in arch.shortcuts:
            assert option in SHORTCUTS, name
            assert SHORTCUTS[option].field in {f.name for f in dataclasses.fields(arch.config)}, name
            assert name in SHORTCUTS[option].help  # --help names who accepts it
    for option in SHORTCUTS:
        assert shortcut_archs(option), f"--{option} is accepted by no architecture"


def test_a_shortcut_on_an_architecture_without_it_says_who_has_it() -> None:
    option = next(iter(SHORTCUTS))
    other = next(n for n, a in REGISTRY.items() if option not in a.shortcuts)
    with pytest.raises(SeqcliError, match=f"--{option} .*applies to {shortcut_archs(option)[0]}, not {other}"):
        make_model_config(other, "tiny", 8, 8, shortcut_sets({option: "hard"}))


def test_train_attention_flag_sets_the_declared_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = next(n for n, a in REGISTRY.items() if "attention" not in a.shortcuts)
    with pytest.raises(SystemExit) as e:
        main(["train", "--arch", other, "--attention", "hard", "--out", str(tmp_path / "r")])
    assert e.value.code == 1
    assert "applies to" in capsys.readouterr().err


def test_catalog_agrees_with_the_registry() -> None:
    assert DEFAULT_ARCH in REGISTRY
    for arch in REGISTRY.values():
        assert set(arch.sizes) <= set(SIZES)
