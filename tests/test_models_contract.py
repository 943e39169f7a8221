"""The model contract: every registry architecture honours the one interface.

Training, decoding, beam search and attention rendering never branch on the
architecture (DESIGN.md), so each promise they rely on is checked here, for every
entry of the registry at size "tiny": shapes, teacher forcing == step-by-step
decoding, attention rows that sum to 1 and are 0 on padding, logits that padding
does not change, causality, `select` commuting with a step, safetensors round
trips, every parameter learning, and overfitting 32 random pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.models.base import Batched, Memory, Seq2Seq, State, Step
from seqcli.models.registry import REGISTRY
from seqcli.runs.config import make_model_config

SRC_VOCAB, TGT_VOCAB = 23, 29
ATOL = 1e-5
ARCHS = sorted(REGISTRY)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run these tiny models on one thread: on a busy machine more threads only contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(name: str, seed: int = 0) -> Seq2Seq:
    """A tiny model of the named architecture, in eval mode; skip placeholders."""
    arch = REGISTRY[name]
    if arch.model.encode is Seq2Seq.encode or arch.model.decode is Seq2Seq.decode:
        pytest.skip(f"{name}: {arch.model.__name__} is still a placeholder")
    torch.manual_seed(seed)
    return arch.model(make_model_config(name, "tiny", SRC_VOCAB, TGT_VOCAB)).eval()


def tokens(
    generator: torch.Generator, lengths: list[int], vocab: int, width: int | None = None
) -> tuple[Tensor, Tensor]:
    """Right-padded random real tokens (ids >= 4) of the given lengths, and their mask."""
    width = width or max(lengths)
    ids = torch.randint(4, vocab, (len(lengths), width), generator=generator)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # [B, S]
    return ids.masked_fill(~mask, PAD), mask


def example(seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """A batch of 4: sources of different lengths (padded), target inputs from BOS."""
    generator = torch.Generator().manual_seed(seed)
    src, src_mask = tokens(generator, [7, 5, 2, 6], SRC_VOCAB)
    tgt_in, _ = tokens(generator, [6, 6, 6, 6], TGT_VOCAB)
    tgt_in[:, 0] = BOS
    return src, src_mask, tgt_in


def run(model: Seq2Seq, src: Tensor, src_mask: Tensor, tgt_in: Tensor) -> Step:
    """Teacher-forced decode of tgt_in, attention maps asked for."""
    memory = model.encode(src, src_mask, need_weights=True)
    return model.decode(memory, tgt_in, need_weights=True)


def stepwise(
    model: Seq2Seq, memory: Memory, tgt_in: Tensor, chunks: list[int]
) -> tuple[Tensor, dict[str, Tensor]]:
    """Decode tgt_in in consecutive chunks, passing the state along; join the results."""
    state, logits, maps, start = None, [], [], 0
    for size in chunks:
        step = model.decode(memory, tgt_in[:, start : start + size], state, need_weights=True)
        state, start = step.state, start + size
        logits.append(step.logits)
        maps.append({k: v for k, v in step.attention.items() if k.startswith("cross")})
    joined = {k: torch.cat([m[k] for m in maps], dim=2) for k in maps[0]}
    return torch.cat(logits, dim=1), joined


def batched_tensors(value: object) -> Iterator[Tensor]:
    """Every tensor inside a state or memory, in field order."""
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, Batched):
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            yield from batched_tensors(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from batched_tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from batched_tensors(v)


@pytest.mark.parametrize("name", ARCHS)
def test_shapes(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    memory = model.encode(src, src_mask, need_weights=True)
    step = model.decode(memory, tgt_in, need_weights=True)
    assert isinstance(memory, Memory) and isinstance(step.state, State)
    assert step.logits.shape == (4, 6, TGT_VOCAB)
    assert all(t.size(0) == 4 for t in batched_tensors(step.state)), "state must be batch-first"
    if not model.has_attention:
        assert step.attention == {} and memory.attention == {}
        return
    assert any(k.startswith("cross") for k in step.attention), (
        "attentional models return cross maps"
    )
    for key, weights in step.attention.items():
        assert key.split(".")[0] in model.attention_maps, f"{key} not declared in attention_maps"
        assert weights.dim() == 4 and weights.shape[0] == 4 and weights.shape[2] == 6
        if key.startswith("cross"):
            assert weights.shape[3] == src.size(1)


@pytest.mark.parametrize("name", ARCHS)
def test_forward_is_teacher_forced_decode(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    expected = model.decode(model.encode(src, src_mask), tgt_in).logits
    torch.testing.assert_close(model(src, src_mask, tgt_in), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ARCHS)
def test_teacher_forced_equals_stepwise(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    full = run(model, src, src_mask, tgt_in)
    memory = model.encode(src, src_mask, need_weights=True)
    for chunks in ([1] * 6, [2, 1, 3]):
        logits, maps = stepwise(model, memory, tgt_in, chunks)
        torch.testing.assert_close(logits, full.logits, atol=ATOL, rtol=0)
        for key, weights in maps.items():
            torch.testing.assert_close(weights, full.attention[key], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ARCHS)
def test_attention_rows_sum_to_one_and_skip_padding(name: str) -> None:
    model = build(name)
    if not model.has_attention:
        pytest.skip(f"{name} has no attention")
    src, src_mask, tgt_in = example()
    memory = model.encode(src, src_mask, need_weights=True)
    step = model.decode(memory, tgt_in, need_weights=True)
    pad = ~src_mask[:, None, None, :]  # [B, 1, 1, S]
    for key, weights in step.attention.items():
        if key.startswith("cross"):
            assert torch.all(weights.masked_select(pad.expand_as(weights)) == 0), key
            torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))
        else:  # decoder self-attention: causal, over the target so far
            future = torch.ones(6, 6, dtype=torch.bool).triu(1)
            assert torch.all(weights[..., future] == 0), key
            torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))
    for key, weights in memory.attention.items():  # encoder self-attention [B, H, S, S]
        assert torch.all(weights.masked_select(pad.expand_as(weights)) == 0), key
        real_rows = weights.sum(-1).masked_select(src_mask[:, None, :].expand_as(weights[..., 0]))
        torch.testing.assert_close(real_rows, torch.ones_like(real_rows))


@pytest.mark.parametrize("name", ARCHS)
def test_source_padding_does_not_change_logits(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    alone = run(model, src[2:3, :2], src_mask[2:3, :2], tgt_in[2:3])  # the 2-token source, unpadded
    padded = run(model, src[2:3], src_mask[2:3], tgt_in[2:3])  # padded to 7
    in_batch = run(model, src, src_mask, tgt_in)  # beside longer sentences
    for other, row in ((padded, 0), (in_batch, 2)):
        torch.testing.assert_close(other.logits[row], alone.logits[0], atol=ATOL, rtol=0)
        for key, weights in alone.attention.items():
            if key.startswith("cross"):  # the same alignment over the 2 real tokens
                torch.testing.assert_close(
                    other.attention[key][row, ..., :2], weights[0], atol=ATOL, rtol=0
                )


@pytest.mark.parametrize("name", ARCHS)
def test_decoding_is_causal(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    before = run(model, src, src_mask, tgt_in).logits
    changed = tgt_in.clone()
    changed[:, 3] = (changed[:, 3] - 4 + 1) % (TGT_VOCAB - 4) + 4  # another real token
    after = run(model, src, src_mask, changed).logits
    torch.testing.assert_close(after[:, :3], before[:, :3], atol=ATOL, rtol=0)
    assert not torch.allclose(after[:, 3], before[:, 3]), (
        "the changed token must matter at its own position"
    )


@pytest.mark.parametrize("name", ARCHS)
def test_select_commutes_with_a_step(name: str) -> None:
    model = build(name)
    src, src_mask, tgt_in = example()
    memory = model.encode(src, src_mask)
    state = model.decode(memory, tgt_in[:, :3]).state
    index = torch.tensor([2, 0, 0, 3, 1])  # drop, reorder and repeat rows, as beam search does
    step_then_select = model.decode(memory, tgt_in[:, 3:4], state)
    select_then_step = model.decode(memory.select(index), tgt_in[index, 3:4], state.select(index))
    torch.testing.assert_close(
        select_then_step.logits, step_then_select.logits[index], atol=ATOL, rtol=0
    )
    after = list(batched_tensors(select_then_step.state))
    expected = list(batched_tensors(step_then_select.state.select(index)))
    assert len(after) == len(expected)
    for a, e in zip(after, expected, strict=True):
        torch.testing.assert_close(a, e, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ARCHS)
def test_safetensors_round_trip_gives_identical_logits(name: str, tmp_path) -> None:
    # As the run directory saves: save_file(state_dict()), which refuses tensors that
    # share memory, so a model must tie weights without sharing a Parameter.
    model = build(name, seed=0)
    save_file(model.state_dict(), tmp_path / "model.safetensors")
    fresh = build(name, seed=1)
    fresh.load_state_dict(load_file(tmp_path / "model.safetensors"), strict=True)
    src, src_mask, tgt_in = example()
    assert torch.equal(fresh(src, src_mask, tgt_in), model(src, src_mask, tgt_in))


@pytest.mark.parametrize("name", ARCHS)
def test_every_parameter_learns(name: str) -> None:
    model = build(name).train()
    src, src_mask, tgt_in = example()
    logits = model(src, src_mask, tgt_in)
    F.cross_entropy(logits.flatten(0, 1), tgt_in.roll(-1, dims=1).flatten()).backward()
    silent = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)
    ]
    assert not silent, f"parameters without gradient: {silent}"


def pairs(count: int, seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """count random pairs: source, source mask, target input (BOS + y), target output (y + EOS)."""
    generator = torch.Generator().manual_seed(seed)
    src_lengths = torch.randint(3, 9, (count,), generator=generator).tolist()
    tgt_lengths = torch.randint(2, 6, (count,), generator=generator).tolist()
    src, src_mask = tokens(generator, src_lengths, SRC_VOCAB)
    y, _ = tokens(generator, tgt_lengths, TGT_VOCAB, width=max(tgt_lengths) + 1)
    tgt_in = torch.cat([torch.full((count, 1), BOS), y[:, :-1]], dim=1)
    tgt_out = y.clone()
    tgt_out[torch.arange(count), torch.tensor(tgt_lengths)] = EOS  # right after y
    return src, src_mask, tgt_in, tgt_out


def greedy(model: Seq2Seq, src: Tensor, src_mask: Tensor, steps: int) -> Tensor:
    """Greedy decoding through the one interface: [B, steps] token ids."""
    memory = model.encode(src, src_mask)
    token, state, out = torch.full((src.size(0), 1), BOS), None, []
    for _ in range(steps):
        step = model.decode(memory, token, state)
        token, state = step.logits[:, -1].argmax(-1, keepdim=True), step.state
        out.append(token)
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("name", ARCHS)
def test_overfits_32_random_pairs(name: str) -> None:
    """Full-batch Adam until the loss is below 0.05 (at most 300 steps); then greedy
    decoding must reproduce at least 90% of the 32 targets exactly."""
    model = build(name).train()
    src, src_mask, tgt_in, tgt_out = pairs(32, seed=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        loss = F.cross_entropy(
            model(src, src_mask, tgt_in).flatten(0, 1), tgt_out.flatten(), ignore_index=PAD
        )
        if loss.item() < 0.05:
            break
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    model.eval()
    with torch.no_grad():
        output = greedy(model, src, src_mask, tgt_out.size(1))
    real = tgt_out != PAD
    exact = ((output == tgt_out) | ~real).all(dim=1).float().mean().item()
    assert exact >= 0.9, f"{name}: loss {loss.item():.3f}, reproduced {exact:.0%} of the targets"
