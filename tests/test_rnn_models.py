"""What is particular to the pre-Transformer models: the score equations, hard
attention, packed encoders, memory (or the lack of it), and the size presets.

The registry-wide promises (shapes, stepwise == teacher forcing, padding, select,
save/load, overfitting) live in test_models_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import BOS, PAD
from seqcli.models.attention import (
    AdditiveAttention,
    MultiplicativeAttention,
    hard_alignment,
    soft_alignment,
)
from seqcli.models.attentional import Bahdanau, BahdanauConfig, Luong, LuongConfig
from seqcli.models.base import Seq2Seq
from seqcli.models.feedforward import FeedForwardConfig
from seqcli.models.recurrent import RecurrentConfig, RNNEncoder
from seqcli.models.registry import REGISTRY, SIZES
from seqcli.runs.config import make_model_config

SRC_VOCAB, TGT_VOCAB = 23, 29
ATOL = 1e-5
PRE_TRANSFORMER = ("ann", "rnn", "lstm", "gru", "birnn", "bahdanau", "luong")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(name: str, seed: int = 0, **overrides: object) -> Seq2Seq:
    """A tiny registry model in eval mode."""
    torch.manual_seed(seed)
    config = make_model_config(name, "tiny", SRC_VOCAB, TGT_VOCAB, dict(overrides))
    return REGISTRY[name].model(config).eval()


def example(seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Three sources of lengths 6, 4, 1 (right-padded) and 7 target inputs each."""
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_VOCAB, (3, 6), generator=generator)
    src_mask = torch.arange(6)[None, :] < torch.tensor([6, 4, 1])[:, None]
    tgt_in = torch.randint(4, TGT_VOCAB, (3, 7), generator=generator)
    tgt_in[:, 0] = BOS
    return src.masked_fill(~src_mask, PAD), src_mask, tgt_in


