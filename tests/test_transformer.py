"""The Transformer and multi-head attention: held to PyTorch's reference, the paper's
formulas, and to themselves (fast vs explicit path, parallel vs incremental decoding)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from seqcli.core.errors import SeqcliError
from seqcli.core.tokens import PAD
from seqcli.models.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from seqcli.models.transformer import (
    KeyValueCache,
    Transformer,
    TransformerConfig,
    TransformerMemory,
    positional_encoding,
)

D, H = 16, 4


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run the tiny models on one thread: on a shared machine more threads only contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(pre_norm: bool = False, tie: bool = True, **kw: object) -> Transformer:
    """A seeded 2-layer model small enough for many tests per second."""
    torch.manual_seed(0)
    c = TransformerConfig(
        src_vocab=30,
        tgt_vocab=40,
        d_model=D,
        heads=H,
        layers=2,
        ffn=32,
        dropout=0.0,
        max_len=64,
        pre_norm=pre_norm,
        tie_embeddings=tie,
        **kw,  # type: ignore[arg-type]
    )
    return Transformer(c).eval()


def batch(seed: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """src [3, 7] with padded rows, its mask, and tgt_in [3, 6]."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 30, (3, 7), generator=g)
    lengths = torch.tensor([7, 4, 1])
    mask = torch.arange(7)[None, :] < lengths[:, None]
    src = src.masked_fill(~mask, PAD)
    tgt = torch.randint(4, 40, (3, 6), generator=g)
    return src, mask, tgt


def copy_into(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    """Give our module the reference module's weights."""
    wq, wk, wv = ref.in_proj_weight.chunk(3)
    bq, bk, bv = ref.in_proj_bias.chunk(3)
    with torch.no_grad():
        for linear, w, b in ((ours.query, wq, bq), (ours.key, wk, bk), (ours.value, wv, bv)):
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        ours.out.weight.copy_(ref.out_proj.weight)
        ours.out.bias.copy_(ref.out_proj.bias)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_matches_torch_with_key_padding(need_weights: bool) -> None:
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    ours = MultiHeadAttention(D, H).eval()
    copy_into(ours, ref)
    query, memory = torch.randn(2, 5, D), torch.randn(2, 6, D)
    key_mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    expected, expected_w = ref(
        query, memory, memory, key_padding_mask=~key_mask, average_attn_weights=False
    )
    got = ours(query, memory, key_mask=key_mask, need_weights=need_weights)
    torch.testing.assert_close(got.output, expected, atol=1e-5, rtol=1e-5)
    if need_weights:
        assert got.weights is not None
        torch.testing.assert_close(got.weights, expected_w, atol=1e-6, rtol=1e-5)
        assert (got.weights[1, :, :, 3:] == 0).all()  # exactly zero on padding
    else:
        assert got.weights is None


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_matches_torch_with_causal_and_padding_masks(need_weights: bool) -> None:
    torch.manual_seed(1)
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    ours = MultiHeadAttention(D, H).eval()
    copy_into(ours, ref)
    x = torch.randn(2, 5, D)
    key_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)  # torch: True = not allowed
    expected, expected_w = ref(
        x, x, x, key_padding_mask=~key_mask, attn_mask=future, average_attn_weights=False
    )
    for padded in (key_mask, None):  # with padding: explicit mask; without: is_causal kernel
        got = ours(x, key_mask=padded, causal=True, need_weights=need_weights)
        rows = slice(None) if padded is not None else slice(0, 1)  # row 1 of ref saw padding
        torch.testing.assert_close(got.output[rows], expected[rows], atol=1e-5, rtol=1e-5)
        if need_weights:
            assert got.weights is not None
            torch.testing.assert_close(got.weights[rows], expected_w[rows], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("past", [0, 3])
@pytest.mark.parametrize("queries", [1, 4])
def test_fast_and_explicit_paths_agree(past: int, queries: int) -> None:
    torch.manual_seed(2)
    keys_len = past + queries
    q, k, v = (
        torch.randn(2, H, queries, 8),
        torch.randn(2, H, keys_len, 8),
        torch.randn(2, H, keys_len, 8),
    )
    key_mask = (torch.arange(keys_len) < torch.tensor([[keys_len], [max(1, keys_len - 2)]]))[
        :, None, None, :
    ]
    for mask in (None, key_mask):
        for causal in (False, True):
            fast, none = scaled_dot_product_attention(q, k, v, mask, causal, need_weights=False)
            slow, weights = scaled_dot_product_attention(q, k, v, mask, causal, need_weights=True)
            assert none is None and weights is not None
            torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)
            torch.testing.assert_close(weights.sum(-1), torch.ones(2, H, queries))
            if causal:  # query i (at position past + i) never sees a later key
                assert (weights.masked_select(~causal_mask(queries, keys_len)) == 0).all()


