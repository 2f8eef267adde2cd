"""What an experiment is: a typed config, ``run(config, run_dir) -> results``, and a summary for reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from neuroplastic.runs.folder import RunDir

Cfg = TypeVar("Cfg", bound="ExperimentConfig")


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """Fields every experiment has. Subclasses add their own; defaults are the paper's settings."""

    seed: int = 0
    device: str = "cpu"

    @classmethod
    def quick(cls: type[Cfg]) -> Cfg:
        """A reduced variant that finishes within two minutes on a 2-core CPU (default: the full config)."""
        return cls()


@dataclass(frozen=True)
class ReportRow:
    """One line of a report table: our value beside the reference value (paper or baseline) and its source."""

    quantity: str
    ours: float | str
    reference: float | str | None = None
    source: str = ""


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``neuroplastic run NAME`` builds ``config_class`` and calls ``run``."""

    name: str
    description: str
    paper: str
    config_class: type[ExperimentConfig]
    run: Callable[[Any, RunDir], dict[str, Any]]
    summarize: Callable[[dict[str, Any]], list[ReportRow]]
