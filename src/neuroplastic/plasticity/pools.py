"""Named pools of plasticity terms, the candidates a meta-learned rule ΔW_ℓ = Σ_r θ_r F^r_ℓ chooses from.

``NATCOMM_POOL``: ten terms read from Shervani-Tabar & Rosenbaum (2023), who describe their pool as quadratic
combinations of pre- and post-synaptic activities and errors, with plain Hebb y_ℓ y_{ℓ−1}ᵀ replaced by Oja's rule
because it blows up activations, and who name F⁰ (pseudo-gradient), F² (eHebb) and F⁹ (Oja); six of their terms
read the pre-synaptic error e_{ℓ−1}. The exact ten are not published; ours, in the order of the paper's numbering
as far as it is known:

- named in the paper: F⁰ ``pseudo_grad`` −e_ℓ y_{ℓ−1}ᵀ, F² ``ehebb`` −e_ℓ e_{ℓ−1}ᵀ and F⁹ ``oja``
  y_ℓ y_{ℓ−1}ᵀ − (y_ℓ y_ℓᵀ) W_ℓ;
- the rest of the authors' last development pool before the paper: ``post_y_pre_e`` y_ℓ e_{ℓ−1}ᵀ, ``pre_error``
  1 e_{ℓ−1}ᵀ, ``ehebb_pre_decay`` e_ℓ e_{ℓ−1}ᵀ − W_ℓ e_{ℓ−1} e_{ℓ−1}ᵀ, ``post_y_pre_e_decay`` y_ℓ e_{ℓ−1}ᵀ −
  W_ℓ e_{ℓ−1} e_{ℓ−1}ᵀ, and their e_ℓ (e_{ℓ−1} − b)ᵀ with a learned offset b, which spans e_ℓ e_{ℓ−1}ᵀ (already
  F²) and ``post_error`` e_ℓ 1ᵀ, so the pool carries that new direction;
- two terms without the pre error, our choice: Grossberg's ``instar`` y_ℓ y_{ℓ−1}ᵀ − diag(y_ℓ) W_ℓ and the
  post-error decay ``error_decay`` (e_ℓ e_ℓᵀ) W_ℓ.

No term amplifies itself at the sign its coefficient may take: Oja and instar (``SELF_LIMITING_SIGN``) are meant
to be projected onto θ ≥ 0, since their negative side grows W as W³ or W²; every other term is independent of
W_ℓ's scale or linear in it. The authors' (y_ℓ y_ℓᵀ) W_ℓ is left out: its positive side grows W as W³ (one Adam step
of +1e-3 at θ₀ = 0.02 turns every inner loop NaN) and its negative side silences the network.
``SUPERSET_2022_POOL``: the ten terms this library pooled before (kept for comparison, never the default).
"""

from __future__ import annotations

NATCOMM_POOL: tuple[str, ...] = (
    "pseudo_grad",
    "post_y_pre_e",
    "ehebb",
    "instar",
    "pre_error",
    "error_decay",
    "ehebb_pre_decay",
    "post_y_pre_e_decay",
    "post_error",
    "oja",
)
SELF_LIMITING_SIGN: tuple[str, ...] = ("oja", "instar")
SUPERSET_2022_POOL: tuple[str, ...] = (
    "pseudo_grad",
    "ehebb",
    "oja",
    "post_y_pre_e",
    "hebb_decay",
    "post_error",
    "pre_error",
    "ehebb_post_decay",
    "ehebb_pre_decay",
    "pre_error_decay",
)
POOLS: dict[str, tuple[str, ...]] = {"natcomm2023": NATCOMM_POOL, "superset2022": SUPERSET_2022_POOL}
