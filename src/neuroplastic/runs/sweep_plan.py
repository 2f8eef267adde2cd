"""A sweep's plan: the grid × seeds expanded into runs, each with its resolved config and run folder.

The plan is written to ``<sweep>/sweep.json`` (atomically) before any run starts, so every worker, a re-run of
the sweep and ``neuroplastic aggregate`` read the same list. Layout of a sweep folder::

    sweep.json                      the plan (experiment, grid, seeds, every run's config and folder)
    <experiment>/<hash>-seed<s>/    one ordinary run folder per run (plus error.json if it failed)
    logs/, slurm/                   the local workers' and the SLURM jobs' output
"""

from __future__ import annotations

import itertools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroplastic.core.atomic import atomic_write_json
from neuroplastic.runs.config import ConfigError, config_hash, config_to_dict, field_types
from neuroplastic.runs.errors import RunFolderConflict, RunFolderDamaged
from neuroplastic.runs.experiment import Experiment
from neuroplastic.runs.folder import read_json
from neuroplastic.runs.reference import experiment_reference
from neuroplastic.runs.runner import build_config, default_run_path

PLAN_FILE = "sweep.json"
_REMEDY = "choose another --out folder, or delete this sweep folder to start the sweep over"


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: its position, grid point (key → value), seed, resolved config and folder."""

    index: int
    point: dict[str, Any]
    seed: int
    config: dict[str, Any]
    folder: str


@dataclass(frozen=True)
class SweepPlan:
    """Every run of a sweep, in submission order (grid points outer, seeds inner).

    ``experiment`` is the experiment's name; ``reference`` (``"module:attribute"``) is what workers load.
    """

    experiment: str
    reference: str
    quick: bool
    overrides: list[str]
    grid: dict[str, list[str]]
    seeds: list[int]
    runs: list[PlannedRun]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what ``sweep.json`` holds)."""
        return {
            "experiment": self.experiment,
            "reference": self.reference,
            "quick": self.quick,
            "overrides": list(self.overrides),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "seeds": list(self.seeds),
            "runs": [vars(run) for run in self.runs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepPlan:
        """Inverse of `to_dict`."""
        return cls(
            experiment=data["experiment"],
            reference=data["reference"],
            quick=data["quick"],
            overrides=list(data["overrides"]),
            grid={k: list(v) for k, v in data["grid"].items()},
            seeds=list(data["seeds"]),
            runs=[PlannedRun(**run) for run in data["runs"]],
        )


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"0-19"``, ``"3"`` or ``"0,2,5-7"`` (ranges inclusive), in the order given, without repeats."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            span = range(int(first), int(last) + 1) if dash else [int(part)]
        except ValueError:
            raise ValueError(f"bad --seeds {text!r}: use e.g. 0-19 or 0,2,5-7 (non-negative integers)") from None
        if dash and int(last) < int(first):
            raise ValueError(f"bad --seeds {text!r}: range {part} is empty")
        seeds += [s for s in span if s not in seeds]
    return seeds


def parse_grid(config_class: type, items: list[str]) -> dict[str, list[str]]:
    """``key=v1,v2`` items → ``{key: [v1, v2]}`` (values still text; typed later with the ``--set`` parser).

    Values are split on ``;`` when the text holds one, or when the key is a list-typed field (so
    ``hidden=256,128;512`` is two grid values); otherwise on ``,``.
    """
    types_ = field_types(config_class)
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--grid {item!r} is not of the form key=v1,v2,...")
        if key == "seed":
            raise ConfigError("seed is not a grid key: use --seeds (e.g. --seeds 0-19)")
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice")
        tp = types_.get(key)
        is_list = tp is not None and any(typing.get_origin(t) is tuple for t in (tp, *typing.get_args(tp)))
        values = [v.strip() for v in text.split(";" if ";" in text or is_list else ",")]
        if not all(values):
            raise ConfigError(f"--grid {item!r} has an empty value")
        grid[key] = values
    return grid


def plan_sweep(
    experiment: Experiment,
    *,
    grid: dict[str, list[str]],
    seeds: list[int],
    quick: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
) -> SweepPlan:
    """Expand grid × seeds into runs (grid points outer, seeds inner).

    Every config goes through `build_config`, so bad keys or values raise `ConfigError` before anything runs, and
    an experiment that workers could not import raises `ValueError`.
    """
    reference = experiment_reference(experiment)
    if not seeds:
        raise ValueError("a sweep needs at least one seed")
    runs: list[PlannedRun] = []
    seen: dict[str, dict[str, str]] = {}
    for values in itertools.product(*grid.values()):
        texts = dict(zip(grid, values, strict=True))
        point_overrides = [*overrides, *(f"{k}={v}" for k, v in texts.items())]
        base = build_config(experiment, quick=quick, overrides=point_overrides)
        digest = config_hash(base)
        if digest in seen:
            raise ConfigError(f"grid points {seen[digest]} and {texts} give the same config")
        seen[digest] = texts
        resolved = config_to_dict(base)
        point = {k: resolved[k] for k in grid}
        for seed in seeds:
            config = build_config(experiment, quick=quick, overrides=point_overrides, seed=seed)
            folder = default_run_path(experiment, config, root=Path(".")).as_posix()
            runs.append(PlannedRun(len(runs), point, seed, config_to_dict(config), folder))
    return SweepPlan(experiment.name, reference, quick, list(overrides), grid, list(seeds), runs)


def save_plan(plan: SweepPlan, sweep_dir: Path) -> None:
    """Write ``sweep.json`` atomically; an existing plan must be the same sweep (else `RunFolderConflict`)."""
    path = Path(sweep_dir) / PLAN_FILE
    if path.exists():
        held = read_json(path, _REMEDY)
        if held != plan.to_dict():
            raise RunFolderConflict(
                f"{sweep_dir} holds a different sweep ({held.get('experiment')}, grid {held.get('grid')}, "
                f"seeds {held.get('seeds')}); choose another --out folder"
            )
        return
    atomic_write_json(path, plan.to_dict())


def load_plan(sweep_dir: Path) -> SweepPlan:
    """The plan stored in ``sweep_dir`` (a clear error if the folder is not a sweep)."""
    path = Path(sweep_dir) / PLAN_FILE
    if not path.exists():
        raise ValueError(f"{sweep_dir} is not a sweep folder (no {PLAN_FILE})")
    try:
        return SweepPlan.from_dict(read_json(path, _REMEDY))
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise RunFolderDamaged(f"{path} is not a sweep plan ({type(err).__name__}: {err}); {_REMEDY}") from None
