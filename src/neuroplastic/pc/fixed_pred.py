"""Fixed-prediction assumption (FPA): predictions frozen at v̂, Jacobians at v̂, ε_L = δ_L held fixed.

Starting from beliefs v^(0) (the feedforward values unless given), step i computes
ε_l^(i) = v̂_l − v_l^(i−1) and v_l^(i) = v_l^(i−1) + η(ε_l^(i) − Σ_c [J_c(v̂)ᵀ ε_c^(i)]_l), the sum over the layers c
that read layer l (in a chain only c = l + 1), for all layers at once (Jacobi order). In error form this is the
linear recursion

    ε_l^(i+1) = (1 − η) ε_l^(i) + η Σ_c [J_c(v̂)ᵀ ε_c^(i)]_l,

which is iterated directly (``storage="offsets"``: never as differences of O(1) beliefs, so float32 does not
cancel). From v^(0) = v̂ in a chain, ε_l^(n) = P[Binomial(n−1, η) ≥ L−l] δ_l; η = 1 and n = the longest chain of
layers give backprop exactly. Learning uses ε^(n); the returned beliefs are v^(n) = v̂ − ε^(n+1).
``storage="absolute"`` is Torch2PC's arithmetic, kept to reproduce its float32 artefacts: beliefs held as
absolute values and the errors taken as their differences v̂ − v.
"""

from __future__ import annotations

from typing import Literal

import torch

from neuroplastic.pc.feedforward import Feedforward

Storage = Literal["offsets", "absolute"]
STORAGES = ("offsets", "absolute")


def fixed_pred_errors(
    ff: Feedforward, *, eta: float, n: int, initial: list[torch.Tensor | None], storage: Storage = "offsets"
) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None]]:
    """Return (ε^(n), ε^(n+1)), each indexed 0..L; ``initial`` holds ε^(1) for the hidden layers (``None`` = 0).

    ``None`` stands for an exact zero and skips its Jacobian product; with η = 1 a layer whose errors did not
    change is not pulled back again, so η = 1, n = L costs one pullback per layer.
    """
    if storage == "absolute":
        return _absolute_beliefs(ff, eta=eta, n=n, initial=initial)
    depth = ff.layers.depth
    eps: list[torch.Tensor | None] = [None, *initial[1:depth], ff.dloss_dyhat]
    pulled = _Pullbacks(ff, reuse=eta == 1.0)
    previous = eps
    for _ in range(n):
        incoming = pulled(eps)
        previous, eps = eps, [None, *(_combine(eps[l], incoming[l], eta) for l in range(1, depth)), eps[depth]]
    return previous, eps


def _absolute_beliefs(
    ff: Feedforward, *, eta: float, n: int, initial: list[torch.Tensor | None]
) -> tuple[list[torch.Tensor | None], list[torch.Tensor | None]]:
    """Torch2PC's FixedPred: v ← v + η(ε − Σ_c J_cᵀ ε_c) with ε = v̂ − v recomputed from absolute beliefs."""
    depth = ff.layers.depth
    vhat = ff.vhat()
    beliefs = [vhat[l] if initial[l] is None else vhat[l] - initial[l] for l in range(depth)]
    pulled = _Pullbacks(ff, reuse=False)

    def errors() -> list[torch.Tensor | None]:
        return [None, *(vhat[l] - beliefs[l] for l in range(1, depth)), ff.dloss_dyhat]

    eps = errors()
    for _ in range(n):
        incoming = pulled(eps)
        for l in range(1, depth):
            drive = eps[l] if incoming[l] is None else eps[l] - incoming[l]
            beliefs[l] = beliefs[l] + eta * drive
        previous, eps = eps, errors()
    return previous, eps


class _Pullbacks:
    """Σ_c [J_c(v̂)ᵀ ε_c]_l for every layer l, from one pullback per layer c with a non-zero error.

    With ``reuse`` (η = 1) a layer whose error is the same tensor as at its last pullback is not pulled back
    again, and a sum of unchanged terms is the same tensor as before, so unchanged errors stay identical objects.
    """

    def __init__(self, ff: Feedforward, *, reuse: bool):
        self.ff, self.reuse = ff, reuse
        self.pulled: dict[int, tuple[torch.Tensor, dict[int, torch.Tensor]]] = {}
        self.sums: dict[int, tuple[list[torch.Tensor], torch.Tensor]] = {}

    def __call__(self, eps: list[torch.Tensor | None]) -> list[torch.Tensor | None]:
        depth = self.ff.layers.depth
        terms: list[list[torch.Tensor]] = [[] for _ in range(depth + 1)]
        for c in range(2, depth + 1):
            if eps[c] is None:
                continue
            if self.reuse and c in self.pulled and self.pulled[c][0] is eps[c]:
                contributions = self.pulled[c][1]
            else:
                contributions = self.ff.pullback(c, eps[c])
                self.pulled[c] = (eps[c], contributions)
            for j, term in contributions.items():
                terms[j].append(term)
        return [self._sum(j, terms[j]) for j in range(depth + 1)]

    def _sum(self, j: int, terms: list[torch.Tensor]) -> torch.Tensor | None:
        if len(terms) <= 1:
            return terms[0] if terms else None
        if self.reuse and j in self.sums and _same(self.sums[j][0], terms):
            return self.sums[j][1]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        self.sums[j] = (terms, total)
        return total


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(s is t for s, t in zip(a, b, strict=True))


def _combine(old: torch.Tensor | None, pulled: torch.Tensor | None, eta: float) -> torch.Tensor | None:
    """(1 − η)·old + η·pulled, where ``None`` is zero."""
    if pulled is None:
        return None if old is None or eta == 1.0 else (1 - eta) * old
    if old is None or eta == 1.0:
        return eta * pulled if eta != 1.0 else pulled
    return (1 - eta) * old + eta * pulled
