"""Continuous-time rate reservoir τ dx/dt = −x + J r + Q z (+ W_in u), r = tanh(x) (+ ε), batched over seeds."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from neuroplastic.core.seeding import make_generator
from neuroplastic.core.streams import ReservoirStream
from neuroplastic.reservoir.noise import NoiseStream


@dataclass(frozen=True, kw_only=True)
class ReservoirConfig:
    """Reservoir constants (defaults: Pyle & Rosenbaum 2019, times in ms).

    J: entries N(0, λ²/(pN)) with λ = ``gain``, present with density ``p``: each entry independently with
    probability p (``connectivity`` = "bernoulli"), or at ⌈pN²⌉ positions drawn uniformly *with replacement*, so
    that repeats leave a density of ≈ 1 − e^(−p) and an effective gain of ≈ λ√((1 − e^(−p))/p) ("with_replacement",
    as the MATLAB scripts and ReScience's code build it: 0.0952 and 1.46 at p = 0.1, λ = 1.5);
    Q ~ U[−q, q] with q = ``feedback_scale``;
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
    connectivity: Literal["bernoulli", "with_replacement"] = "bernoulli"

    def __post_init__(self) -> None:
        if self.n < 1 or not 0 < self.p <= 1:
            raise ValueError(f"need n >= 1 and 0 < p <= 1, got n={self.n}, p={self.p}")
        if not (0 < self.tau < math.inf and 0 < self.dt < math.inf):
            raise ValueError(f"tau and dt must be finite and > 0, got tau={self.tau}, dt={self.dt}")
        for name in ("gain", "feedback_scale", "x0_scale", "rate_noise"):
            value = getattr(self, name)
            if not 0 <= value < math.inf:
                raise ValueError(f"{name} must be finite and >= 0, got {value}")
        if self.n_inputs < 0:
            raise ValueError(f"n_inputs must be >= 0, got {self.n_inputs}")
        if self.x0 not in ("uniform", "normal"):
            raise ValueError(f"x0 must be 'uniform' or 'normal', got {self.x0!r}")
        if self.integrator not in ("euler", "exponential"):
            raise ValueError(f"integrator must be 'euler' or 'exponential', got {self.integrator!r}")
        if self.connectivity not in ("bernoulli", "with_replacement"):
            raise ValueError(f"connectivity must be 'bernoulli' or 'with_replacement', got {self.connectivity!r}")
        if self.integrator == "euler" and self.dt > self.tau:
            raise ValueError(
                f"the Euler step needs dt <= tau, got dt/tau = {self.dt / self.tau:g} (above 1 it overshoots the "
                "leak, above 2 it diverges); use a smaller dt or integrator='exponential'"
            )


def _connection_mask(config: ReservoirConfig, generator: torch.Generator) -> torch.Tensor:
    """Which J_ij exist (N × N booleans), drawn as ``config.connectivity`` says."""
    n = config.n
    if config.connectivity == "bernoulli":
        return torch.rand(n, n, generator=generator, dtype=torch.float64) < config.p
    mask = torch.zeros(n * n, dtype=torch.bool)
    mask[torch.randint(n * n, (math.ceil(config.p * n * n),), generator=generator)] = True
    return mask.view(n, n)


class Reservoir:
    """A batch of B independent reservoirs (one per seed) sharing the constants of a :class:`ReservoirConfig`.

    State tensors are ``x, r`` of shape (B, N); feedback ``z`` is (B, d). ``drive_matrix`` holds [J | Q | W_in]:
    sparse, one block-diagonal CSR matrix of size BN × B(N + d + n_inputs); dense, (B, N, N + d + n_inputs).
    ``recurrent_bound`` = max_i Σ_j |J_ij| bounds the recurrent drive: |(J r)_i| ≤ ``recurrent_bound`` · max|r|.
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
        if n_out < 1:
            raise ValueError(f"n_out (the number of fed-back outputs) must be >= 1, got {n_out}")
        self.config, self.n_out, self.seeds = config, n_out, tuple(seeds)
        self.dtype, self.device = dtype, torch.device(device)
        n = config.n
        dense, q, w_in, x0 = [], [], [], []
        for seed in seeds:
            g = make_generator(seed, ReservoirStream.WEIGHTS)
            mask = _connection_mask(config, g)
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
        # [J | Q | W_in] acting on v = (r, z, u): the whole drive in one (sparse) product per step
        augmented = [torch.cat([j, qq, w], 1) for j, qq, w in zip(dense, q, w_in, strict=True)]
        self.drive_matrix = self._block_diagonal(augmented) if config.sparse else torch.stack(augmented).to(**to)
        self.recurrent_bound = max(float(j.abs().sum(1).max()) for j in dense)
        self.leak = config.dt / config.tau
        if config.integrator == "exponential":
            self.leak = -math.expm1(-self.leak)
        self.rate_noise = NoiseStream(self.seeds, ReservoirStream.RATE_NOISE, (n,), dtype=dtype, device=self.device)

    @property
    def batch(self) -> int:
        """Number of reservoirs B."""
        return len(self.seeds)

    def dense_J(self) -> torch.Tensor:
        """J as a dense (B, N, N) tensor (for inspection and tests)."""
        n, width = self.config.n, self.config.n + self.n_out + self.config.n_inputs
        if not self.config.sparse:
            return self.drive_matrix[:, :, :n]
        full = self.drive_matrix.to_dense()
        return torch.stack([full[i * n : (i + 1) * n, i * width : i * width + n] for i in range(self.batch)])

    def initial_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x(0), r(0) = tanh x(0))``, fresh copies."""
        x = self.x0.clone()
        return x, torch.tanh(x)

    def _block_diagonal(self, blocks: list[torch.Tensor]) -> torch.Tensor:
        """One block-diagonal CSR matrix with 32-bit indices (the batched product is memory-bound)."""
        height, width = blocks[0].shape
        offsets = [torch.tensor([[i * height], [i * width]]) for i in range(len(blocks))]
        index = torch.cat([m.nonzero().T + o for m, o in zip(blocks, offsets, strict=True)], 1)
        values = torch.cat([m[m != 0] for m in blocks])
        return self._csr(index, values, (len(blocks) * height, len(blocks) * width))

    def _csr(self, index: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse (invariant checks|CSR tensor support)")
            csr = torch.sparse_coo_tensor(index, values, shape, check_invariants=False).to_sparse_csr()
            rows, cols = csr.crow_indices().int(), csr.col_indices().int()
            return torch.sparse_csr_tensor(rows, cols, csr.values(), shape, dtype=self.dtype, device=self.device)

    def state_dict(self) -> dict[str, Any]:
        """What changes while it runs (the rate-noise streams); the weights follow from the seeds."""
        return {"seeds": list(self.seeds), "rate_noise": self.rate_noise.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a reservoir with the same seeds."""
        if list(state["seeds"]) != list(self.seeds):
            raise ValueError(f"the state is of seeds {state['seeds']}, this reservoir has {list(self.seeds)}")
        self.rate_noise.load_state_dict(state["rate_noise"])

    def keep_rows_(self, rows: torch.Tensor) -> None:
        """Keep only the reservoirs at batch positions ``rows`` (increasing), e.g. to drop a seed that diverged."""
        positions = rows.tolist()
        self.seeds = tuple(self.seeds[i] for i in positions)
        self.Q, self.x0 = self.Q[rows], self.x0[rows]
        self.W_in = None if self.W_in is None else self.W_in[rows]
        self.rate_noise.keep_rows_(rows)
        if not self.config.sparse:
            self.drive_matrix = self.drive_matrix[rows]
            return
        height, width = self.config.n, self.config.n + self.n_out + self.config.n_inputs
        crow = self.drive_matrix.crow_indices().long()
        row = torch.repeat_interleave(torch.arange(crow.numel() - 1, device=crow.device), crow.diff())
        col, values = self.drive_matrix.col_indices().long(), self.drive_matrix.values()
        new_block = torch.full(((crow.numel() - 1) // height,), -1, dtype=torch.long, device=crow.device)
        new_block[rows] = torch.arange(len(positions), device=crow.device)
        block = new_block[row // height]
        kept = block >= 0
        index = torch.stack((block * height + row % height, block * width + col % width))[:, kept]
        self.drive_matrix = self._csr(index, values[kept], (len(positions) * height, len(positions) * width))

    def step_(
        self, x: torch.Tensor, r: torch.Tensor, z: torch.Tensor, u: torch.Tensor | None = None, *, noisy: bool
    ) -> None:
        """One step in place: x ← x + a(−x + J r + Q z + W_in u), r ← tanh(x) + ε, a = dt/τ (or 1 − e^(−dt/τ)).

        ``z`` (B, d) is the fed-back output of the previous step, ``u`` (n_inputs,) or (B, n_inputs) the input;
        ε ~ U[−α_r, α_r] only when ``noisy``.
        """
        if self.W_in is None:
            if u is not None:
                raise ValueError("this reservoir has no input layer (n_inputs = 0) but an input u was given")
            v = torch.cat((r, z), 1)
        elif u is None:
            raise ValueError("this reservoir has an input layer (n_inputs > 0) but no input u was given")
        elif not bool(torch.isfinite(u).all()):
            bad = int((~torch.isfinite(u)).sum())
            raise ValueError(f"the input u holds {bad} NaN or inf entries; the reservoir input must be finite")
        else:
            v = torch.cat((r, z, u.expand(self.batch, -1)), 1)
        if self.config.sparse:
            drive = torch.mv(self.drive_matrix, v.view(-1)).view_as(x)
        else:
            drive = torch.bmm(self.drive_matrix, v.unsqueeze(2)).view_as(x)
        x.lerp_(drive, self.leak)
        torch.tanh(x, out=r)
        if noisy and self.config.rate_noise > 0:
            r.add_(self.rate_noise.next(), alpha=self.config.rate_noise)
