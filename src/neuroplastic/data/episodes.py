"""N-way K-shot episodes for meta-learning: class-level splits and a seeded episode sampler."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch


def split_classes(classes: Sequence[int] | torch.Tensor, n_test: int, *, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split ``classes`` at random into ``(train_classes, test_classes)``, with ``n_test`` test classes (sorted)."""
    ids = [int(c) for c in classes]
    if len(set(ids)) != len(ids):
        raise ValueError("classes contains duplicates")
    if not 0 < n_test < len(ids):
        raise ValueError(f"n_test must be between 1 and {len(ids) - 1} for {len(ids)} classes, got {n_test}")
    order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(seed)).tolist()
    test = sorted(ids[i] for i in order[:n_test])
    train = sorted(ids[i] for i in order[n_test:])
    return train, test


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot task: indices into the dataset, with labels relabelled 0..N−1 in the order of ``classes``.

    ``classes`` holds the original class ids; the support set is shuffled (online learners consume it one
    sample at a time), as is the query set.
    """

    classes: torch.Tensor
    support_idx: torch.Tensor
    support_labels: torch.Tensor
    query_idx: torch.Tensor
    query_labels: torch.Tensor


class EpisodeSampler:
    """Sample N-way K-shot episodes from ``labels``, drawing classes from ``classes``; seeded and reproducible.

    Every episode draws ``n_way`` distinct classes and, per class, ``k_shot + n_query`` distinct samples
    split into support and query. Iterating yields episodes without end (use `itertools.islice`).
    """

    def __init__(
        self,
        labels: torch.Tensor,
        classes: Sequence[int] | torch.Tensor,
        n_way: int,
        k_shot: int,
        n_query: int,
        *,
        seed: int = 0,
    ) -> None:
        self.classes = torch.as_tensor([int(c) for c in classes], dtype=torch.int64)
        self.n_way, self.k_shot, self.n_query = n_way, k_shot, n_query
        if len(self.classes.unique()) != len(self.classes):
            raise ValueError("classes contains duplicates")
        if min(n_way, k_shot) < 1 or n_query < 0:
            raise ValueError(f"need n_way >= 1, k_shot >= 1, n_query >= 0; got {n_way}, {k_shot}, {n_query}")
        if n_way > len(self.classes):
            raise ValueError(f"n_way={n_way} exceeds the {len(self.classes)} classes available")
        labels = torch.as_tensor(labels).long()
        order = torch.argsort(labels, stable=True)
        sorted_labels = labels[order]
        starts = torch.searchsorted(sorted_labels, self.classes)
        ends = torch.searchsorted(sorted_labels, self.classes, right=True)
        self._members = [order[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        need = k_shot + n_query
        short = {int(c): len(m) for c, m in zip(self.classes, self._members, strict=True) if len(m) < need}
        if short:
            raise ValueError(f"classes with fewer than k_shot + n_query = {need} samples (class: count): {short}")
        self._gen = torch.Generator().manual_seed(seed)

    def sample(self) -> Episode:
        """Draw the next episode."""
        gen = self._gen
        chosen = torch.randperm(len(self.classes), generator=gen)[: self.n_way]
        support, query = [], []
        for j in chosen.tolist():
            members = self._members[j]
            picked = members[torch.randperm(len(members), generator=gen)[: self.k_shot + self.n_query]]
            support.append(picked[: self.k_shot])
            query.append(picked[self.k_shot :])
        ways = torch.arange(self.n_way)
        support_idx, support_labels = torch.cat(support), ways.repeat_interleave(self.k_shot)
        query_idx, query_labels = torch.cat(query), ways.repeat_interleave(self.n_query)
        s = torch.randperm(len(support_idx), generator=gen)
        q = torch.randperm(len(query_idx), generator=gen)
        return Episode(self.classes[chosen], support_idx[s], support_labels[s], query_idx[q], query_labels[q])

    def __iter__(self) -> Iterator[Episode]:
        while True:
            yield self.sample()