def logits(model: Seq2Seq, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> Tensor:
    return model.decode(model.encode(src, src_mask), tgt_in).logits


# ---- score functions, against their equations written out -----------------------


def test_additive_scores_follow_bahdanau_equation() -> None:
    torch.manual_seed(0)
    attention = AdditiveAttention(query_size=5, key_size=6, attention_size=4)
    s, h = torch.randn(2, 3, 5), torch.randn(2, 4, 6)  # queries s_{i-1}, annotations h_j
    scores = attention(s, attention.project_keys(h))
    W_a, U_a, b, v_a = (
        attention.W_a.weight,
        attention.U_a.weight,
        attention.U_a.bias,
        attention.v_a.weight[0],
    )
    for b_, i, j in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        e_ij = v_a @ torch.tanh(W_a @ s[b_, i] + U_a @ h[b_, j] + b)
        torch.testing.assert_close(scores[b_, i, j], e_ij)


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
def test_multiplicative_scores_follow_luong_equation(score: str) -> None:
    torch.manual_seed(0)
    attention = MultiplicativeAttention(query_size=5, key_size=5, score=score)
    h_t, h_s = torch.randn(2, 3, 5), torch.randn(2, 4, 5)
    scores = attention(h_t, attention.project_keys(h_s))
    for b, t, s in [(0, 0, 0), (1, 2, 3), (0, 1, 2)]:
        if score == "dot":
            expected = h_t[b, t] @ h_s[b, s]
        elif score == "general":
            expected = h_t[b, t] @ attention.W_a.weight @ h_s[b, s]
        else:  # v_aᵀ tanh(W_a [h_t; h̄_s]) with W_a = [W_query, W_key]
            add = attention.concat
            W_a = torch.cat([add.W_a.weight, add.U_a.weight], dim=1)
            expected = add.v_a.weight[0] @ torch.tanh(
                W_a @ torch.cat([h_t[b, t], h_s[b, s]]) + add.U_a.bias
            )
        torch.testing.assert_close(scores[b, t, s], expected)


def test_dot_score_needs_equal_widths() -> None:
    with pytest.raises(ValueError, match="equal widths"):
        MultiplicativeAttention(query_size=4, key_size=6, score="dot")


def test_soft_alignment_is_zero_on_padding() -> None:
    scores = torch.randn(2, 3, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    alignment = soft_alignment(scores, mask)
    assert torch.all(alignment[1, :, 2:] == 0)
    torch.testing.assert_close(alignment.sum(-1), torch.ones(2, 3))


# ---- hard attention ---------------------------------------------------------------


def test_hard_alignment_at_inference_is_the_argmax_over_real_tokens() -> None:
    scores = torch.tensor([[[0.1, 2.0, 9.0], [3.0, 1.0, 9.0]]])  # [1, 2, 3]; 9.0 sits on padding
    mask = torch.tensor([[True, True, False]])
    expected = torch.tensor([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]])
    assert torch.equal(hard_alignment(scores, mask, sample=False), expected)


def test_hard_alignment_samples_from_the_alignment_distribution() -> None:
    torch.manual_seed(0)
    scores = torch.tensor([1.0, 0.0, -1.0, 5.0]).expand(1, 20000, 4)  # 20000 draws at once
    mask = torch.tensor([[True, True, True, False]])
    samples = hard_alignment(scores, mask, sample=True)
    assert torch.all(samples.sum(-1) == 1) and torch.all(samples[..., 3] == 0)
    frequencies = samples[0].mean(0)[:3]
    torch.testing.assert_close(frequencies, torch.softmax(scores[0, 0, :3], -1), atol=0.015, rtol=0)


def test_hard_alignment_gradient_is_the_relaxation_gradient() -> None:
    """Straight-through: a one-hot forward value, the Gumbel-softmax backward."""
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    weights = torch.randn(2, 3, 5)
    torch.manual_seed(7)
    (hard_alignment(scores, mask, sample=True, tau=0.5) * weights).sum().backward()
    straight_through = scores.grad.clone()
    scores.grad = None
    torch.manual_seed(7)  # the same Gumbel noise, by the same draw
    noise = -torch.log(-torch.log(torch.rand_like(scores).clamp(1e-20, 1.0)))
    relaxed = soft_alignment((scores + noise) / 0.5, mask)
    (relaxed * weights).sum().backward()
    torch.testing.assert_close(straight_through, scores.grad)
    assert torch.any(straight_through != 0)


def test_bahdanau_hard_attention_is_one_hot_and_trains_the_scores() -> None:
    model = tiny("bahdanau", attention="hard")
    src, src_mask, tgt_in = example()
    step = model.decode(model.encode(src, src_mask), tgt_in)
    alignment = step.attention["cross.0"]  # eval: argmax, [B, 1, T, S]
    assert torch.all((alignment == 0) | (alignment == 1)) and torch.all(alignment.sum(-1) == 1)
    assert torch.all(alignment[~src_mask[:, None, None, :].expand_as(alignment)] == 0)
    model.train()
    model(src, src_mask, tgt_in).logsumexp(-1).sum().backward()
    # Without the straight-through gradient argmax would leave v_a untrained.
    assert model.attention.v_a.weight.grad is not None and torch.any(
        model.attention.v_a.weight.grad != 0
    )


# ---- encoders and the fixed context ------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_final_states_are_last_and_first_real_tokens(cell: str) -> None:
    torch.manual_seed(0)
    encoder = RNNEncoder(cell, SRC_VOCAB, 8, 6, layers=2, dropout=0.0, bidirectional=True).eval()
    src, src_mask, _ = example()
    outputs, hidden, _ = encoder(src, src_mask)  # [B, S, 2H], [B, L, 2, H]
    for b, length in enumerate(src_mask.sum(1).tolist()):
        torch.testing.assert_close(
            hidden[b, -1, 0], outputs[b, length - 1, :6]
        )  # forward: last real
        torch.testing.assert_close(hidden[b, -1, 1], outputs[b, 0, 6:])  # backward: first
        assert torch.all(outputs[b, length:] == 0)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "birnn"])
def test_fixed_context_decoders_run_the_target_in_one_rnn_call(name: str) -> None:
    model = tiny(name)
    calls = []
    model.decoder.register_forward_hook(lambda *_: calls.append(1))
    src, src_mask, tgt_in = example()
    logits(model, src, src_mask, tgt_in)
    assert len(calls) == 1


def test_luong_without_input_feeding_runs_the_target_in_one_rnn_call() -> None:
    model = tiny("luong", input_feeding=False)
    calls = []
    model.decoder.register_forward_hook(lambda *_: calls.append(1))
    src, src_mask, tgt_in = example()
    logits(model, src, src_mask, tgt_in)
    assert len(calls) == 1


