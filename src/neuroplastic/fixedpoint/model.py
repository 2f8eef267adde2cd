"""``FixedPointRNN``: recurrent networks whose output is read from a fixed point of their dynamics.

Dynamics (rows are samples; u = U x + b is the drive):

- ``rate1``: τ dr/dt = −r + f(W r + u), fixed point r = f(W r + u), gains G = diag(f′(W r + u));
- ``rate2``: τ dv/dt = −v + W f(v) + u, fixed point v = W f(v) + u, rates r = f(v), gains G = diag(f′(v));
- ``linear``: r = G(W r + u) with a constant diagonal gain G, so r = (G⁻¹ − W)⁻¹ u.

In every case the rates satisfy r = f(W r + u) with z = W r + u, so one set of learning rules serves all three.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from neuroplastic.core.activations import Activation, ActivationName, resolve_activation
from neuroplastic.fixedpoint.solvers import FixedPointSolution, Method, OnFail, solve_fixed_point

Dynamics = Literal["rate1", "rate2", "linear"]


class FixedPointRNN(nn.Module):
    """A fixed-point network: recurrent W (N×N, N(0, ρ²/N)), optional input U, bias b and readout R.

    U is N×n_in with entries N(0, 1/n_in), R is n_out×N with entries N(0, 1/N); ``n_in=None`` drives the network
    with x itself (u = x + b).

    Only W is trainable by default; ``train_input``, ``train_bias`` and ``train_readout`` unfreeze the others.
    ``activation_fn`` is f: a name from ``core.activations.ACTIVATIONS`` or an ``Activation`` (e.g.
    ``softplus(beta=1.0)``; its ``derivative`` gives G).
    """

    def __init__(
        self,
        n: int,
        n_in: int | None = None,
        n_out: int | None = None,
        *,
        dynamics: Dynamics = "rate1",
        activation_fn: ActivationName | Activation = "tanh",
        gain: float | torch.Tensor = 1.0,
        rho: float = 0.5,
        bias: bool = False,
        train_input: bool = False,
        train_bias: bool = False,
        train_readout: bool = False,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if dynamics not in ("rate1", "rate2", "linear"):
            raise ValueError(f"unknown dynamics {dynamics!r}; choose rate1, rate2 or linear")
        if n < 1 or (n_in is not None and n_in < 1) or (n_out is not None and n_out < 1):
            raise ValueError(f"sizes must be positive, got n={n}, n_in={n_in}, n_out={n_out}")
        self.dynamics = dynamics
        self.act = resolve_activation(activation_fn)

        def normal(*shape: int, std: float) -> torch.Tensor:
            return std * torch.randn(*shape, generator=generator, dtype=dtype)

        self.W = nn.Parameter(normal(n, n, std=rho / math.sqrt(n)))
        self.U = None if n_in is None else nn.Parameter(normal(n, n_in, std=1 / math.sqrt(n_in)), train_input)
        self.b = nn.Parameter(torch.zeros(n, dtype=dtype), train_bias) if bias else None
        self.R = None if n_out is None else nn.Parameter(normal(n_out, n, std=1 / math.sqrt(n)), train_readout)
        gain_vector = torch.as_tensor(gain, dtype=dtype).expand(n).clone()
        if dynamics == "linear" and not bool((gain_vector != 0).all()):
            raise ValueError("the linear model needs nonzero gains (it uses G⁻¹)")
        self.register_buffer("gain", gain_vector)

    @property
    def n(self) -> int:
        """Number of neurons N."""
        return self.W.shape[0]

    def drive(self, x: torch.Tensor) -> torch.Tensor:
        """The drive u = U x + b per row of ``x``."""
        width = self.n if self.U is None else self.U.shape[1]
        if x.dim() != 2 or x.shape[1] != width:
            raise ValueError(f"x must have shape (batch, {width}), got {tuple(x.shape)}")
        u = x if self.U is None else x @ self.U.T
        return u if self.b is None else u + self.b

    def step(self, state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The map F whose fixed point is sought: f(W r + u), W f(v) + u, or G(W r + u)."""
        if self.dynamics == "rate1":
            return self.act.function(state @ self.W.T + u)
        if self.dynamics == "rate2":
            return self.act.function(state) @ self.W.T + u
        return self.gain * (state @ self.W.T + u)

    def rates(self, state: torch.Tensor) -> torch.Tensor:
        """Firing rates r of a state (r = f(v) for ``rate2``, the state itself otherwise)."""
        return self.act.function(state) if self.dynamics == "rate2" else state

    def gains(self, state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Diagonals of G (m×N): f′ at the pre-activation W r + u (``rate2``: at v; ``linear``: the constant)."""
        if self.dynamics == "rate1":
            return self.act.derivative(state @ self.W.T + u)
        if self.dynamics == "rate2":
            return self.act.derivative(state)
        return self.gain.expand_as(state)

    def jacobian(self, state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """J_F per sample (m×N×N): G W for ``rate1``/``linear``, W G for ``rate2``."""
        g = self.gains(state, u)
        return self.W * g[:, None, :] if self.dynamics == "rate2" else g[:, :, None] * self.W

    def output(self, r: torch.Tensor) -> torch.Tensor:
        """Readout R r per row (the rates themselves when there is no readout)."""
        return r if self.R is None else r @ self.R.T

    @torch.no_grad()
    def solve(
        self,
        x: torch.Tensor,
        *,
        method: Method = "anderson",
        init: torch.Tensor | None = None,
        tol: float = 1e-6,
        max_iter: int = 1000,
        on_fail: OnFail = "warn",
        **options: float,
    ) -> FixedPointSolution:
        """The fixed-point state per row of ``x``, from 0 or warm-started at ``init``; see ``solve_fixed_point``."""
        u = self.drive(x)
        start = torch.zeros_like(u) if init is None else init
        if start.shape != u.shape:
            raise ValueError(f"init must have shape {tuple(u.shape)}, got {tuple(start.shape)}")
        return solve_fixed_point(
            lambda s: self.step(s, u),
            start,
            method=method,
            tol=tol,
            max_iter=max_iter,
            jacobian=lambda s: self.jacobian(s, u),
            on_fail=on_fail,
            **options,
        )

    def forward(self, x: torch.Tensor, *, on_fail: OnFail = "raise", **solve_options) -> torch.Tensor:
        """Readout of the fixed-point rates (no gradient flows through the solve; use ``apply_rule`` to learn).

        The readout of a state that is not a fixed point is meaningless and this call returns nothing else to
        check, so a solve that misses its tolerance raises :class:`FixedPointNotConverged` (with the iteration
        count and residual) unless ``on_fail="warn"`` or ``"report"`` explicitly accepts it.
        """
        solution = self.solve(x, on_fail=on_fail, **solve_options)
        return self.output(self.rates(solution.state))
