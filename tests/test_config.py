"""Config precedence, validation and close-match suggestions."""

from __future__ import annotations

import pytest

from seqcli.core.errors import SeqcliError, unknown
from seqcli.runs.config import (
    TrainConfig,
    make_model_config,
    make_train_config,
    parse_duration,
    parse_sets,
)


def test_precedence_defaults_toml_flags() -> None:
    c = make_train_config({"lr": 0.5, "seed": 7}, {"lr": 0.25, "seed": None})
    assert c.lr == 0.25  # flag beats TOML
    assert c.seed == 7  # TOML beats default (flag not given)
    assert c.batch_tokens == TrainConfig().batch_tokens  # default


def test_unknown_key_suggests_close_match() -> None:
    with pytest.raises(SeqcliError, match="did you mean 'batch_tokens'"):
        make_train_config({"batch_token": 100})


def test_unknown_arch_lists_valid() -> None:
    with pytest.raises(SeqcliError, match="transformer") as e:
        make_train_config(flags={"arch": "transfomer"})
    assert "did you mean 'transformer'" in str(e.value)


@pytest.mark.parametrize("field,value", [("steps", 0), ("steps", -3), ("time_budget", 0.0), ("lr", -1.0),
                                         ("batch_tokens", 0), ("label_smoothing", 1.5)])
def test_non_positive_budgets_rejected(field: str, value: float) -> None:
    with pytest.raises(SeqcliError):
        make_train_config(flags={field: value})


def test_model_overrides_typed_and_checked() -> None:
    cfg = make_model_config("transformer", "tiny", 20, 30, {"heads": "4"})
    assert cfg.heads == 4 and cfg.src_vocab == 20 and cfg.tgt_vocab == 30
    with pytest.raises(SeqcliError, match="did you mean 'heads'"):
        make_model_config("transformer", "tiny", 20, 30, {"head": "4"})


def test_size_preset_between_defaults_and_overrides() -> None:
    tiny = make_model_config("lstm", "tiny", 10, 10)
    small = make_model_config("lstm", "small", 10, 10)
    assert tiny.d_model < small.d_model
    assert make_model_config("lstm", "tiny", 10, 10, {"d_model": "40"}).d_model == 40


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("1m30s", 90)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-3m", "0", "m5"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(SeqcliError):
        parse_duration(text)


def test_parse_sets() -> None:
    assert parse_sets(["heads=8", "pre-norm=true"]) == {"heads": "8", "pre_norm": "true"}
    with pytest.raises(SeqcliError):
        parse_sets(["heads"])


def test_unknown_without_close_match_lists_all() -> None:
    e = unknown("thing", "zzz", ["a", "b"])
    assert "did you mean" not in str(e) and "a, b" in str(e)
