"""Interventions on the exploratory (basal-ganglia) pathway as data: switches for a run, and a plan over trials.

Which of these Pyle & Rosenbaum (2019) used, and with which parameters, is not stated in the
paper's text we could check: they are offered as hypotheses to test, not as the paper's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, kw_only=True)
class Switches:
    """Interventions in force during one run of the simulation (the default: none).

    - ``lesioned``: the exploratory pathway is removed (W₂ := 0, ξ := 0, no W₂ learning; ē still tracks the error).
    - ``dopamine_scale``, ``tonic_offset``: Φ ← ``dopamine_scale``·Φ + ``tonic_offset`` (depletion: scale < 1;
      L-DOPA-like tonic dopamine: an offset).
    - ``corrupt_noise``, ``corrupt_offset``: pathological exploratory output z₂ ← z₂ + ``corrupt_offset`` +
      ``corrupt_noise``·U[−1, 1].
    - ``keep_exploratory``: at test (no exploration), SUPERTREX keeps its exploratory pathway, z = W₁ r + W₂ r,
      instead of removing it.
    - ``gate_theta``: SUPERTREX's gate threshold θ in this run (None: its config's); a tiny θ shuts the gate, so the
      mastery pathway W₁ stays as it is while the exploratory one learns.
    """

    lesioned: bool = False
    dopamine_scale: float = 1.0
    tonic_offset: float = 0.0
    corrupt_noise: float = 0.0
    corrupt_offset: float = 0.0
    keep_exploratory: bool = False
    gate_theta: float | None = None

    def __post_init__(self) -> None:
        if self.dopamine_scale < 0 or self.corrupt_noise < 0:
            raise ValueError(f"dopamine_scale and corrupt_noise must be >= 0, got {self}")
        if self.gate_theta is not None and not self.gate_theta > 0:
            raise ValueError(f"gate_theta must be > 0 (or None), got {self.gate_theta}")

    def modulation(self, phi: torch.Tensor) -> torch.Tensor:
        """Φ after the dopamine switch."""
        if self.dopamine_scale == 1.0 and self.tonic_offset == 0.0:
            return phi
        return phi * self.dopamine_scale + self.tonic_offset

    @property
    def corrupted(self) -> bool:
        """Whether the exploratory output is corrupted."""
        return bool(self.corrupt_noise or self.corrupt_offset)


NO_SWITCHES = Switches()


@dataclass(frozen=True)
class Phase:
    """``trials`` consecutive training trials under ``switches`` (None: every remaining trial)."""

    switches: Switches = NO_SWITCHES
    trials: int | None = None

    def __post_init__(self) -> None:
        if self.trials is not None and self.trials < 1:
            raise ValueError(f"a phase lasts at least one trial (or None: the rest), got {self.trials}")


@dataclass(frozen=True)
class Plan:
    """Training as consecutive phases; trials after the last phase run without interventions.

    E.g. ``Plan((Phase(trials=5), Phase(Switches(lesioned=True))))``: a lesion at the start of the sixth trial.
    """

    phases: tuple[Phase, ...] = ()

    def __post_init__(self) -> None:
        if any(p.trials is None for p in self.phases[:-1]):
            raise ValueError("only the last phase may last for every remaining trial (trials=None)")

    def switches(self, trial: int) -> Switches:
        """The switches in force during training trial ``trial`` (counted from 0)."""
        first = 0
        for phase in self.phases:
            if phase.trials is None or trial < first + phase.trials:
                return phase.switches
            first += phase.trials
        return NO_SWITCHES


NO_PLAN = Plan()
