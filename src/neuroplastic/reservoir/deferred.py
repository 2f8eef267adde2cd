"""The RLS step, on an inverse correlation matrix kept with deferred rank-1 updates: P = P₀ − K diag(d) Kᵀ.

A plain RLS step reads P for k = P r and then reads and writes all of P for P ← P − s c k kᵀ: three passes over N²
numbers, memory-bound at N = 1000. Keeping the last m terms s c k kᵀ as columns of K (N × m) gives the same k with
one pass over P₀, k = P₀ r − K (d ⊙ Kᵀ r), and folds them into P₀ with one matrix product (a GEMM) every m steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

DEFAULT_PENDING = 16


class DeferredInverse:
    """P (B, N, N) of a batch of RLS readouts; :meth:`update_` is the one RLS step of every readout here."""

    def __init__(self, P: torch.Tensor, pending: int = DEFAULT_PENDING):
        batch, n, _ = P.shape
        self.P0, self.pending = P, pending
        self.K = P.new_zeros(batch, n, pending)
        self.d = P.new_zeros(batch, pending)
        self.count = 0

    @property
    def matrix(self) -> torch.Tensor:
        """P itself (pending terms folded in first); in-place changes to it are kept."""
        self._flush()
        return self.P0

    def state_dict(self) -> dict[str, torch.Tensor | int]:
        """P₀, the pending terms K, d and their count."""
        return {"P0": self.P0.clone(), "K": self.K.clone(), "d": self.d.clone(), "count": self.count}

    def load_state_dict(self, state: dict[str, torch.Tensor | int]) -> None:
        """Continue from a :meth:`state_dict` of the same shape."""
        for name in ("P0", "K", "d"):
            getattr(self, name).copy_(state[name])
        self.count = int(state["count"])

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the readouts at batch positions ``rows``."""
        self.P0, self.K, self.d = self.P0[rows], self.K[rows], self.d[rows]

    def _flush(self) -> None:
        if self.count:
            K = self.K[:, :, : self.count]
            self.P0.baddbmm_(K * self.d[:, None, : self.count], K.transpose(1, 2), alpha=-1.0)
            self.count = 0

    def update_(
        self,
        W: torch.Tensor,
        r: torch.Tensor,
        error: torch.Tensor,
        gate: torch.Tensor | float = 1.0,
        rows: Sequence[int] | None = None,
        forgetting: float = 1.0,
    ) -> None:
        """One RLS step in place with a-priori ``error`` e₋ = W r − y (B, d), rates r (B, N), weights W (B, d, N).

        k = P r, c = 1/(λ_f + rᵀk), W ← W − s c e₋ kᵀ, P ← (P − s c k kᵀ)/λ_f, with gate s ∈ [0, 1] per batch
        element and forgetting factor λ_f ∈ (0, 1] (with λ_f < 1 nothing is deferred). ``rows``: only these seeds
        (the others have s = 0).
        """
        if forgetting != 1.0:
            self._flush()
        if rows is None:
            k = torch.bmm(self.P0, r.unsqueeze(2))
        else:
            k = torch.zeros_like(r).unsqueeze_(2)
            for b in rows:  # seeds whose gate is shut skip the pass over their P₀
                torch.mv(self.P0[b], r[b], out=k[b, :, 0])
        if self.count:
            K = self.K[:, :, : self.count]
            correction = self.d[:, : self.count].unsqueeze(2) * torch.bmm(K.transpose(1, 2), r.unsqueeze(2))
            k.baddbmm_(K, correction, alpha=-1.0)
        if rows is not None:
            shut = torch.ones(k.shape[0], dtype=torch.bool, device=k.device)
            shut[list(rows)] = False
            k[shut] = 0  # their s = 0: c = 1, and a zero term
        c = 1.0 / (forgetting + torch.bmm(r.unsqueeze(1), k).view(-1))
        sc = c * gate
        W.baddbmm_(error.unsqueeze(2), k.transpose(1, 2) * sc.view(-1, 1, 1), alpha=-1.0)
        self.K[:, :, self.count] = k[:, :, 0]
        self.d[:, self.count] = sc
        self.count += 1
        if forgetting != 1.0:
            self._flush()
            self.P0.div_(forgetting)
        elif self.count == self.pending:
            self._flush()
