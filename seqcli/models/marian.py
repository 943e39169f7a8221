"""MarianMT checkpoints (Junczys-Dowmunt et al. 2018, Marian: Fast Neural Machine
Translation in C++) as a seqcli Transformer: the config and the tensors.

transformers' MarianMTModel, which the OPUS-MT models (Tiedemann & Thottingal 2020)
load into, is the Transformer of Vaswani et al. 2017 with a few choices of its own.
Each is a `TransformerConfig` field, so the imported model is an ordinary
`Transformer` and nothing outside `models/` learns that it was imported:

    Marian                                     TransformerConfig
    post-LN, no final stack norm               pre_norm = False
    embeddings × √d_model (scale_embedding)    scale_embeddings
    swish (= SiLU) in the FFN                  activation = "swish"
    sinusoids as all sines, then all cosines   positions = "concatenated"
    one table: source, target, output          share_embeddings, tie_embeddings
    final_logits_bias                          the output bias seqcli always has

Ids. seqcli fixes pad 0, unk 1, bos 2, eos 3 for every run, and batching, decoding,
the loss and the attention labels rely on it; Marian numbers eos 0, unk 1 and pad
last, and has no <bos>: its decoder starts from <pad>'s embedding. The import
renumbers the vocabulary (`vocabulary_order`) instead of teaching decoding another
start token: Marian's start row becomes seqcli's <bos> and also fills seqcli's
<pad> row, which only padded positions read (masked as keys, cut from the loss).
So the run holds one row more than Marian's table (never emitted: decoding bars
<pad> and <bos>), and every consumer keeps the one convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from seqcli.core.errors import SeqcliError
from seqcli.models.transformer import TransformerConfig, positional_encoding

ARCH = "transformer"  # the registry entry an imported checkpoint becomes: an ordinary run of it
ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "swish": "swish", "silu": "swish"}
# Keys older MarianMT configs (transformers 3) wrote, with the only value seqcli can build.
# (Their add_bias_logits is not among them: final_logits_bias is always added, as today.)
_FIXED = {
    "static_position_embeddings": (True, "learned position embeddings"),
    "normalize_before": (False, "pre-LN layers"),
    "add_final_layer_norm": (False, "a final layer norm"),
    "normalize_embedding": (False, "a layer norm on the embeddings"),
    "layernorm_embedding": (False, "a layer norm on the embeddings"),
}
_ATTENTION = {"q_proj": "query", "k_proj": "key", "v_proj": "value", "out_proj": "out"}
_ENCODER = {"self_attn": "self_attention", "self_attn_layer_norm": "attention_residual.norm",
            "fc1": "feed_forward.inner", "fc2": "feed_forward.outer", "final_layer_norm": "ffn_residual.norm"}
_DECODER = {"self_attn": "self_attention", "self_attn_layer_norm": "self_residual.norm",
            "encoder_attn": "cross_attention", "encoder_attn_layer_norm": "cross_residual.norm",
            "fc1": "feed_forward.inner", "fc2": "feed_forward.outer", "final_layer_norm": "ffn_residual.norm"}
_EMBEDDINGS = ("model.shared.weight", "model.encoder.embed_tokens.weight",
               "model.decoder.embed_tokens.weight", "lm_head.weight")
_POSITIONS = ("model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight")


def transformer_config(hf: Mapping[str, Any], vocab_size: int) -> TransformerConfig:
    """The TransformerConfig of a MarianMT config.json; vocab_size: seqcli's (Marian's + <bos>).

    Anything seqcli's Transformer cannot compute exactly is a SeqcliError naming the field.
    """
    if hf.get("model_type") != "marian":
        raise SeqcliError(f"model_type {hf.get('model_type')!r} is not MarianMT ('marian'), "
                          "the only kind seqcli imports")
    activation = hf.get("activation_function", "gelu")
    if activation not in ACTIVATIONS:
        raise SeqcliError(f"activation_function {activation!r} is not supported "
                          f"(seqcli's Transformer has {', '.join(ACTIVATIONS)})")
    for key, (value, what) in _FIXED.items():
        if key in hf and bool(hf[key]) != value:
            raise SeqcliError(f"{key} {str(hf[key]).lower()} asks for {what}, which seqcli's Transformer "
                              "lacks (post-LN, fixed sinusoids); not supported")
    for a, b in (("encoder_attention_heads", "decoder_attention_heads"), ("encoder_ffn_dim", "decoder_ffn_dim")):
        if hf.get(a) != hf.get(b):
            raise SeqcliError(f"{a} {hf.get(a)} and {b} {hf.get(b)} differ; seqcli's Transformer has one value")
    if hf.get("decoder_vocab_size") not in (None, hf.get("vocab_size")):
        raise SeqcliError("separate source and target vocabularies (decoder_vocab_size) are not supported")
    try:
        enc, dec = int(hf["encoder_layers"]), int(hf["decoder_layers"])
        return TransformerConfig(
            src_vocab=vocab_size, tgt_vocab=vocab_size, d_model=int(hf["d_model"]),
            heads=int(hf["encoder_attention_heads"]), layers=enc, dec_layers=None if dec == enc else dec,
            ffn=int(hf["encoder_ffn_dim"]), dropout=float(hf.get("dropout", 0.1)),
            attention_dropout=float(hf.get("attention_dropout", 0.0)),
            max_len=int(hf.get("max_position_embeddings", 512)), pre_norm=False,
            tie_embeddings=bool(hf.get("tie_word_embeddings", True)), activation=ACTIVATIONS[activation],
            positions="concatenated", scale_embeddings=bool(hf.get("scale_embedding", False)),
            share_embeddings=bool(hf.get("share_encoder_decoder_embeddings", True)),
        )
    except KeyError as e:
        raise SeqcliError(f"config.json lacks {e.args[0]}") from None
    except (TypeError, ValueError) as e:
        raise SeqcliError(f"config.json: {e}") from None


def describe(config: TransformerConfig) -> str:
    """The imported architecture in a few words, for the import's report."""
    c = config
    return (f"MarianMT: {c.encoder_layers}+{c.decoder_layers} layers, d_model {c.d_model}, {c.heads} heads, "
            f"{c.activation}")


