"""Token-budget batches of encoded pairs: length-bucketed, padded, masked.

Every source is `tokens + [EOS]`; the decoder reads `[BOS] + tokens` and is trained
to predict `tokens + [EOS]`, so both target tensors have the same length. Masks are
bool, True = real token (the convention of `seqcli.models.base`).

Batching sorts pairs by length (with a seeded random tie-break) and cuts the sorted
list greedily so that batch_size * longest sequence <= batch_tokens: pairs of
similar length share a batch and little is padding. With shuffle, the batch order
is then shuffled. Both steps depend only on (seed, epoch), so a resumed run can
rebuild an epoch and skip to where it stopped; every pair is in exactly one batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar, overload

import torch
from torch import Tensor

from seqcli.core.tokens import BOS, EOS, PAD
from seqcli.data.corpus import Pair
from seqcli.data.tokenizers import Tokenizer

T = TypeVar("T")


class LazySequence(Sequence[T]):
    """A read-only sequence whose item i is built when it is read; a slice gives a list.

    Subclasses define `__len__` and `item`. Indexing takes both overloads of
    Sequence.__getitem__, so a lazy sequence stands wherever a list is read.
    """

    def item(self, i: int) -> T:
        """Build item i (negative i counts from the end, as a list's)."""
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self.item(j) for j in range(*i.indices(len(self)))]
        return self.item(i)


@dataclass
class Batch:
    """One padded batch; B pairs, S source positions, T target positions."""

    src: Tensor  # [B, S] long: tokens + EOS, PAD after
    src_mask: Tensor  # [B, S] bool, True = real token
    tgt_in: Tensor  # [B, T] long: BOS + tokens
    tgt_out: Tensor  # [B, T] long: tokens + EOS
    tgt_mask: Tensor  # [B, T] bool, True = real token (same for tgt_in and tgt_out)
    index: Tensor  # [B] long: position of each pair in the list given to encode_pairs

    def to(self, device: torch.device | str) -> Batch:
        """Move every tensor to device (non-blocking where the source is pinned)."""
        return Batch(*(t.to(device, non_blocking=True) for t in
                       (self.src, self.src_mask, self.tgt_in, self.tgt_out, self.tgt_mask, self.index)))

    @property
    def n_src_tokens(self) -> int:
        """Real source tokens (EOS included)."""
        return int(self.src_mask.sum())

    @property
    def n_tgt_tokens(self) -> int:
        """Real target tokens predicted (EOS included): what a loss is averaged over."""
        return int(self.tgt_mask.sum())

    def __len__(self) -> int:
        return self.src.shape[0]


@dataclass
class Encoded:
    """Token ids of a dataset (no specials), and where each pair came from.

    Treat it as immutable once made: batching caches flat tensors of its ids.
    """

    src: Sequence[list[int]]  # lists, or (MappedPairs) rows read from disk when indexed
    tgt: Sequence[list[int]]
    index: list[int] = field(default_factory=list)  # position in the original pair list
    dropped: int = 0  # pairs left out by encode_pairs for being too long
    _flat: tuple[_Flat, _Flat] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = list(range(len(self.src)))
        if not len(self.src) == len(self.tgt) == len(self.index):
            raise ValueError("src, tgt and index must have the same length")

    def __len__(self) -> int:
        return len(self.src)

    def lengths(self) -> list[tuple[int, int]]:
        """(source + EOS, BOS + target) length of every pair: the positions it takes."""
        return [(len(s) + 1, len(t) + 1) for s, t in zip(self.src, self.tgt, strict=True)]

    def n_tokens(self) -> int:
        """Real positions the model sees, both sides (a budget unit)."""
        return sum(a + b for a, b in self.lengths())

    def flat(self) -> tuple[_Flat, _Flat]:
        """All sources (+ EOS) and all targets (BOS + . + EOS) as flat tensors, built once."""
        if self._flat is None:
            self._flat = (_Flat.of(self.src, [], [EOS]), _Flat.of(self.tgt, [BOS], [EOS]))
        return self._flat


@dataclass
class _Flat:
    """Rows laid end to end: ids [N] plus each row's start and length [rows]."""

    ids: Tensor
    starts: Tensor
    lengths: Tensor

    @classmethod
    def of(cls, rows: Sequence[list[int]], before: list[int], after: list[int]) -> _Flat:
        flat: list[int] = []
        starts = []
        for row in rows:  # one torch.tensor call on a flat list: much faster than per batch
            starts.append(len(flat))
            flat += before
            flat += row
            flat += after
        lengths = [len(row) + len(before) + len(after) for row in rows]
        return cls(torch.tensor(flat, dtype=torch.long), torch.tensor(starts), torch.tensor(lengths))

    def gather(self, members: Tensor, shift: int = 0, trim: int = 0) -> tuple[Tensor, Tensor]:
        """Padded ids [B, L] and mask [B, L] of rows `members`, each read from start + shift
        and trim positions shorter than stored."""
        lengths = self.lengths[members] - trim  # [B]
        span = torch.arange(int(lengths.max()))  # [L]
        mask = span[None, :] < lengths[:, None]  # [B, L], True = real token
        where = (self.starts[members] + shift)[:, None] + span[None, :]  # [B, L]
        where = where.clamp_(max=len(self.ids) - 1).view(-1)  # [B * L]
        # index_select on a flat index is far cheaper than advanced indexing with a 2-D one.
        # .long(): prepared (memory-mapped) datasets store ids as int32; a no-op for int64.
        ids = self.ids.index_select(0, where).long().view(mask.shape).masked_fill_(~mask, PAD)
        return ids, mask


