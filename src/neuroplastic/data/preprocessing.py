"""Input preprocessing fitted on a training split and applied unchanged to every other split.

- ``raw``: x unchanged (MNIST pixels in [0, 1]).
- ``centred``: x − μ, μ the per-pixel mean of the training split.
- ``standardised``: (x − μ) / σ̄, μ per pixel and σ̄ the pooled standard deviation of the centred training pixels,
  so that the mean per-pixel variance is 1. A pooled σ̄ rather than a per-pixel σ: border pixels of MNIST are
  (nearly) constant in training, and dividing by their σ ≈ 0 would blow up a rare test pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch

PreprocessingKind = Literal["raw", "centred", "standardised"]
PREPROCESSING_KINDS: tuple[str, ...] = get_args(PreprocessingKind)


@dataclass(frozen=True)
class InputPreprocessing:
    """x ↦ (x − mean) / scale, with statistics of the training split (``mean`` None and ``scale`` 1 for raw)."""

    kind: PreprocessingKind
    mean: torch.Tensor | None
    scale: float

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """The preprocessed inputs (samples along the first dimensions, features last, as when fitted)."""
        if self.mean is None:
            return x
        return (x - self.mean.to(x.device, x.dtype)) / self.scale

    def record(self) -> dict[str, object]:
        """What a run folder records: the kind, the pooled scale and a summary of the mean image."""
        summary = None if self.mean is None else {"min": float(self.mean.min()), "max": float(self.mean.max())}
        return {"kind": self.kind, "scale": self.scale, "mean": summary}


def fit_preprocessing(kind: str, train_x: torch.Tensor) -> InputPreprocessing:
    """Fit ``kind`` on the training inputs ``train_x`` (N × features); only they are read."""
    if kind not in PREPROCESSING_KINDS:
        raise ValueError(f"unknown preprocessing {kind!r}; valid: {', '.join(PREPROCESSING_KINDS)}")
    if kind == "raw":
        return InputPreprocessing("raw", None, 1.0)
    x = train_x.to(torch.float64)
    mean = x.mean(0)
    if kind == "centred":
        return InputPreprocessing("centred", mean.to(train_x.dtype), 1.0)
    pooled = float((x - mean).pow(2).mean().sqrt())
    if not pooled > 0:
        raise ValueError("cannot standardise: every training input is the same")
    return InputPreprocessing("standardised", mean.to(train_x.dtype), pooled)