def test_feedforward_forgets_beyond_its_window() -> None:
    model = tiny("ann")  # context K = 3 at tiny
    K = model.config.context
    src, src_mask, tgt_in = example()
    before = logits(model, src, src_mask, tgt_in)
    changed = tgt_in.clone()
    changed[:, 1] = changed[:, 1] % (TGT_VOCAB - 5) + 5  # a different real token at position 1
    after = logits(model, src, src_mask, changed)
    # Positions 1 .. K see token 1 in their window; from K + 1 on it is forgotten.
    assert not torch.allclose(after[:, 1 : K + 1], before[:, 1 : K + 1])
    torch.testing.assert_close(after[:, K + 1 :], before[:, K + 1 :], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru", "birnn", "bahdanau", "luong"])
def test_recurrent_decoders_remember_the_first_token(name: str) -> None:
    model = tiny(name)
    src, src_mask, tgt_in = example()
    changed = tgt_in.clone()
    changed[:, 1] = changed[:, 1] % (TGT_VOCAB - 5) + 5
    # Six steps later the feedforward model has forgotten; a recurrent state has not.
    assert not torch.allclose(
        logits(model, src, src_mask, changed)[:, -1], logits(model, src, src_mask, tgt_in)[:, -1]
    )


def test_source_word_order_is_invisible_to_the_bag_of_words() -> None:
    model = tiny("ann")
    src, src_mask, tgt_in = example()
    reversed_src = src.clone()
    reversed_src[0] = src[0].flip(0)  # row 0 has no padding
    torch.testing.assert_close(
        logits(model, reversed_src, src_mask, tgt_in), logits(model, src, src_mask, tgt_in)
    )
    recurrent = tiny("gru")
    assert not torch.allclose(
        logits(recurrent, reversed_src, src_mask, tgt_in)[0],
        logits(recurrent, src, src_mask, tgt_in)[0],
    )


# ---- Luong variants and configs ----------------------------------------------------


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
@pytest.mark.parametrize("input_feeding", [True, False])
def test_luong_variants_decode_stepwise_as_teacher_forced(score: str, input_feeding: bool) -> None:
    model = tiny("luong", score=score, input_feeding=input_feeding)
    src, src_mask, tgt_in = example()
    memory = model.encode(src, src_mask)
    full = model.decode(memory, tgt_in)
    state, steps = None, []
    for t in range(tgt_in.size(1)):
        step = model.decode(memory, tgt_in[:, t : t + 1], state)
        state = step.state
        steps.append(step.logits)
    torch.testing.assert_close(torch.cat(steps, 1), full.logits, atol=ATOL, rtol=0)
    alignment = full.attention["cross.0"]
    torch.testing.assert_close(alignment.sum(-1), torch.ones(3, 1, 7))


@pytest.mark.parametrize("name", ["lstm", "birnn", "bahdanau", "luong"])
def test_two_layers_decode_in_chunks_as_teacher_forced(name: str) -> None:
    # birnn with LSTM cells: the bridged decoder starts from an empty memory cell.
    model = tiny(name, layers=2, cell="lstm") if name == "birnn" else tiny(name, layers=2)
    src, src_mask, tgt_in = example()
    memory = model.encode(src, src_mask)
    full = model.decode(memory, tgt_in).logits
    first = model.decode(memory, tgt_in[:, :4])
    rest = model.decode(memory, tgt_in[:, 4:], first.state)
    torch.testing.assert_close(torch.cat([first.logits, rest.logits], 1), full, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    ("config", "field", "value", "hint"),
    [
        (RecurrentConfig, "cell", "gur", "gru"),
        (LuongConfig, "score", "generl", "general"),
        (BahdanauConfig, "attention", "hrad", "hard"),
    ],
)
def test_unknown_choices_fail_with_a_suggestion(
    config: type, field: str, value: str, hint: str
) -> None:
    with pytest.raises(SeqcliError, match=f"did you mean '{hint}'"):
        config(**{field: value})


def test_feedforward_needs_a_window_and_hard_attention_a_temperature() -> None:
    with pytest.raises(SeqcliError, match="context"):
        FeedForwardConfig(context=0)
    with pytest.raises(SeqcliError, match="gumbel_tau"):
        BahdanauConfig(attention="hard", gumbel_tau=0.0)


def test_model_classes_follow_their_registry_flags() -> None:
    assert Bahdanau.has_attention and Luong.has_attention
    assert Bahdanau.attention_maps == Luong.attention_maps == ("cross",)
    for name in ("ann", "rnn", "lstm", "gru", "birnn"):
        assert not REGISTRY[name].model.has_attention


@pytest.mark.parametrize("size", SIZES)
def test_presets_have_comparable_parameter_counts(size: str) -> None:
    """Within 10% of each other at 8000-token vocabularies, so `compare` is fair."""
    counts = {}
    for name in PRE_TRANSFORMER:
        with torch.device("meta"):  # shapes only: no memory, no initialisation cost
            model = REGISTRY[name].model(make_model_config(name, size, 8000, 8000))
        counts[name] = model.num_parameters()
    assert max(counts.values()) <= 1.1 * min(counts.values()), counts


def test_lstm_models_train_at_twice_the_rate_of_the_other_recurrent_ones() -> None:
    """Luong's late start (issue 11) was the shared 3e-3 learning rate: LSTM cells learn
    slower than GRU and Elman cells there (the measurements are beside LSTM_TRAIN)."""
    lstm_cells = {"lstm", "luong"}
    for name, arch in REGISTRY.items():
        if arch.train.schedule != "inverse_sqrt":
            continue  # the Transformer's Noam schedule has its own scale
        expected = 6e-3 if name in lstm_cells else 3e-3
        assert arch.train.lr == expected, name
