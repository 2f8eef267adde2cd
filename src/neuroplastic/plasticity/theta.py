"""The layout of a meta-learned θ: which terms, where they start, in what units, which are penalised or kept ≥ 0.

θ holds one scalar per term r, shared by all layers and synapses, for each of S replicas (S × R). With term scales
s_r (e.g. `plasticity.scales.term_scales`, the size of F^r relative to F⁰) the optimiser and the L1 penalty act on
θ̃_r = s_r θ_r, so a step of θ̃_r changes ΔW as much as the same step of θ̃₀ = θ₀ would, whatever the size of the
term; the rule itself, and everything reported, uses θ_r = θ̃_r / s_r (the paper's units).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from neuroplastic.plasticity.terms import TERMS

DEFAULT_LEARNING_RATE = 1e-3  # θ₀'s start, the released code's ``--a``


@dataclass(frozen=True)
class ThetaLayout:
    """Terms r of θ, their start θ_r (the paper's units), scales s_r, the L1-free terms and the terms kept ≥ 0.

    ``init``: θ_r by term name; θ₀ (``pseudo_grad``) defaults to 1e-3, every other term to 0. ``scales``: s_r by
    term name, 1 for terms not named. ``unpenalised``: terms left out of the L1 penalty (default the
    pseudo-gradient: θ₀ is the rule's learning rate, the reference the other terms are measured against, not a
    candidate to prune). ``nonnegative``: terms whose θ_r is projected onto θ_r ≥ 0 after every optimiser step
    (e.g. ``("oja",)``: a negative θ_Oja is anti-Oja, which silences softplus units, and the meta-gradient vanishes
    there).
    """

    terms: tuple[str, ...] = ("pseudo_grad",)
    init: Mapping[str, float] = field(default_factory=dict)
    scales: Mapping[str, float] = field(default_factory=dict)
    unpenalised: tuple[str, ...] = ("pseudo_grad",)
    nonnegative: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        terms = list(self.terms)
        unknown = sorted(set(terms) - set(TERMS))
        if not terms or unknown or len(set(terms)) != len(terms):
            raise ValueError(f"terms must name distinct plasticity terms from {sorted(TERMS)}, got {terms}")
        if set(self.init) - set(terms) - {"pseudo_grad"}:
            raise ValueError(f"init names terms not in {terms}: {sorted(set(self.init) - set(terms))}")
        if set(self.scales) - set(terms) or not all(math.isfinite(v) and v > 0 for v in self.scales.values()):
            raise ValueError(f"scales must give finite positive sizes for terms of {terms}, got {dict(self.scales)}")
        start = self.start
        if set(self.nonnegative) - set(terms) or any(start[name] < 0 for name in self.nonnegative):
            raise ValueError(f"nonnegative must name terms of {terms} that start at θ ≥ 0, got {self.nonnegative}")

    @property
    def start(self) -> dict[str, float]:
        """θ_r at the start of meta-training by term name, in the paper's units."""
        init = {"pseudo_grad": DEFAULT_LEARNING_RATE, **self.init}
        return {name: float(init.get(name, 0.0)) for name in self.terms}

    @property
    def nonnegative_index(self) -> list[int]:
        """Positions r of the terms kept ≥ 0."""
        return [self.terms.index(name) for name in self.nonnegative]

    def scale_vector(self, *, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
        """s_r for every term (R)."""
        return torch.tensor([float(self.scales.get(name, 1.0)) for name in self.terms], dtype=dtype, device=device)

    def penalised(self, *, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
        """1 for the terms in the L1 penalty, 0 for the others (R)."""
        return torch.tensor([name not in self.unpenalised for name in self.terms], dtype=dtype, device=device)

    def initial(self, replicas: int, *, dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
        """θ̃ = s θ_start for every replica (replicas × R)."""
        row = [value * float(self.scales.get(name, 1.0)) for name, value in self.start.items()]
        return torch.tensor([row] * replicas, dtype=dtype, device=device)
