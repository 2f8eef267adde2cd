"""The contract the runner owns: a typed config, ``run(config, run_dir) -> results``, and a summary for reports.

As `torch.optim` owns `Optimizer`, `runs/` owns `Experiment`: the runner, sweeps and reports are handed an
experiment and know no particular one. The built-in experiments live in `neuroplastic.experiments`; a user's own
is any module-level `Experiment`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import torch

from neuroplastic.core.devices import parse_device

if TYPE_CHECKING:
    from neuroplastic.runs.folder import RunDir

Cfg = TypeVar("Cfg", bound="ExperimentConfig")


FLOAT32_MAX = torch.finfo(torch.float32).max


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """Fields every experiment has. Subclasses add their own; defaults are the paper's settings.

    ``threads`` is the number of torch CPU threads the run uses: the last bits of a result depend on it, so it is
    part of the config (and of the run folder's name) rather than taken from the machine. ``quick_variant`` marks a
    quick variant (`quick`): a smoke test of the pipeline, not the paper's protocol, whose report carries no reference
    numbers and no verdicts. Subclasses that check their own fields call ``super().__post_init__()`` first.
    """

    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    quick_variant: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {self.seed}")
        if not 1 <= self.threads <= 1024:
            raise ValueError(f"threads must be between 1 and 1024, got {self.threads}")
        parse_device(self.device)
        for field in dataclasses.fields(self):
            values = getattr(self, field.name)
            for value in values if isinstance(values, tuple) else (values,):
                if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= FLOAT32_MAX):
                    raise ValueError(f"{field.name} must be a finite number within ±{FLOAT32_MAX:.3g}, got {value}")

    @classmethod
    def quick(cls: type[Cfg]) -> Cfg:
        """A reduced variant, ``quick_variant=True``, that finishes within a minute or two on a 2-core CPU."""
        return cls(quick_variant=True)


@dataclass(frozen=True)
class ReportRow:
    """One line of a report table: our value beside the reference value (paper or baseline) and its source.

    ``verdict`` marks a row that says whether a published claim holds; quick reports leave such rows out.
    """

    quantity: str
    ours: float | str
    reference: float | str | None = None
    source: str = ""
    verdict: bool = False


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``neuroplastic run NAME`` builds ``config_class`` and calls ``run``."""

    name: str
    description: str
    paper: str
    config_class: type[ExperimentConfig]
    run: Callable[[Any, RunDir], dict[str, Any]]
    summarize: Callable[[dict[str, Any]], list[ReportRow]]