def vocabulary_order(size: int, pad: int, unk: int, eos: int, start: int) -> list[int]:
    """Marian's id for each seqcli id: <pad>, <unk>, <bos> (the decoder's start), <eos>, the rest.

    With Marian's start token its <pad> (always, in OPUS-MT), that row serves twice
    and the list is one longer than Marian's vocabulary.
    """
    specials = [pad, unk, start, eos]
    return specials + [i for i in range(size) if i not in specials]


def transformer_weights(tensors: Mapping[str, Tensor], config: TransformerConfig,
                        order: list[int]) -> dict[str, Tensor]:
    """seqcli's state dict from MarianMTModel's tensors, rows renumbered by `order`.

    Raises a SeqcliError for a tensor that is not part of a MarianMT model seqcli
    can compute: learned positions, an unknown name.
    """
    rows = torch.tensor(order)
    out: dict[str, Tensor] = {}
    present = [n for n in _EMBEDDINGS if n in tensors]
    if not present:
        raise SeqcliError("no embedding table (model.shared.weight) among the tensors")

    def table(*names: str) -> Tensor:
        name = next((n for n in names if n in tensors), present[0])
        return tensors[name].float().index_select(0, rows)

    out["tgt_embed.weight"] = table("model.decoder.embed_tokens.weight", "model.shared.weight")
    if not config.share_embeddings:
        out["src_embed.weight"] = table("model.encoder.embed_tokens.weight", "model.shared.weight")
    if not config.tie_embeddings:
        out["output_weight"] = table("lm_head.weight")
    bias = tensors.get("final_logits_bias")
    out["output_bias"] = (torch.zeros(len(order)) if bias is None
                          else bias.float().reshape(-1).index_select(0, rows))
    for name, value in tensors.items():
        if name in _EMBEDDINGS or name == "final_logits_bias":
            continue
        if name in _POSITIONS:
            _check_sinusoids(name, value, config)
            continue
        ours = _layer_name(name)
        if ours is None:
            raise SeqcliError(f"tensor {name} is not part of a MarianMT model seqcli knows")
        out[ours] = value.float()
    return out


def _layer_name(name: str) -> str | None:
    """seqcli's name of one layer tensor, e.g. model.decoder.layers.3.encoder_attn.k_proj.weight
    -> decoder.3.cross_attention.key.weight; None for a name outside the layers."""
    parts = name.split(".")
    if len(parts) < 6 or parts[0] != "model" or parts[2] != "layers" or not parts[3].isdigit():
        return None
    stack, index, module, rest = parts[1], parts[3], parts[4], parts[5:]
    modules = {"encoder": _ENCODER, "decoder": _DECODER}.get(stack, {})
    if module not in modules:
        return None
    if len(rest) == 2:  # an attention projection
        if rest[0] not in _ATTENTION:
            return None
        rest = [_ATTENTION[rest[0]], rest[1]]
    return ".".join([stack, index, modules[module], *rest])


def _check_sinusoids(name: str, table: Tensor, config: TransformerConfig) -> None:
    """Older checkpoints store the position table: it must be Marian's fixed sinusoids."""
    expected = positional_encoding(table.size(0), config.d_model, config.positions)
    if table.shape != expected.shape or (table.float() - expected).abs().max() > 1e-4:
        raise SeqcliError(f"{name} holds learned position embeddings, not the fixed sinusoids "
                          "seqcli's Transformer computes; not supported")
