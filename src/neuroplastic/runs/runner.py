"""Run one experiment into its folder (skip if finished, resume if interrupted), or all of them."""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuroplastic.core.atomic import atomic_write_json, atomic_write_text
from neuroplastic.core.devices import resolve_device
from neuroplastic.core.seeding import seed_everything
from neuroplastic.core.threads import torch_threads
from neuroplastic.runs.claim import claim_folder, hold_lock
from neuroplastic.runs.config import ConfigError, apply_overrides, config_hash
from neuroplastic.runs.environment import environment
from neuroplastic.runs.experiment import Experiment, ExperimentConfig
from neuroplastic.runs.folder import RunDir
from neuroplastic.runs.report import ReportEntry, render_report

REPRODUCE_FILE = "reproduce.json"


@dataclass
class RunOutcome:
    """Where a run lives, its results, and whether it was skipped because it had already finished."""

    path: Path
    results: dict[str, Any]
    skipped: bool


def build_config(
    experiment: Experiment,
    *,
    quick: bool = False,
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    device: str | None = None,
) -> ExperimentConfig:
    """The experiment's full (or ``quick``) config with ``--seed``, ``--device`` and ``--set`` applied."""
    config = experiment.config_class.quick() if quick else experiment.config_class()
    flags = {"seed": seed, "device": device}
    for key, value in flags.items():
        clash = [item for item in overrides if item.partition("=")[0].strip() == key]
        if value is not None and clash:
            raise ConfigError(f"--{key} {value} and --set {clash[0]} both give {key}: give it once")
    return apply_overrides(config, [*(f"{k}={v}" for k, v in flags.items() if v is not None), *overrides])


def default_run_path(experiment: Experiment, config: ExperimentConfig, root: Path = Path("runs")) -> Path:
    """``runs/<experiment>/<config hash>-seed<seed>``: the same config and seed always map to the same folder."""
    return root / experiment.name / f"{config_hash(config)}-seed{config.seed}"


def run_experiment(
    experiment: Experiment,
    config: ExperimentConfig,
    path: str | Path,
    *,
    argv: list[str] | None = None,
    wait: bool = False,
) -> RunOutcome:
    """Run ``experiment`` into ``path``: skip a finished run, resume an interrupted one, write its report.

    ``path`` must be new, empty or already hold this run (`RunFolderConflict` otherwise, with nothing written).
    The run holds the folder's lock: a second process asking for it waits (``wait``) or gets `RunFolderBusy`.
    It runs on ``config.threads`` torch threads (part of the config, since the last bits of a result depend on
    it). An exception is recorded in ``error.json`` and raised again.
    """
    resolve_device(config.device)
    with (
        torch_threads(config.threads),
        RunDir.open(path, experiment=experiment.name, config=config, argv=argv, wait=wait) as run_dir,
    ):
        if run_dir.is_finished:
            results = run_dir.read_results()
            _finish(experiment, run_dir, results, rewrite_report=False)
            return RunOutcome(run_dir.path, results, skipped=True)
        run_dir.error_file.unlink(missing_ok=True)
        seed_everything(config.seed)
        start = time.perf_counter()
        try:
            results = experiment.run(config, run_dir)
        except Exception as err:
            run_dir.record_error(f"{type(err).__name__}: {err}", traceback.format_exc())
            raise
        results = {
            **results,
            "experiment": experiment.name,
            "quick": config.quick_variant,
            "wall_time_s": round(time.perf_counter() - start, 2),
        }
        run_dir.write_results(results)
        results = run_dir.read_results()  # JSON-safe from here on: NaN/inf stored as strings, tuples as lists
        _finish(experiment, run_dir, results, rewrite_report=True)
        return RunOutcome(run_dir.path, results, skipped=False)


def _finish(experiment: Experiment, run_dir: RunDir, results: dict[str, Any], *, rewrite_report: bool) -> None:
    """Write ``report.md`` and drop the checkpoint (a kill right after ``results.json`` may have left both)."""
    run_dir.checkpoint_file.unlink(missing_ok=True)
    report = run_dir.path / "report.md"
    if rewrite_report or not report.exists():
        entry = ReportEntry(experiment, run_dir.path, results)
        atomic_write_text(report, render_report([entry], report, title=f"neuroplastic run: {experiment.name}"))


