"""`--explain`: the four kinds of attention computed step by step."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from rich.console import Console

from seqcli.core.errors import SeqcliError
from seqcli.views.explain import (
    FORMULA,
    KINDS,
    explain,
    fresh_embeddings,
    render,
    to_json,
    words,
)
from seqcli.views.heatmap import MARK, MASKED

SENTENCE = "Tourists visit Finland to watch Northern lights."


@pytest.fixture
def tokens() -> list[str]:
    return words(SENTENCE)


def test_words_split_punctuation(tokens: list[str]) -> None:
    assert tokens == ["Tourists", "visit", "Finland", "to", "watch", "Northern", "lights", "."]


def test_fresh_embedding_is_seeded_and_per_word() -> None:
    toks = ["the", "cat", "the"]
    a, b = fresh_embeddings(toks, seed=3), fresh_embeddings(toks, seed=3)
    assert a.shape == (3, 8)
    assert torch.equal(a, b)
    assert torch.equal(a[0], a[2])  # the same word, the same vector
    assert not torch.equal(a, fresh_embeddings(toks, seed=4))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gives_row_stochastic_weights(kind: str, tokens: list[str]) -> None:
    x = fresh_embeddings(tokens)
    ex = explain(kind, tokens, x)
    assert ex.weights is not None and ex.context is not None
    t = len(tokens)
    assert ex.weights.shape[1:] == (t, t)
    np.testing.assert_allclose(ex.weights.sum(-1), 1.0, atol=1e-5)
    assert ex.context.shape[0] == t
    assert [s.title for s in ex.stages][0] == "inputs"


def test_simplified_is_softmax_of_dot_products(tokens: list[str]) -> None:
    x = fresh_embeddings(tokens)
    ex = explain("simplified", tokens, x)
    expected = torch.softmax(x @ x.T, dim=-1)
    np.testing.assert_allclose(ex.weights[0], expected.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ex.context, (expected @ x).numpy(), rtol=1e-5, atol=1e-6)


def test_self_attention_matches_torch_sdpa(tokens: list[str]) -> None:
    """Rebuild Q, K, V from the same seed and check against PyTorch's own kernel."""
    x = fresh_embeddings(tokens, dim=8)
    ex = explain("self", tokens, x, d_k=4, seed=5)
    gen = torch.Generator().manual_seed(5)
    rms = float(x.pow(2).mean().sqrt())
    w = [torch.randn(8, 4, generator=gen) / (math.sqrt(8) * rms) for _ in range(3)]
    q, k, v = (x @ m for m in w)
    ref = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None])[0]
    np.testing.assert_allclose(ex.context, ref.numpy(), rtol=1e-4, atol=1e-5)
    scores = next(s for s in ex.stages if s.title == "scores").matrix
    np.testing.assert_allclose(scores, (q @ k.T / 2).numpy(), rtol=1e-5, atol=1e-6)


def test_causal_hides_the_future(tokens: list[str]) -> None:
    x = fresh_embeddings(tokens)
    ex = explain("causal", tokens, x)
    w = ex.weights[0]
    assert np.all(np.triu(w, 1) == 0)
    assert w[0, 0] == pytest.approx(1.0)  # the first token can only see itself
    mask = next(s for s in ex.stages if s.title == "mask").matrix
    assert np.isnan(mask[np.triu_indices(len(tokens), 1)]).all()
    assert np.isfinite(mask[np.tril_indices(len(tokens))]).all()
    # Causal weights are self-attention's restricted to the past, renormalised.
    full = explain("self", tokens, x).weights[0]
    last = len(tokens) - 1
    np.testing.assert_allclose(w[last], full[last], rtol=1e-5)  # the last row sees everything


def test_multihead_has_one_map_per_head_and_model_width_output(tokens: list[str]) -> None:
    x = fresh_embeddings(tokens, dim=8)
    ex = explain("multihead", tokens, x, heads=4)
    assert ex.weights.shape == (4, len(tokens), len(tokens))
    assert ex.context.shape == (len(tokens), 8)
    assert not np.allclose(ex.weights[0], ex.weights[1])  # heads differ
    with pytest.raises(SeqcliError, match="heads"):
        explain("multihead", tokens, x, heads=9)


def test_unknown_kind_lists_valid_ones(tokens: list[str]) -> None:
    with pytest.raises(SeqcliError, match="did you mean 'causal'"):
        explain("casual", tokens, fresh_embeddings(tokens))


def test_empty_sentence_is_an_error() -> None:
    with pytest.raises(SeqcliError, match="no tokens"):
        explain("self", [], torch.zeros(0, 8))


@pytest.mark.parametrize("kind", KINDS)
def test_render_shows_formula_stages_heatmaps_and_shapes(kind: str, tokens: list[str]) -> None:
    ex = explain(kind, tokens, fresh_embeddings(tokens), origin="fresh, seed 0")
    console = Console(record=True, width=80, no_color=True, file=io.StringIO())
    console.print(render(ex))
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert ex.formula in text
    if kind in ("self", "causal"):
        assert ex.formula.startswith(FORMULA)
    for i, stage in enumerate(ex.stages, 1):
        assert f"{i}. {stage.title}" in text
    assert f"[{len(tokens)}, 8]" in text  # the shapes are printed
    assert MARK in text and "Tourists" in text
    assert (f"{MASKED} masked" in text) == (kind == "causal")  # the legend names it


def test_json_marks_masked_cells_as_null(tokens: list[str]) -> None:
    data = json.loads(json.dumps(to_json(explain("causal", tokens, fresh_embeddings(tokens)))))
    mask = next(s for s in data["stages"] if s["title"] == "mask")["matrix"]
    assert mask[0][1] is None and mask[1][0] is not None
    assert data["tokens"] == tokens and data["formula"].startswith(FORMULA)
