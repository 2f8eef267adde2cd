"""The ``neuroplastic`` command: list, describe, run, reproduce, sweep and aggregate experiments; fetch/list data."""

from __future__ import annotations

import argparse
import errno
import os
import sys
import time
from pathlib import Path

from neuroplastic import __version__
from neuroplastic.core.divergence import DivergenceError
from neuroplastic.core.progress import set_quiet
from neuroplastic.data.errors import DataUnavailableError
from neuroplastic.runs.backend import use_file_backend
from neuroplastic.runs.config import ConfigError, config_to_yaml, describe_fields
from neuroplastic.runs.errors import RunFolderError

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
QUIET_HELP = "no progress bars (automatic when not a terminal)"


class _Subcommands:
    """Subcommands that accept ``--quiet`` after their name too (``neuroplastic run X --quiet``)."""

    def __init__(self, action: argparse._SubParsersAction) -> None:
        self.action = action
        self.quiet = argparse.ArgumentParser(add_help=False)
        self.quiet.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        return self.action.add_parser(name, parents=[self.quiet], **kwargs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuroplastic",
        description="Biologically plausible learning rules: run and reproduce the papers' experiments.",
    )
    parser.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    parser.add_argument("--version", action="version", version=f"neuroplastic {__version__}")
    commands = _Subcommands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))

    commands.add_parser("list", help="every registered experiment with a one-line description")

    describe = commands.add_parser("describe", help="an experiment's config keys, types and defaults")
    describe.add_argument("experiment")
    describe.add_argument("--quick", action="store_true", help="show the quick variant's values")

    run = commands.add_parser("run", help="run one experiment into a run folder")
    run.add_argument("experiment")
    _add_run_options(run)
    run.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (repeatable); see `neuroplastic describe EXPERIMENT`",
    )
    run.add_argument(
        "--out",
        default=None,
        help="run folder (default: runs/EXPERIMENT/<config hash>-seed<seed>)",
    )

    reproduce = commands.add_parser("reproduce", help="run every registered experiment and write one report")
    _add_run_options(reproduce)
    reproduce.add_argument("--seed", type=int, default=None, help="random seed for every experiment")
    reproduce.add_argument(
        "--seeds",
        default=None,
        help="several seeds (e.g. 0-4): one run folder per seed; the report gives mean and 95%% t-interval",
    )
    reproduce.add_argument(
        "--out",
        default=None,
        help="output folder (default: runs/reproduce or runs/reproduce-quick)",
    )

    _add_sweep_parsers(commands)

    data = commands.add_parser("data", help="fetch data sets into the cache, or list the cache")
    data_commands = _Subcommands(data.add_subparsers(dest="data_command", required=True, metavar="ACTION"))
    fetch = data_commands.add_parser("fetch", help="fetch a data set (or all) into the cache")
    fetch.add_argument("names", nargs="+", metavar="NAME", help="a data set name, or `all`")
    fetch.add_argument("--force", action="store_true", help="fetch again even if cached and valid")
    fetch.add_argument("--root", type=Path, default=None, help="folder holding user-supplied files (EMNIST, CIFAR-10)")
    data_commands.add_parser("list", help="what is cached, where, and its size")
    return parser