def test_attention_dropout_acts_only_while_training() -> None:
    torch.manual_seed(3)
    attention = MultiHeadAttention(D, H, dropout=0.5)
    x = torch.randn(2, 5, D)
    calm = attention.eval()(x, need_weights=True)
    torch.testing.assert_close(attention(x).output, calm.output)  # eval: no dropout
    noisy = attention.train()(x, need_weights=True)
    assert noisy.weights is not None and calm.weights is not None
    torch.testing.assert_close(noisy.weights, calm.weights)  # shown weights are undropped
    assert not torch.allclose(noisy.output, calm.output)  # but the used ones were dropped
    with pytest.raises(SeqcliError, match="attention_dropout"):
        TransformerConfig(attention_dropout=1.0)


def test_causal_mask_aligns_queries_with_the_last_positions() -> None:
    mask = causal_mask(2, 4)  # two new queries after two cached keys
    assert mask.tolist() == [[True, True, True, False], [True, True, True, True]]


@pytest.mark.parametrize("pre_norm", [False, True])
def test_incremental_decoding_matches_the_whole_prefix(pre_norm: bool) -> None:
    model = tiny(pre_norm=pre_norm)
    src, mask, tgt = batch()
    memory = model.encode(src, mask)
    whole = model.decode(memory, tgt)
    assert isinstance(whole.state, KeyValueCache) and whole.state.length == tgt.size(1)
    # One token at a time, then chunks of several tokens after a cache.
    for chunks in ([1] * 6, [2, 1, 3]):
        state, logits, start = None, [], 0
        for size in chunks:
            step = model.decode(memory, tgt[:, start : start + size], state)
            state, start = step.state, start + size
            logits.append(step.logits)
        torch.testing.assert_close(torch.cat(logits, dim=1), whole.logits, atol=1e-5, rtol=1e-5)
    assert isinstance(state, KeyValueCache)
    for mine, theirs in zip(state.keys, whole.state.keys, strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pre_norm", [False, True])
def test_later_target_tokens_never_change_earlier_logits(pre_norm: bool) -> None:
    model = tiny(pre_norm=pre_norm)
    src, mask, tgt = batch()
    memory = model.encode(src, mask)
    changed = tgt.clone()
    changed[:, 3:] = torch.randint(4, 40, (3, 3), generator=torch.Generator().manual_seed(9))
    before, after = model.decode(memory, tgt).logits, model.decode(memory, changed).logits
    torch.testing.assert_close(after[:, :3], before[:, :3], atol=1e-6, rtol=0)
    assert not torch.allclose(after[:, 3:], before[:, 3:])  # the change did reach the model


def test_source_padding_does_not_change_logits() -> None:
    model = tiny()
    src, mask, tgt = batch()
    wider = torch.cat([src, torch.full((3, 3), PAD)], dim=1)
    wider_mask = torch.cat([mask, torch.zeros(3, 3, dtype=torch.bool)], dim=1)
    plain = model.decode(model.encode(src, mask), tgt).logits
    padded = model.decode(model.encode(wider, wider_mask), tgt).logits
    torch.testing.assert_close(padded, plain, atol=1e-5, rtol=1e-5)


def test_attention_maps_are_named_shaped_and_only_when_asked() -> None:
    model = tiny()
    src, mask, tgt = batch()
    assert model.encode(src, mask).attention == {}
    assert model.decode(model.encode(src, mask), tgt).attention == {}
    memory = model.encode(src, mask, need_weights=True)
    step = model.decode(memory, tgt, need_weights=True)
    assert set(memory.attention) == {"encoder-self.0", "encoder-self.1"}
    assert set(step.attention) == {"decoder-self.0", "decoder-self.1", "cross.0", "cross.1"}
    assert step.attention["cross.1"].shape == (3, H, 6, 7)
    assert step.attention["decoder-self.0"].shape == (3, H, 6, 6)
    assert (step.attention["cross.0"][1, :, :, 4:] == 0).all()  # padding gets no weight
    torch.testing.assert_close(step.attention["cross.0"].sum(-1), torch.ones(3, H, 6))
    assert {name.split(".")[0] for name in {**memory.attention, **step.attention}} == set(
        model.attention_maps
    )


def test_select_reorders_memory_and_cache_like_the_batch() -> None:
    model = tiny()
    src, mask, tgt = batch()
    memory = model.encode(src, mask)
    first = model.decode(memory, tgt[:, :3])
    index = torch.tensor([2, 0, 0])
    picked = memory.select(index)
    assert isinstance(picked, TransformerMemory)
    step = model.decode(picked, tgt[index, 3:], first.state.select(index))
    alone = model.decode(model.encode(src[index], mask[index]), tgt[index]).logits[:, 3:]
    torch.testing.assert_close(step.logits, alone, atol=1e-5, rtol=1e-5)


def test_tied_embeddings_share_one_parameter() -> None:
    tied, untied = tiny(tie=True), tiny(tie=False)
    assert tied.output_weight is None and untied.output_weight is not None
    assert untied.num_parameters() - tied.num_parameters() == 40 * D
    src, mask, tgt = batch()
    unused = torch.ones(40, dtype=torch.bool)
    unused[tgt.unique()] = False  # tokens never fed to the decoder
    for model in (tied, untied):
        model(src, mask, tgt).logsumexp(-1).sum().backward()
    # Rows of tokens never embedded still learn, through the output projection.
    assert untied.tgt_embed.weight.grad[unused].abs().sum() == 0
    assert tied.tgt_embed.weight.grad[unused].abs().sum() > 0


@pytest.mark.parametrize("tie", [True, False])
def test_state_dict_round_trips_through_safetensors(tmp_path: Path, tie: bool) -> None:
    model = tiny(tie=tie)
    # save_file refuses tensors that share storage: a tied model must not have any.
    save_file(model.state_dict(), str(tmp_path / "model.safetensors"))
    torch.manual_seed(5)
    fresh = Transformer(model.config).eval()
    fresh.load_state_dict(load_file(str(tmp_path / "model.safetensors")))
    src, mask, tgt = batch()
    torch.testing.assert_close(fresh(src, mask, tgt), model(src, mask, tgt))


def test_positional_encoding_follows_the_paper() -> None:
    d_model = 10
    table = positional_encoding(60, d_model)
    for pos in (0, 1, 7, 59):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)
    assert positional_encoding(4, 7).shape == (4, 7)  # odd widths work too


