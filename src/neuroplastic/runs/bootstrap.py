"""Statistics over seeds: n, mean, sd and a 95 % percentile-bootstrap confidence interval of the mean.

For a sample x₁…xₙ, the bootstrap draws B = 10,000 resamples x*₁…x*ₙ uniformly with replacement (a NumPy
generator seeded with 0, so the same sample always gives the same interval), takes each resample's mean x̄*_b,
and reports the 2.5 % and 97.5 % quantiles of {x̄*_b} (NumPy's linear interpolation). Every seed given counts:
never best-k-of-n. sd is the sample standard deviation (ddof = 1). A non-finite value (a diverged run) makes
the statistics non-finite rather than being dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Summary:
    """n, mean, sample sd (NaN when n = 1) and the bootstrap CI of the mean of one sample."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


def bootstrap_ci(
    values: Any, *, level: float = CI_LEVEL, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean: quantiles (1 ∓ level)/2 of the means of ``resamples`` resamples."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    if not 0 < level < 1 or resamples < 1:
        raise ValueError(f"need 0 < level < 1 and resamples >= 1, got level={level}, resamples={resamples}")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def summarize_sample(values: Any, **bootstrap: Any) -> Summary:
    """`Summary` of ``values`` (a 1-D sample); keyword arguments go to `bootstrap_ci`."""
    x = np.asarray(values, dtype=np.float64).ravel()
    low, high = bootstrap_ci(x, **bootstrap)
    sd = float(x.std(ddof=1)) if x.size > 1 else math.nan
    return Summary(int(x.size), float(x.mean()), sd, low, high)


def format_summary(s: Summary) -> str:
    """``mean [low, high] (n=…)`` with four significant digits."""
    return f"{s.mean:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}] (n={s.n})"