def _add_sweep_parsers(commands) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="run an experiment over a grid × seeds (locally or as a SLURM job array); re-run to resume",
        description="Each run is an ordinary run folder under the sweep folder; re-running skips finished runs "
        "and re-submits missing or failed ones. `neuroplastic sweep --status DIR` shows where a sweep stands.",
    )
    sweep.add_argument("experiment", nargs="?", help="a registered experiment (omit with --status)")
    sweep.add_argument("--status", type=Path, default=None, metavar="DIR", help="show done/running/failed/pending")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="values of one config key (repeatable; the product is swept); list-typed keys separate values with ;",
    )
    sweep.add_argument("--seeds", default="0", help="seeds, e.g. 0-19 or 0,3,5-7 (default 0)")
    sweep.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="for every run (repeatable)"
    )
    _add_run_options(sweep)
    sweep.add_argument("--executor", choices=("local", "slurm"), default="local")
    sweep.add_argument("--max-parallel", type=int, default=0, help="runs at once (local default: CPU count)")
    sweep.add_argument("--partition", default=None, help="SLURM partition (default: the cluster's)")
    sweep.add_argument(
        "--time-min", type=int, default=None, help="time limit per run, minutes (default: SLURM 60, local none)"
    )
    sweep.add_argument("--mem-gb", type=float, default=None, help="SLURM memory per run, GB")
    sweep.add_argument("--gpus", type=int, default=0, help="SLURM GPUs per run (default 0)")
    sweep.add_argument("--cpus", type=int, default=1, help="SLURM CPUs per run (default 1)")
    sweep.add_argument("--out", default=None, help="sweep folder (default: runs/EXPERIMENT/sweep-<hash>)")

    aggregate = commands.add_parser(
        "aggregate", help="mean, sd and 95%% t-interval over seeds per grid point (Markdown, CSV, figures)"
    )
    aggregate.add_argument("sweep_dir", type=Path, metavar="DIR")
    aggregate.add_argument("--metric", action="append", default=[], help="metric to plot (repeatable)")
    aggregate.add_argument("--x", default=None, help="grid key on the x axis of the figures (default: the first)")
    aggregate.add_argument(
        "--interval",
        choices=("t", "bootstrap"),
        default="t",
        help="interval of the mean: Student t (default) or percentile bootstrap (undercovers at few seeds)",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="a quick variant: a smoke test at reduced size, not the paper's protocol"
    )
    parser.add_argument("--device", default=None, help="cpu (default) or cuda")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuroplastic`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.quiet:
        set_quiet(True)
    use_file_backend()
    command_line = ["neuroplastic", *(sys.argv[1:] if argv is None else argv)]
    try:
        return _dispatch(args, command_line)
    except (ConfigError, DataUnavailableError, ImportError, KeyError, RunFolderError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) else str(err)
        print(f"neuroplastic: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"neuroplastic: error: {_os_error_message(err)}", file=sys.stderr)
        return EXIT_USAGE
    except DivergenceError as err:
        print(f"neuroplastic: run diverged: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("neuroplastic: interrupted; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def _os_error_message(err: OSError) -> str:
    """One line for a failed file operation: what failed, on which file, and what to do."""
    where = f"{err.filename}: " if err.filename else ""
    what = f"{where}{err.strerror or err}"
    if err.errno == errno.ENOSPC:
        return f"{what}; free some space, then rerun the same command to resume"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{what}; choose a folder you can write to (--out)"
    return what


def _out_folder(text: str | None) -> Path | None:
    """The ``--out`` folder; an empty one (an unset shell variable) is refused rather than read as ``.``."""
    if text is None:
        return None
    if not text.strip():
        raise ValueError("--out is empty (an unset shell variable?); give the folder to write to")
    return Path(text)


def _dispatch(args: argparse.Namespace, command_line: list[str]) -> int:
    from neuroplastic.experiments import EXPERIMENTS, get_experiment
    from neuroplastic.runs.runner import build_config, default_run_path, reproduce, run_experiment

    if args.command == "list":
        width = max(len(name) for name in EXPERIMENTS)
        for name, experiment in sorted(EXPERIMENTS.items()):
            print(f"{name:<{width}}  {experiment.description}")
        return 0
    if args.command == "describe":
        experiment = get_experiment(args.experiment)
        config = experiment.config_class.quick() if args.quick else experiment.config_class()
        print(f"{experiment.name}: {experiment.description}\npaper: {experiment.paper}\n")
        print(f"keys and types (--set KEY=VALUE):\n{describe_fields(experiment.config_class)}\n")
        print(("quick" if args.quick else "full") + " config:\n" + config_to_yaml(config))
        return 0
    if args.command == "run":
        experiment = get_experiment(args.experiment)
        config = build_config(
            experiment, quick=args.quick, overrides=args.overrides, seed=args.seed, device=args.device
        )
        path = _out_folder(args.out) or default_run_path(experiment, config)
        outcome = run_experiment(experiment, config, path, argv=command_line)
        state = "already finished; skipped" if outcome.skipped else "finished"
        print(f"{experiment.name}: {state}. Run folder: {outcome.path}")
        for row in experiment.summarize(outcome.results):
            print(
                f"  {row.quantity}: {row.ours:.4g}" if isinstance(row.ours, float) else f"  {row.quantity}: {row.ours}"
            )
        return 0
    if args.command == "reproduce":
        from neuroplastic.runs.sweep_plan import parse_seeds

        out = _out_folder(args.out) or Path("runs/reproduce-quick" if args.quick else "runs/reproduce")
        start = time.perf_counter()
        entries = reproduce(
            list(EXPERIMENTS.values()),
            out,
            quick=args.quick,
            seed=args.seed,
            seeds=parse_seeds(args.seeds) if args.seeds else None,
            device=args.device,
            argv=command_line,
        )
        print(f"report: {out / 'report.md'} ({time.perf_counter() - start:.0f} s)")
        return EXIT_FAILED if any(e.error for e in entries) else 0
    if args.command == "sweep":
        return _sweep_command(args)
    if args.command == "aggregate":
        from neuroplastic.runs.aggregate import write_aggregate

        paths = write_aggregate(args.sweep_dir, metrics=args.metric, x_key=args.x, interval=args.interval)
        print(f"aggregate: {paths['markdown']} and {paths['csv']}")
        _print_skipped(paths["skipped"])
        return 0
    return _data_command(args)


def _sweep_command(args: argparse.Namespace) -> int:
    from neuroplastic.experiments import get_experiment
    from neuroplastic.runs.aggregate import write_aggregate
    from neuroplastic.runs.executors import LocalExecutor, SlurmExecutor
    from neuroplastic.runs.sweep import run_sweep
    from neuroplastic.runs.sweep_plan import load_plan, parse_grid, parse_seeds
    from neuroplastic.runs.sweep_status import format_status

    if args.status is not None:
        print(format_status(load_plan(args.status), args.status))
        return 0
    if args.experiment is None:
        raise ValueError("sweep needs an EXPERIMENT (or --status DIR)")
    experiment = get_experiment(args.experiment)
    if args.executor == "slurm":
        executor = SlurmExecutor(
            partition=args.partition,
            time_min=args.time_min or 60,
            mem_gb=args.mem_gb,
            gpus=args.gpus,
            cpus=args.cpus,
            max_parallel=args.max_parallel,
        )
    else:
        executor = LocalExecutor(max_parallel=args.max_parallel or os.cpu_count() or 1, time_min=args.time_min)
    overrides = [*args.overrides, *([f"device={args.device}"] if args.device else [])]
    outcome = run_sweep(
        experiment,
        executor,
        grid=parse_grid(experiment.config_class, args.grid),
        seeds=parse_seeds(args.seeds),
        quick=args.quick,
        overrides=overrides,
        out=_out_folder(args.out),
    )
    print(format_status(outcome.plan, outcome.path))
    if any(state == "done" for state in outcome.states.values()):
        paths = write_aggregate(outcome.path)
        print(f"aggregate: {paths['markdown']}")
        _print_skipped(paths["skipped"])
    return 0 if outcome.complete else EXIT_FAILED


def _print_skipped(skipped: list) -> None:
    for point in skipped:
        print(f"  not in the figures: {point}")


def _data_command(args: argparse.Namespace) -> int:
    from neuroplastic import data
    from neuroplastic.data.sources import dataset_spec

    if args.data_command == "list":
        for entry in data.cached():
            print(_format_cache_entry(entry))
        print(f"cache: {data.data_dir()}")
        return 0
    fetch_all = args.names == ["all"]
    names = data.dataset_names() if fetch_all else args.names
    unknown = [n for n in names if n not in data.dataset_names()]
    if unknown:
        raise ValueError(f"unknown data set(s) {unknown}; known: {', '.join(data.dataset_names())}, all")
    failed = []
    for name in names:
        try:
            provenance = data.fetch(name, force=args.force, root=args.root)
        except data.DataUnavailableError as err:
            optional = fetch_all and dataset_spec(name).needs_user_files
            print(f"{name}: {'skipped' if optional else 'FAILED'}: {err}", file=sys.stderr)
            failed += [] if optional else [name]
            continue
        print(f"{name}: ok (source: {provenance['source']}, cache: {data.data_dir() / name})")
    return EXIT_FAILED if failed else 0


def _format_cache_entry(entry: dict) -> str:
    if not entry["cached"]:
        return f"{entry['dataset']:<16} not cached"
    size_mb = entry["size_bytes"] / 1e6
    return f"{entry['dataset']:<16} {size_mb:8.1f} MB  {entry['path']}  (source: {entry['source']})"


if __name__ == "__main__":
    raise SystemExit(main())