def test_embeddings_are_scaled_and_positioned() -> None:
    model = tiny()
    tokens = torch.tensor([[5, 5]])
    x = model._embed(model.tgt_embed, tokens, offset=3)
    expected = model.tgt_embed.weight[5] * math.sqrt(D) + positional_encoding(5, D)[3:5]
    torch.testing.assert_close(x[0], expected)


def test_positions_go_on_past_max_len() -> None:
    model = tiny()  # max_len 64
    tokens = torch.tensor([[5, 6]])
    x = model._embed(model.tgt_embed, tokens, offset=63)  # positions 63 and 64
    expected = model.tgt_embed.weight[[5, 6]] * math.sqrt(D) + positional_encoding(65, D)[63:]
    torch.testing.assert_close(x[0], expected)
    src = torch.full((1, 70), 5)
    memory = model.encode(src, torch.ones_like(src, dtype=torch.bool))
    assert model.decode(memory, torch.full((1, 70), 5)).logits.isfinite().all()


def test_config_rejects_heads_that_do_not_divide_the_width() -> None:
    with pytest.raises(SeqcliError, match="multiple of heads"):
        TransformerConfig(d_model=30, heads=4)
    assert TransformerConfig(layers=2, dec_layers=1).decoder_layers == 1


def test_separate_layer_counts() -> None:
    model = tiny(enc_layers=3, dec_layers=1)
    assert len(model.encoder) == 3 and len(model.decoder) == 1
    memory = model.encode(*batch()[:2])
    assert len(memory.keys) == 1


@pytest.mark.parametrize("length", [1, 5, 15, 16, 23])
def test_short_rows_take_the_padded_softmax_and_give_the_same_weights(length: int) -> None:
    """models.base.softmax pads rows under 16 with -inf on a CPU: same values and gradients as torch.softmax."""
    from seqcli.models.base import masked_softmax, softmax

    g = torch.Generator().manual_seed(length)
    x = torch.randn(7, 3, length, generator=g, requires_grad=True)
    y = softmax(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, torch.softmax(x, dim=-1))
    (grad,) = torch.autograd.grad((y * torch.arange(length)).sum(), x)
    (expected,) = torch.autograd.grad((torch.softmax(x, dim=-1) * torch.arange(length)).sum(), x)
    torch.testing.assert_close(grad, expected)
    mask = torch.rand(7, 1, length, generator=g) > 0.3
    mask[0] = False  # a row with nothing to attend to: zeros, not NaN
    w = masked_softmax(x.detach(), mask)
    assert torch.equal(w[0], torch.zeros_like(w[0])) and torch.all(w[~mask.expand_as(w)] == 0)


def test_cpu_bf16_decoding_keeps_source_keys_and_step_attention_fp32() -> None:
    """Inference under CPU bf16 autocast: the source's keys/values are fp32, a step's logits match a step in fp32."""
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(src_vocab=30, tgt_vocab=30, d_model=32, heads=4, layers=2, ffn=64)).eval()
    src = torch.randint(4, 30, (3, 9))
    mask = torch.ones_like(src, dtype=torch.bool)
    tgt = torch.randint(4, 30, (3, 4))
    with torch.no_grad():
        exact = model.decode(model.encode(src, mask), tgt).logits[:, -1]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            memory = model.encode(src, mask)
            assert all(k.dtype == torch.float32 and k.is_contiguous() for k in (*memory.keys, *memory.values))
            step = model.decode(memory, tgt[:, :1])
            for t in range(1, 4):
                step = model.decode(memory, tgt[:, t:t + 1], step.state)
    assert (step.logits[:, -1].float() - exact).abs().max() < 0.1  # bf16 projections, fp32 attention
    with torch.autocast("cpu", dtype=torch.bfloat16):  # training (grad on): keys stay in autocast's bf16
        trained = model.encode(src, mask)
        assert trained.keys[0].dtype == torch.bfloat16 and trained.keys[0].is_contiguous()
