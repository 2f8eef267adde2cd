"""Lesion and dopamine switches for the exploratory (basal-ganglia) pathway.

Which of these Pyle & Rosenbaum (2019) used, and with which parameters, is not stated in the
paper's text we could check: they are offered as hypotheses to test, not as the paper's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, kw_only=True)
class Switches:
    """Interventions, each active from a global step on (None = never).

    - ``lesion_at``: remove the exploratory pathway (W₂ := 0, ξ := 0, no further W₂ learning).
    - ``dopamine_at``: from then on, until ``dopamine_until`` (None = for good), Φ ← ``dopamine_scale``·Φ +
      ``tonic_offset`` (depletion: scale < 1; L-DOPA-like tonic dopamine: an offset; restored afterwards).
    - ``corrupt_at``: pathological exploratory output z₂ ← z₂ + ``corrupt_offset`` + ``corrupt_noise``·U[−1, 1].
    """

    lesion_at: int | None = None
    dopamine_at: int | None = None
    dopamine_until: int | None = None
    dopamine_scale: float = 1.0
    tonic_offset: float = 0.0
    corrupt_at: int | None = None
    corrupt_noise: float = 0.0
    corrupt_offset: float = 0.0

    def lesioned(self, step: int) -> bool:
        """Whether the exploratory pathway is removed at ``step``."""
        return self.lesion_at is not None and step >= self.lesion_at

    def modulation(self, phi: torch.Tensor, step: int) -> torch.Tensor:
        """Φ after the dopamine switch."""
        if self.dopamine_at is None or step < self.dopamine_at:
            return phi
        if self.dopamine_until is not None and step >= self.dopamine_until:
            return phi
        return phi * self.dopamine_scale + self.tonic_offset

    def corrupted(self, step: int) -> bool:
        """Whether the exploratory output is corrupted at ``step``."""
        active = self.corrupt_at is not None and step >= self.corrupt_at
        return active and bool(self.corrupt_noise or self.corrupt_offset)


NO_SWITCHES = Switches()
