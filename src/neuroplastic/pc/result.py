"""What one predictive-coding inference returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class LayerComparison:
    """One PC layer's update dθ_l against backprop's gradient ∇_l (all of the layer's parameters together)."""

    cosine: float
    norm_ratio: float
    relative_error: float
    angle_degrees: float


@dataclass
class PCResult:
    """Activations and errors of one inference, indexed 0..L like the layers (index 0 is the input x).

    - ``names[l]``: layer l's name (``"input"`` for 0; a Sequential's child names, a traced model's submodules);
    - ``vhat[l]``: feedforward activations v̂_l (``vhat[L]`` = ŷ);
    - ``v[l]``: beliefs after inference (``v[0]`` = x). ``v[L]`` is, in strict mode, the output predicted from
      the final beliefs, ṽ_L = f_L(v); in fixed_pred and exact modes, v̂_L − ε_L = ŷ − ∂ℒ/∂ŷ;
    - ``eps[l]``: prediction errors ε_l used for learning (``eps[0]`` is ``None``; ``eps[L]`` = ∂ℒ/∂ṽ_L, times
      the output precision γ in strict mode);
    - ``loss``: ℒ(ŷ, y) at the feedforward pass; ``dloss_dyhat``: ∂ℒ/∂ŷ;
    - ``energy``: strict mode's F at the start and after every inference step (``n + 1`` values), else ``None``;
    - ``comparison``: per layer (index 1..L, entry 0 ``None``), against backprop, when requested.
    """

    mode: str
    vhat: list[torch.Tensor]
    v: list[torch.Tensor]
    eps: list[torch.Tensor | None]
    loss: torch.Tensor
    dloss_dyhat: torch.Tensor
    steps: int
    energy: torch.Tensor | None = None
    comparison: list[LayerComparison | None] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