def encode_pairs(pairs: Sequence[Pair], src_tok: Tokenizer, tgt_tok: Tokenizer,
                 max_tokens: int | None = None) -> Encoded:
    """Encode pairs; with max_tokens, drop (and count) pairs whose source + EOS or
    BOS + target is longer than max_tokens."""
    src = src_tok.encode_batch([s for s, _ in pairs])
    tgt = tgt_tok.encode_batch([t for _, t in pairs])
    if max_tokens is None:
        return Encoded(src, tgt)
    keep = [i for i in range(len(src)) if max(len(src[i]), len(tgt[i])) + 1 <= max_tokens]
    return Encoded([src[i] for i in keep], [tgt[i] for i in keep], keep, len(src) - len(keep))


def _collate(data: Encoded, members: list[int]) -> Batch:
    """Build one batch from the positions `members` of data."""
    flat_src, flat_tgt = data.flat()
    rows = torch.tensor(members)  # [B]
    src, src_mask = flat_src.gather(rows)  # [B, S]
    tgt_in, _ = flat_tgt.gather(rows, trim=1)  # [B, T]: BOS + tokens
    tgt_out, tgt_mask = flat_tgt.gather(rows, shift=1, trim=1)  # [B, T]: tokens + EOS
    index = torch.tensor([data.index[i] for i in members])  # [B]
    return Batch(src, src_mask, tgt_in, tgt_out, tgt_mask, index)


def batch_plan(data: Encoded, batch_tokens: int, *, shuffle: bool, seed: int = 0,
               epoch: int = 0, batch_sents: int | None = None) -> list[list[int]]:
    """The positions in each batch, in order; a pure function of its arguments.

    batch_sents: batches of that many pairs (the last may hold fewer), still cut from
    the length-sorted list, instead of the token budget.
    """
    if batch_tokens <= 0:
        raise ValueError(f"batch_tokens must be positive, got {batch_tokens}")
    rng = random.Random(f"seqcli-batches:{seed}:{epoch}")
    lengths = data.lengths()
    tie = [rng.random() for _ in lengths] if shuffle else list(range(len(lengths)))
    # Sort by the longer side (what the budget counts), then by source and target length
    # so that both sides of a batch have similar lengths and pad little.
    order = sorted(range(len(lengths)), key=lambda i: (max(lengths[i]), *lengths[i], tie[i]))
    plan: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        longest_with = max(longest, *lengths[i])
        full = len(current) >= batch_sents if batch_sents else (len(current) + 1) * longest_with > batch_tokens
        if current and full:
            plan.append(current)  # full: start a new batch (an over-long pair stands alone)
            current, longest_with = [], max(lengths[i])
        current.append(i)
        longest = longest_with
    if current:
        plan.append(current)
    if shuffle:
        rng.shuffle(plan)
    return plan


def make_batches(data: Encoded, batch_tokens: int, *, shuffle: bool, seed: int = 0,
                 epoch: int = 0) -> list[Batch]:
    """Cut data into padded batches of at most batch_tokens positions per side.

    Each batch satisfies B * max(S, T) <= batch_tokens unless it holds a single pair
    that is longer by itself. The order is fixed by (seed, epoch).
    """
    return [_collate(data, members) for members in
            batch_plan(data, batch_tokens, shuffle=shuffle, seed=seed, epoch=epoch)]


class PlannedBatches(LazySequence[Batch]):
    """The batches of a plan, each collated when it is read.

    An epoch never sits in memory as padded tensors all at once: with a prepared,
    memory-mapped dataset only the ids of the batch being read are touched.
    """

    def __init__(self, data: Encoded, plan: list[list[int]]) -> None:
        self.data, self.plan = data, plan

    def __len__(self) -> int:
        return len(self.plan)

    def item(self, i: int) -> Batch:
        """Collate batch i of the plan."""
        return _collate(self.data, self.plan[i])


def collate_source(src_ids: list[list[int]]) -> tuple[Tensor, Tensor]:
    """Pad sources for decoding: returns src [B, S] (tokens + EOS, PAD after) and its mask."""
    if not src_ids:
        return torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, dtype=torch.bool)
    flat = _Flat.of([list(ids) for ids in src_ids], [], [EOS])
    return flat.gather(torch.arange(len(src_ids)))  # [B, S], [B, S]


def padding_fraction(batches: Sequence[Batch]) -> float:
    """Share of all source and target positions that are padding (0 = none)."""
    total = sum(b.src.numel() + b.tgt_out.numel() for b in batches)
    real = sum(b.n_src_tokens + b.n_tgt_tokens for b in batches)
    return 1.0 - real / total if total else 0.0
