"""Continuous-time rate reservoir τ dx/dt = −x + J r + Q z (+ W_in u), r = tanh(x) (+ ε), batched over seeds."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from neuroplastic.core.seeding import make_generator
from neuroplastic.reservoir.noise import NoiseStream

_WEIGHTS_STREAM, _RATE_NOISE_STREAM = 1, 2


@dataclass(frozen=True, kw_only=True)
class ReservoirConfig:
    """Reservoir constants (defaults: Pyle & Rosenbaum 2019, times in ms).

    J: density ``p``, entries N(0, λ²/(pN)) with λ = ``gain``; Q ~ U[−q, q] with q = ``feedback_scale``;
    W_in ~ U[−1, 1] when ``n_inputs`` > 0; x(0) ~ U[−s, s] (``x0`` = "uniform") or s·N(0, 1) ("normal"),
    s = ``x0_scale``;
    rate noise ε ~ U[−α_r, α_r] with α_r = ``rate_noise`` (training only).
    """

    n: int = 1000
    p: float = 0.1
    gain: float = 1.5
    tau: float = 10.0
    dt: float = 0.2
    feedback_scale: float = 1.0
    n_inputs: int = 0
    x0: Literal["uniform", "normal"] = "uniform"
    x0_scale: float = 0.5
    rate_noise: float = 0.025
    sparse: bool = True
    integrator: Literal["euler", "exponential"] = "euler"

    def __post_init__(self) -> None:
        if self.n < 1 or not 0 < self.p <= 1:
            raise ValueError(f"need n >= 1 and 0 < p <= 1, got n={self.n}, p={self.p}")
        if not (self.tau > 0 and self.dt > 0):
            raise ValueError(f"tau and dt must be > 0, got tau={self.tau}, dt={self.dt}")
        if self.rate_noise < 0 or self.n_inputs < 0:
            raise ValueError("rate_noise and n_inputs must be >= 0")


class Reservoir:
    """A batch of B independent reservoirs (one per seed) sharing the constants of a :class:`ReservoirConfig`.

    State tensors are ``x, r`` of shape (B, N); feedback ``z`` is (B, d). Sparse J is stored as one
    block-diagonal CSR matrix of size BN × BN, dense J as (B, N, N).
    """

    def __init__(
        self,
        config: ReservoirConfig,
        n_out: int,
        seeds: Sequence[int],
        *,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ):
        if not seeds:
            raise ValueError("seeds must name at least one seed")
        self.config, self.n_out, self.seeds = config, n_out, tuple(seeds)
        self.dtype, self.device = dtype, torch.device(device)
        n, b = config.n, len(seeds)
        dense, q, w_in, x0 = [], [], [], []
        for seed in seeds:
            g = make_generator(seed, _WEIGHTS_STREAM)
            mask = torch.rand(n, n, generator=g, dtype=torch.float64) < config.p
            values = torch.randn(n, n, generator=g, dtype=torch.float64) * (config.gain / math.sqrt(config.p * n))
            dense.append(values * mask)
            q.append(config.feedback_scale * (2 * torch.rand(n, n_out, generator=g, dtype=torch.float64) - 1))
            w_in.append(2 * torch.rand(n, config.n_inputs, generator=g, dtype=torch.float64) - 1)
            if config.x0 == "uniform":
                x0.append(config.x0_scale * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1))
            else:
                x0.append(config.x0_scale * torch.randn(n, generator=g, dtype=torch.float64))
        to = {"dtype": dtype, "device": self.device}
        self.Q = torch.stack(q).to(**to)
        self.W_in = torch.stack(w_in).to(**to) if config.n_inputs else None
        self.x0 = torch.stack(x0).to(**to)
        if config.sparse:
            index = torch.cat([m.nonzero().T + i * n for i, m in enumerate(dense)], 1)
            values = torch.cat([m[m != 0] for m in dense])
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse (invariant checks|CSR tensor support)")
                csr = torch.sparse_coo_tensor(index, values, (b * n, b * n), check_invariants=False).to_sparse_csr()
                # 32-bit indices: the batched J r is memory-bound, and this cuts its traffic by a third (float64)
                self.J = torch.sparse_csr_tensor(
                    csr.crow_indices().int(), csr.col_indices().int(), csr.values(), csr.shape, **to
                )
        else:
            self.J = torch.stack(dense).to(**to)
        self.leak = config.dt / config.tau
        if config.integrator == "exponential":
            self.leak = -math.expm1(-self.leak)
        self.rate_noise = NoiseStream(self.seeds, _RATE_NOISE_STREAM, (n,), dtype=dtype, device=self.device)

    @property
    def batch(self) -> int:
        """Number of reservoirs B."""
        return len(self.seeds)

    def dense_J(self) -> torch.Tensor:
        """J as a dense (B, N, N) tensor (for inspection and tests)."""
        if not self.config.sparse:
            return self.J
        n = self.config.n
        full = self.J.to_dense()
        return torch.stack([full[i * n : (i + 1) * n, i * n : (i + 1) * n] for i in range(self.batch)])

    def initial_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x(0), r(0) = tanh x(0))``, fresh copies."""
        x = self.x0.clone()
        return x, torch.tanh(x)

    def recurrent(self, r: torch.Tensor) -> torch.Tensor:
        """J r for r of shape (B, N)."""
        if self.config.sparse:
            return torch.mv(self.J, r.reshape(-1)).view_as(r)
        return torch.bmm(self.J, r.unsqueeze(2)).squeeze(2)

    def step_(
        self, x: torch.Tensor, r: torch.Tensor, z: torch.Tensor, u: torch.Tensor | None = None, *, noisy: bool
    ) -> None:
        """One step in place: x ← x + a(−x + J r + Q z + W_in u), r ← tanh(x) + ε, a = dt/τ (or 1 − e^(−dt/τ)).

        ``z`` (B, d) is the fed-back output of the previous step, ``u`` (n_inputs,) or (B, n_inputs) the input;
        ε ~ U[−α_r, α_r] only when ``noisy``.
        """
        drive = self.recurrent(r)
        drive.unsqueeze_(2).baddbmm_(self.Q, z.unsqueeze(2))
        if self.W_in is not None:
            if u is None:
                raise ValueError("this reservoir has an input layer (n_inputs > 0) but no input u was given")
            u = u.expand(self.batch, -1) if u.dim() == 1 else u
            drive.baddbmm_(self.W_in, u.unsqueeze(2))
        x.mul_(1 - self.leak).add_(drive.squeeze_(2), alpha=self.leak)
        torch.tanh(x, out=r)
        if noisy and self.config.rate_noise > 0:
            r.add_(self.rate_noise.next(), alpha=self.config.rate_noise)
