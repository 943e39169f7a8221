"""The engine of `seqcli attend`: (run, sentence) -> tokens and attention maps as plain data.

It talks to the model only through the one interface (decode.translate, then
decode.attention_maps re-running encode/decode with weights on) and the capability
flags `has_attention` and `hard_attention`; it never asks which architecture it holds. What comes out is
labels and numpy arrays, which `seqcli.views.heatmap` draws and `--json` prints.

Map names are "<kind>.<layer>" ("cross.0", "encoder-self.2", "decoder-self.5"),
each [H, rows, cols]. Rows and columns, given the decoder reads [<bos>] + output and
predicts output + [<eos>], and the encoder reads source + [<eos>]:
    cross          rows: output + <eos> (what each step predicted)  cols: source + <eos>
    encoder-self   rows and cols: source + <eos>
    decoder-self   rows and cols: <bos> + output (what each step read)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqcli.core.errors import SeqcliError, unknown
from seqcli.inference.decode import attention_maps, translate
from seqcli.models.registry import REGISTRY
from seqcli.runs.directory import Run

BOS_LABEL, EOS_LABEL = "<bos>", "<eos>"
KIND_NAMES = {
    "cross": "cross-attention",
    "encoder-self": "encoder self-attention",
    "decoder-self": "decoder self-attention",
}
IMAGE_EXTRA = "pip install 'seqcli[plot]'"


@dataclass
class Attention:
    """A sentence, its translation, and every attention map the model returned."""

    arch: str
    sentence: str
    translation: str
    source: list[str]  # source token labels + <eos>
    output: list[str]  # output token labels + <eos>
    decoder_inputs: list[str]  # <bos> + output token labels
    maps: dict[str, np.ndarray]  # "<kind>.<layer>" -> [H, rows, cols]
    hard: bool = False  # the model picks one source position (one-hot alignments)

    def kinds(self) -> list[str]:
        """Map kinds present, in a stable order (cross first)."""
        found = {split_name(n)[0] for n in self.maps}
        return sorted(found, key=lambda k: (list(KIND_NAMES).index(k) if k in KIND_NAMES else 9, k))

    def layers(self, kind: str) -> int:
        """Number of layers with a map of this kind."""
        return sum(1 for n in self.maps if split_name(n)[0] == kind)

    def axes(self, kind: str) -> tuple[list[str], list[str], list[bool], list[bool]]:
        """Row labels, column labels, and which rows/columns are <bos>/<eos>."""
        src_special = [False] * (len(self.source) - 1) + [True]
        out_special = [False] * (len(self.output) - 1) + [True]
        dec_special = [True] + [False] * (len(self.decoder_inputs) - 1)
        if kind == "encoder-self":
            return self.source, self.source, src_special, src_special
        if kind == "decoder-self":
            return self.decoder_inputs, self.decoder_inputs, dec_special, dec_special
        return self.output, self.source, out_special, src_special


def split_name(name: str) -> tuple[str, int]:
    """'cross.3' -> ('cross', 3); a name without a layer is layer 0."""
    kind, _, layer = name.rpartition(".")
    return (kind, int(layer)) if kind and layer.isdigit() else (name, 0)


def attention_archs() -> list[str]:
    """Registry names of the models that have attention to show."""

    return [name for name, arch in REGISTRY.items() if arch.model.has_attention]


def compute(run: Run, sentence: str, beam: int = 1) -> Attention:
    """Translate one sentence with a loaded run and collect all its attention maps."""

    sentence = sentence.strip()
    if not sentence:
        raise SeqcliError("empty sentence: give one as an argument or as a line on stdin")
    model = run.model
    if not model.has_attention:
        raise SeqcliError(
            f"{run.arch.name} has no attention to show: it is a fixed-context model, whose "
            "encoder squeezes the whole sentence into one context vector that the decoder "
            f"never looks back through; try a run of {', '.join(attention_archs())}")
    result = translate(run, [sentence], beam=beam)[0]
    enc, dec = attention_maps(model, list(result.src_ids), list(result.ids))
    maps = {name: m[0].detach().float().cpu().numpy() for name, m in {**enc, **dec}.items()}
    if not maps:  # a model that claims attention must return it when weights are asked for
        raise SeqcliError(f"{run.arch.name} returned no attention maps for this sentence")
    src = [run.src_tok.id_to_token(i) for i in result.src_ids]
    out = [run.tgt_tok.id_to_token(i) for i in result.ids]
    return Attention(run.arch.name, sentence, result.text, src + [EOS_LABEL], out + [EOS_LABEL],
                     [BOS_LABEL] + out, maps, model.hard_attention)


@dataclass
class View:
    """What one `attend` invocation shows: one map, or one per head, with labels."""

    title: str
    rows: list[str]
    cols: list[str]
    panels: list[tuple[str, np.ndarray]]  # (panel title, [rows, cols]); several for --heads all
    notes: list[str] = field(default_factory=list)
    name: str = ""  # the map's name, e.g. "cross.5"


def _pick(n: int | None, count: int, what: str) -> int:
    """Turn a 1-based --layer/--head (None = default) into a 0-based index."""
    if n is None:
        return count - 1
    if not 1 <= n <= count:
        valid = "1" if count == 1 else f"1-{count}"
        raise SeqcliError(f"--{what} {n} is out of range: this map has {count} {what}s ({valid})")
    return n - 1


def hide_special(w: np.ndarray, keep_rows: list[bool], keep_cols: list[bool]) -> np.ndarray:
    """Drop rows/columns [.., rows, cols] and renormalise each row to sum to 1."""
    w = w[..., np.array(keep_rows, dtype=bool), :][..., np.array(keep_cols, dtype=bool)]
    total = w.sum(axis=-1, keepdims=True)
    shares: np.ndarray = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return shares


def select(att: Attention, kind: str = "cross", layer: int | None = None, head: int | None = None,
           all_heads: bool = False, hide: bool = False) -> View:
    """Choose a map (kind, 1-based layer; default the last), heads (mean, one, all)."""
    if kind not in att.kinds():
        raise unknown("attention map", kind, att.kinds())
    n_layers = att.layers(kind)
    li = _pick(layer, n_layers, "layer")
    name = f"{kind}.{li}" if f"{kind}.{li}" in att.maps else kind
    maps = att.maps[name]  # [H, rows, cols]
    n_heads = maps.shape[0]
    if head is not None and all_heads:
        raise SeqcliError("--head and --heads all exclude each other; give one")
    rows, cols, row_sp, col_sp = att.axes(kind)
    if all_heads:
        panels = [(f"head {h + 1}", maps[h]) for h in range(n_heads)]
        which = f"all {n_heads} heads" if n_heads > 1 else ""
    elif head is not None:
        h = _pick(head, n_heads, "head")
        panels, which = [(f"head {h + 1}", maps[h])], f"head {h + 1} of {n_heads}"
    else:
        panels = [("", maps.mean(axis=0))]
        which = f"mean of {n_heads} heads" if n_heads > 1 else ""
    notes = []
    if hide:
        keep_r, keep_c = [not s for s in row_sp], [not s for s in col_sp]
        if not any(keep_r) or not any(keep_c):
            raise SeqcliError("nothing left to show without <bos>/<eos>: the translation is empty")
        panels = [(t, hide_special(w, keep_r, keep_c)) for t, w in panels]
        rows = [r for r, k in zip(rows, keep_r, strict=True) if k]
        cols = [c for c, k in zip(cols, keep_c, strict=True) if k]
        notes.append(f"{BOS_LABEL}/{EOS_LABEL} hidden; each row renormalised to sum to 1")
    parts = [f"layer {li + 1} of {n_layers}" if n_layers > 1 else "",
             KIND_NAMES.get(kind, kind), which, "hard attention (one-hot)" if att.hard else ""]
    title = f"{att.arch}: " + ", ".join(p for p in parts if p)
    return View(title, rows, cols, panels, notes, name)


def to_json(att: Attention, view: View | None = None) -> dict[str, Any]:
    """Tokens, translation, every map with its labels, and the selected view."""
    maps = {}
    for name, w in att.maps.items():
        rows, cols, _, _ = att.axes(split_name(name)[0])
        maps[name] = {"rows": rows, "cols": cols, "weights": np.round(w, 6).tolist()}
    out: dict[str, Any] = {
        "arch": att.arch, "sentence": att.sentence, "translation": att.translation,
        "source_tokens": att.source, "output_tokens": att.output,
        "decoder_inputs": att.decoder_inputs, "hard": att.hard, "maps": maps,
    }
    if view is not None:
        out["view"] = {"title": view.title, "map": view.name, "rows": view.rows,
                       "cols": view.cols, "notes": view.notes,
                       "panels": [{"title": t, "weights": np.round(w, 6).tolist()}
                                  for t, w in view.panels]}
    return out


def save_image(view: View, path: str | Path, fmt: str) -> Path:
    """Draw the view with matplotlib (the optional `plot` extra) into a png or svg file."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed; must precede pyplot
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqcliError(f"--{fmt} needs matplotlib, which is not installed: "
                          f"{IMAGE_EXTRA}") from None
    n = len(view.panels)
    cell = 0.45  # inches per cell, so labels stay readable
    width = max(4.0, n * (len(view.cols) * cell + 1.5))
    fig, axes = plt.subplots(1, n, figsize=(width, len(view.rows) * cell + 2), squeeze=False)
    for i, (ax, (title, w)) in enumerate(zip(axes[0], view.panels, strict=True)):
        image = ax.imshow(w, cmap="viridis", vmin=0, vmax=1, aspect="equal")
        ax.set_xticks(range(len(view.cols)), view.cols, rotation=90)
        ax.set_yticks(range(len(view.rows)), view.rows if i == 0 else [])  # shared rows
        # Ring the strongest cell of each row, as ▸ marks it in the terminal.
        ax.scatter(np.argmax(w, axis=-1), range(len(view.rows)), s=60, marker="o",
                   facecolors="none", edgecolors="red", linewidths=1.2)
        if title:
            ax.set_title(title)
    fig.suptitle("\n".join([view.title, *view.notes]))
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    path = Path(path)
    try:
        fig.savefig(path, format=fmt, bbox_inches="tight")
    except OSError as e:
        raise SeqcliError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
    return path
