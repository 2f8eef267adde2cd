"""Plasticity terms F^r(pre y, post y, pre e, post e, W, B) → ΔW-direction (n_ℓ × n_{ℓ−1}), and the registry.

Sign convention: the update is ΔW_ℓ = Σ_r θ_r F^r_ℓ and W_ℓ ← W_ℓ + ΔW_ℓ. The paper's named terms carry
their sign (F⁰ = −e_ℓ y_{ℓ−1}ᵀ, so θ₀ > 0 is a learning rate; eHebb = −e_ℓ e_{ℓ−1}ᵀ; Oja enters with +);
the other terms are the bare products listed, their sign left to θ.
Each term is a sum over the samples (rows) of a batch; column notation in the formulas, row tensors in code.
Metadata: which signals a term reads, and whether it needs the pre-synaptic error e_{ℓ−1} (e₀ in layer 1).
``origin`` says where a term comes from: the paper's numbering F^r where it is known (Shervani-Tabar & Rosenbaum
2023 name F⁰, F² and F⁹), otherwise the numbering of the authors' development code.

Most terms are sums of outer products, F = Σ_k L_kᵀ R_k with L_k: batch × n_ℓ and R_k: batch × n_{ℓ−1}; their
``factors`` let a rule scale the thin L_k by θ and form ΔW with one matrix product (Oja's rule is the one pair
L = y_ℓ, R = y_{ℓ−1} − y_ℓ W_ℓ, so its decay is y(yᵀW)), instead of several passes over W-sized tensors. A term
has as few pairs as its algebra allows: each pair adds a rank to that product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from neuroplastic.plasticity.oja import gha, hebb, oja_single_neuron, oja_subspace, subspace_decay

TermFn = Callable[..., torch.Tensor]
Factors = Callable[..., list[tuple[torch.Tensor, torch.Tensor]]]


@dataclass(frozen=True)
class Term:
    """A plasticity term: its pure function, formula, the signals it reads and its origin."""

    name: str
    fn: TermFn
    formula: str
    signals: frozenset[str]
    origin: str
    factors: Factors | None = None

    @property
    def needs_pre_error(self) -> bool:
        """Whether the term reads e_{ℓ−1}, the error of the layer below (e₀ in layer 1)."""
        return "pre_e" in self.signals

    @property
    def uses_post_activity(self) -> bool:
        """Whether the term reads y_ℓ (for the output layer: the output policy's post)."""
        return "post_y" in self.signals

    def __call__(self, pre_y, post_y, pre_e, post_e, weight, feedback) -> torch.Tensor:
        """F(pre y, post y, pre e, post e, W, B), summed over the batch."""
        return self.fn(pre_y, post_y, pre_e, post_e, weight, feedback)


def _outer(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a.mT @ b


def _pre_error_decay(pre_e: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ_b W (e e)ᵀ for e = e_{ℓ−1}, as (W e) eᵀ when the batch is smaller than n_{ℓ−1}."""
    if pre_e.shape[-2] < pre_e.shape[-1]:
        return (weight @ pre_e.mT) @ pre_e
    return weight @ (pre_e.mT @ pre_e)


def _term(name, formula, signals, origin, factors: Factors | None = None):
    def register(fn: TermFn) -> TermFn:
        TERMS[name] = Term(name, fn, formula, frozenset(signals), origin, factors)
        return fn

    return register


def _ones(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return torch.ones(*x.shape[:-1], like.shape[-1], dtype=like.dtype, device=like.device)


TERMS: dict[str, Term] = {}


@_term(
    "pseudo_grad",
    "−e_ℓ y_{ℓ−1}ᵀ",
    ("pre_y", "post_e"),
    "NatComm F⁰, the pseudo-gradient (exactly −∇_W CE when B = Wᵀ)",
    lambda py, qy, pe, qe, w: [(-qe, py)],
)
def pseudo_grad(pre_y, post_y, pre_e, post_e, weight, feedback):
    """F⁰ = −e_ℓ y_{ℓ−1}ᵀ."""
    return -_outer(post_e, pre_y)


@_term(
    "ehebb",
    "−e_ℓ e_{ℓ−1}ᵀ",
    ("pre_e", "post_e"),
    "NatComm F², error-based Hebbian (the authors' development term '3')",
    lambda py, qy, pe, qe, w: [(-qe, pe)],
)
def ehebb(pre_y, post_y, pre_e, post_e, weight, feedback):
    """F² = −e_ℓ e_{ℓ−1}ᵀ."""
    return -_outer(post_e, pre_e)


@_term(
    "oja",
    "y_ℓ y_{ℓ−1}ᵀ − (y_ℓ y_ℓᵀ) W_ℓ",
    ("pre_y", "post_y", "W"),
    "NatComm F⁹, Oja's subspace rule (the authors' development term '12')",
    lambda py, qy, pe, qe, w: [(qy, py - qy @ w)],
)
def oja(pre_y, post_y, pre_e, post_e, weight, feedback):
    """F⁹ = y_ℓ y_{ℓ−1}ᵀ − (y_ℓ y_ℓᵀ) W_ℓ."""
    return oja_subspace(pre_y, post_y, weight)


@_term("oja_single", "y_ℓ y_{ℓ−1}ᵀ − diag(y_ℓ²) W_ℓ", ("pre_y", "post_y", "W"), "Oja 1982, one neuron per row")
def oja_single(pre_y, post_y, pre_e, post_e, weight, feedback):
    """Single-neuron Oja: y_ℓ y_{ℓ−1}ᵀ − diag(y_ℓ²) W_ℓ."""
    return oja_single_neuron(pre_y, post_y, weight)


@_term("gha", "y_ℓ y_{ℓ−1}ᵀ − LT(y_ℓ y_ℓᵀ) W_ℓ", ("pre_y", "post_y", "W"), "Sanger 1989")
def sanger(pre_y, post_y, pre_e, post_e, weight, feedback):
    """Sanger's GHA: y_ℓ y_{ℓ−1}ᵀ − LT(y_ℓ y_ℓᵀ) W_ℓ."""
    return gha(pre_y, post_y, weight)


@_term(
    "hebb",
    "y_ℓ y_{ℓ−1}ᵀ",
    ("pre_y", "post_y"),
    "plain Hebb (unstable alone)",
    lambda py, qy, pe, qe, w: [(qy, py)],
)
def plain_hebb(pre_y, post_y, pre_e, post_e, weight, feedback):
    """y_ℓ y_{ℓ−1}ᵀ."""
    return hebb(pre_y, post_y)


@_term(
    "post_y_pre_e",
    "y_ℓ e_{ℓ−1}ᵀ",
    ("post_y", "pre_e"),
    "NatComm pool, post activity × pre error (the authors' development term '1')",
    lambda py, qy, pe, qe, w: [(qy, pe)],
)
def post_y_pre_e(pre_y, post_y, pre_e, post_e, weight, feedback):
    """y_ℓ e_{ℓ−1}ᵀ."""
    return _outer(post_y, pre_e)


@_term(
    "hebb_decay",
    "(y_ℓ y_ℓᵀ) W_ℓ",
    ("post_y", "W"),
    "the authors' development term '2', deleted by them: self-amplifying, (y yᵀ)W grows as W³ for θ > 0",
    lambda py, qy, pe, qe, w: [(qy, qy @ w)],
)
def hebb_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """(y_ℓ y_ℓᵀ) W_ℓ, Oja's decay on its own."""
    return subspace_decay(post_y, weight)


@_term(
    "instar",
    "y_ℓ y_{ℓ−1}ᵀ − diag(y_ℓ) W_ℓ",
    ("pre_y", "post_y", "W"),
    "Grossberg's instar (our reading of a pool term without the pre error; the authors' '4' was 1 y_{ℓ−1}ᵀ − W)",
)
def instar(pre_y, post_y, pre_e, post_e, weight, feedback):
    """Grossberg's instar: ΔW_ij = y_i (x_j − W_ij), i.e. y_ℓ y_{ℓ−1}ᵀ − diag(y_ℓ) W_ℓ (summed over the batch).

    Each row moves towards the input, gated by its own activity; stable for θ ≥ 0 (the decay is diag(y) W), self-
    amplifying for θ < 0.
    """
    return hebb(pre_y, post_y) - post_y.sum(-2).unsqueeze(-1) * weight


@_term("constant", "1 1ᵀ", (), "the authors' development term '5'")
def constant(pre_y, post_y, pre_e, post_e, weight, feedback):
    """A constant drive: every synapse changes by 1 per sample."""
    return torch.full_like(weight, pre_y.shape[-2])


@_term(
    "post_error",
    "e_ℓ 1ᵀ",
    ("post_e",),
    "post error only; the offset part of the authors' '16' e_ℓ (e_{ℓ−1} − b)ᵀ = e_ℓ e_{ℓ−1}ᵀ − b e_ℓ 1ᵀ",
    lambda py, qy, pe, qe, w: [(qe, _ones(qe, w))],
)
def post_error(pre_y, post_y, pre_e, post_e, weight, feedback):
    """e_ℓ 1ᵀ."""
    return _outer(post_e, torch.ones_like(pre_y))


@_term(
    "pre_error",
    "1 e_{ℓ−1}ᵀ",
    ("pre_e",),
    "NatComm pool, pre error only (the authors' development term '7')",
    lambda py, qy, pe, qe, w: [(_ones(pe, w.mT), pe)],
)
def pre_error(pre_y, post_y, pre_e, post_e, weight, feedback):
    """1 e_{ℓ−1}ᵀ."""
    return _outer(torch.ones_like(post_e), pre_e)


@_term(
    "ehebb_post_decay",
    "e_ℓ e_{ℓ−1}ᵀ − (e_ℓ e_ℓᵀ) W_ℓ",
    ("pre_e", "post_e", "W"),
    "the authors' development term '8', deleted by them before the paper",
    lambda py, qy, pe, qe, w: [(qe, pe - qe @ w)],
)
def ehebb_post_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """e_ℓ e_{ℓ−1}ᵀ − (e_ℓ e_ℓᵀ) W_ℓ."""
    return _outer(post_e, pre_e) - subspace_decay(post_e, weight)


@_term(
    "ehebb_pre_decay",
    "e_ℓ e_{ℓ−1}ᵀ − W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)",
    ("pre_e", "post_e", "W"),
    "NatComm pool, eHebb with a pre-error decay (the authors' development term '9')",
    lambda py, qy, pe, qe, w: [(qe - pe @ w.mT, pe)],
)
def ehebb_pre_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """e_ℓ e_{ℓ−1}ᵀ − W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)."""
    return _outer(post_e, pre_e) - _pre_error_decay(pre_e, weight)


@_term(
    "post_y_pre_e_decay",
    "y_ℓ e_{ℓ−1}ᵀ − W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)",
    ("post_y", "pre_e", "W"),
    "NatComm pool, post activity × pre error with a pre-error decay (the authors' development term '11')",
    lambda py, qy, pe, qe, w: [(qy - pe @ w.mT, pe)],
)
def post_y_pre_e_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """y_ℓ e_{ℓ−1}ᵀ − W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)."""
    return _outer(post_y, pre_e) - _pre_error_decay(pre_e, weight)


@_term(
    "error_decay",
    "(e_ℓ e_ℓᵀ) W_ℓ",
    ("post_e", "W"),
    "post-error decay (the authors' development term '14'); linear in W_ℓ, since e_ℓ does not scale with W_ℓ",
    lambda py, qy, pe, qe, w: [(qe, qe @ w)],
)
def error_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """(e_ℓ e_ℓᵀ) W_ℓ."""
    return subspace_decay(post_e, weight)


@_term(
    "pre_error_decay",
    "W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)",
    ("pre_e", "W"),
    "the authors' development term '15', deleted by them before the paper",
    lambda py, qy, pe, qe, w: [(pe @ w.mT, pe)],
)
def pre_error_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """W_ℓ (e_{ℓ−1} e_{ℓ−1}ᵀ)."""
    return _pre_error_decay(pre_e, weight)


@_term("weight_decay", "−W_ℓ", ("W",), "weight decay")
def weight_decay(pre_y, post_y, pre_e, post_e, weight, feedback):
    """−W_ℓ per sample."""
    return -pre_y.shape[-2] * weight