def reproduce(
    experiments: list[Experiment],
    out: Path,
    *,
    quick: bool,
    seed: int | None = None,
    seeds: list[int] | None = None,
    device: str | None = None,
    argv: list[str] | None = None,
    echo=print,
) -> list[ReportEntry]:
    """Run every experiment into ``out/<name>``, then write ``out/report.md`` and ``out/summary.json``.

    With several ``seeds``, each seed runs into ``out/<name>/seed<s>`` and the report gives each quantity's mean
    and 95 % Student-t interval over the finished seeds. A failing experiment (or seed) is reported with its error
    (also in its run folder's ``error.json``) and does not stop the others. ``out`` must be new, empty or hold a
    reproduction, and one process at a time may use it (`RunFolderBusy` otherwise).
    """
    if seed is not None and seeds:
        raise ValueError("give either seed or seeds, not both")
    if device is not None:
        resolve_device(device)
    claim_folder(out, marker=REPRODUCE_FILE, kind="reproduction")
    with hold_lock(out, wait=False, kind="reproduction"):
        atomic_write_json(out / REPRODUCE_FILE, {"quick": quick, "seeds": seeds or [seed if seed is not None else 0]})
        entries = []
        for experiment in experiments:
            if seeds and len(seeds) > 1:
                entries.append(
                    _reproduce_seeds(experiment, out, seeds, quick=quick, device=device, argv=argv, echo=echo)
                )
            else:
                one_seed = seeds[0] if seeds else seed
                path = out / experiment.name
                entries.append(
                    _reproduce_one(experiment, path, one_seed, quick=quick, device=device, argv=argv, echo=echo)
                )
        title = "neuroplastic reproduce" + (" --quick" if quick else "")
        atomic_write_text(out / "report.md", render_report(entries, out / "report.md", title=title))
        summary = {}
        for e in entries:
            summary[e.experiment.name] = {
                "run_folder": os.path.relpath(e.run_path, out),
                "results": e.results,
                "error": e.error,
            }
            if seeds and len(seeds) > 1:
                summary[e.experiment.name]["seed_results"] = e.seed_results
        atomic_write_json(
            out / "summary.json",
            {
                "quick": quick,
                "seeds": seeds if seeds else [seed if seed is not None else 0],
                "environment": environment(device=device or "cpu", seed=seed if seed is not None else 0, argv=argv),
                "experiments": summary,
            },
        )
    return entries


def _reproduce_one(
    experiment: Experiment,
    path: Path,
    seed: int | None,
    *,
    quick: bool,
    device: str | None,
    argv: list[str] | None,
    echo,
    label: str = "",
) -> ReportEntry:
    name = f"[{experiment.name}{label}]"
    config = build_config(experiment, quick=quick, seed=seed, device=device)
    echo(f"{name} running into {path}")
    try:
        outcome = run_experiment(experiment, config, path, argv=argv)
    except Exception as err:  # noqa: BLE001 - one failure must not stop the other experiments
        echo(f"{name} FAILED: {err}")
        return ReportEntry(experiment, path, error=f"{type(err).__name__}: {err}")
    echo(f"{name} {'already finished' if outcome.skipped else 'done'}")
    return ReportEntry(experiment, outcome.path, outcome.results)


def _reproduce_seeds(
    experiment: Experiment, out: Path, seeds: list[int], *, quick: bool, device: str | None, argv, echo
) -> ReportEntry:
    per_seed = {
        s: _reproduce_one(
            experiment,
            out / experiment.name / f"seed{s}",
            s,
            quick=quick,
            device=device,
            argv=argv,
            echo=echo,
            label=f" seed {s}",
        )
        for s in seeds
    }
    finished = [e for e in per_seed.values() if e.error is None]
    errors = [f"seed {s}: {e.error}" for s, e in per_seed.items() if e.error is not None]
    return ReportEntry(
        experiment,
        finished[0].run_path if finished else out / experiment.name,
        finished[0].results if finished else None,
        error=f"{len(errors)} of {len(seeds)} seeds failed: " + "; ".join(errors) if errors else None,
        notes=[f"Seeds {', '.join(map(str, seeds))}, one run folder each: `{experiment.name}/seed<s>`."],
        seed_results=[e.results for e in finished if e.results is not None],
    )
