"""A run folder: resolved config, append-only metrics, checkpoints, figures, results and environment.

Layout::

    config.yaml        resolved config (written once; a different config in the same folder is an error)
    environment.json   versions, device, seed, git commit, command line, data sources
    metrics.jsonl      append-only, one JSON object per line
    checkpoint.pt      the run's resume ledger (`neuroplastic.runs.ledger`, atomic), with the metric lines it covers
    figures/*.png
    results.json       written last and atomically: its presence means the run finished
    report.md          the run's report, written after results.json
    error.json         what stopped the last attempt (removed when the run starts again)
    .lock              held by the process running the run (see `neuroplastic.runs.claim`)
"""

from __future__ import annotations

import io
import json
import math
import pickle
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml

from neuroplastic.core.atomic import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    naming_file,
)
from neuroplastic.runs.claim import claim_folder, hold_lock
from neuroplastic.runs.config import config_to_dict
from neuroplastic.runs.environment import environment
from neuroplastic.runs.errors import RunFolderConflict, RunFolderDamaged

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ERROR_FILE = "error.json"


class RunDir:
    """Handle on one run folder; every file it writes is written atomically (``metrics.jsonl`` is appended)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_file = property(lambda self: self.path / "config.yaml", doc="``config.yaml``: the resolved config.")
    results_file = property(lambda self: self.path / "results.json", doc="``results.json``: written last.")
    metrics_file = property(lambda self: self.path / "metrics.jsonl", doc="``metrics.jsonl``: one line per log.")
    checkpoint_file = property(lambda self: self.path / "checkpoint.pt", doc="``checkpoint.pt``: the resume point.")
    environment_file = property(lambda self: self.path / "environment.json", doc="``environment.json``: versions.")
    figures_dir = property(lambda self: self.path / "figures", doc="``figures/``: the run's PNG figures.")
    error_file = property(lambda self: self.path / ERROR_FILE, doc="``error.json``: what stopped the last attempt.")

    @classmethod
    @contextmanager
    def open(
        cls, path: str | Path, *, experiment: str, config: Any, argv: list[str] | None = None, wait: bool = False
    ) -> Iterator[RunDir]:
        """Claim ``path`` for this run and hold its lock for the block (see `prepare`).

        The folder must be new, empty or already hold this run. If another process holds the lock, wait for it
        when ``wait`` is set, else raise `RunFolderBusy`. Temporary files left by a killed write are removed.
        """
        claim_folder(Path(path), marker="config.yaml", kind="run")
        with hold_lock(Path(path), wait=wait):
            run = cls.prepare(path, experiment=experiment, config=config, argv=argv)
            for leftover in [*run.path.glob(".*.tmp"), *run.figures_dir.glob(".*.tmp")]:
                leftover.unlink(missing_ok=True)
            yield run

    @classmethod
    def prepare(cls, path: str | Path, *, experiment: str, config: Any, argv: list[str] | None = None) -> RunDir:
        """Create (or reopen) the folder for ``config``; refuse a folder that holds a different run."""
        run = cls(path)
        run.path.mkdir(parents=True, exist_ok=True)
        wanted = {"experiment": experiment, **config_to_dict(config)}
        if run.config_file.exists():
            held = run._read_config()
            if held != wanted:
                diff = sorted(k for k in held.keys() | wanted.keys() if held.get(k) != wanted.get(k))
                raise RunFolderConflict(
                    f"{run.path} holds a different run (differs in: {', '.join(diff)}); "
                    "choose another --out folder or delete this one"
                )
        else:
            atomic_write_text(run.config_file, yaml.safe_dump(wanted, sort_keys=False, default_flow_style=False))
        if not run.is_finished:
            atomic_write_json(run.environment_file, environment(device=config.device, seed=config.seed, argv=argv))
        return run

    @property
    def is_finished(self) -> bool:
        """A run is finished exactly when ``results.json`` exists (it is written last)."""
        return self.results_file.exists()

    def _read_config(self) -> dict[str, Any]:
        try:
            held = yaml.safe_load(self.config_file.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise RunFolderDamaged(
                f"{self.config_file} cannot be read ({type(err).__name__}), so the run it belongs to is unknown; "
                "choose another --out folder or delete this one"
            ) from None
        if not isinstance(held, dict):
            raise RunFolderDamaged(
                f"{self.config_file} is not a run's config (a YAML mapping of keys to values); "
                "choose another --out folder or delete this one"
            )
        return held

    def log(self, **record: Any) -> None:
        """Append one metrics record (a line of JSON) to ``metrics.jsonl``."""
        line = json.dumps(_jsonable(record), allow_nan=False)
        with naming_file(self.metrics_file), self.metrics_file.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        """All complete metrics records; a trailing partial line (from a killed run) is ignored."""
        if not self.metrics_file.exists():
            return []
        text = self.metrics_file.read_text(encoding="utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]
        records = []
        for number, line in enumerate(complete.splitlines(), start=1):
            if line:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    raise RunFolderDamaged(
                        f"{self.metrics_file} line {number} is not a JSON record; "
                        "delete the run folder to start the run over"
                    ) from None
        return records

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Atomically save ``state`` (tensors, numbers, lists, dicts) with the count of metrics logged so far.

        Experiments save through their run's `Ledger`, which keeps its entries here.
        """
        payload = {"state": state, "metrics_lines": len(self.metrics())}
        buffer = io.BytesIO()
        torch.save(payload, buffer)  # then written as bytes: a full disk raises OSError, not torch's RuntimeError
        atomic_write_bytes(self.checkpoint_file, buffer.getvalue())

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint's state, or ``None``; metrics logged after that checkpoint are dropped."""
        if not self.checkpoint_file.exists():
            self._rewrite_metrics([])
            return None
        start_over = f"delete it to start this run over (`rm {self.checkpoint_file}`)"
        try:
            payload = torch.load(io.BytesIO(self.checkpoint_file.read_bytes()), weights_only=True)
        except pickle.UnpicklingError:
            raise RunFolderDamaged(
                f"{self.checkpoint_file} holds objects other than tensors and plain data, so neuroplastic did not "
                f"write it; it is not trusted and was not loaded: {start_over}"
            ) from None
        except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
            raise RunFolderDamaged(
                f"{self.checkpoint_file} is damaged ({str(err).splitlines()[0][:120]}): {start_over}"
            ) from None
        if not isinstance(payload, dict) or not {"state", "metrics_lines"} <= payload.keys():
            raise RunFolderDamaged(f"{self.checkpoint_file} is not a neuroplastic checkpoint: {start_over}")
        self._rewrite_metrics(self.metrics()[: payload["metrics_lines"]])
        return payload["state"]

    def record_data(self, provenance: dict[str, Any]) -> None:
        """Add a data set's provenance (which source served it, checksums) to ``environment.json``."""
        env = read_json(self.environment_file) if self.environment_file.exists() else {}
        data = env.setdefault("data", [])
        if provenance not in data:
            data.append(_jsonable(provenance))
        atomic_write_json(self.environment_file, env)

    def save_figure(self, figure: Figure, name: str) -> str:
        """Save ``figure`` as ``figures/<name>.png`` atomically; return the path relative to the run folder."""
        path = self.figures_dir / f"{name}.png"
        atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=120, bbox_inches="tight"))
        return str(path.relative_to(self.path))

    def write_results(self, results: dict[str, Any]) -> None:
        """Write ``results.json`` (marks the run finished) and remove the checkpoint, which is no longer needed."""
        atomic_write_json(self.results_file, _jsonable(results))
        self.checkpoint_file.unlink(missing_ok=True)

    def read_results(self) -> dict[str, Any]:
        """The finished run's results."""
        return read_json(self.results_file)

    def record_error(self, error: str, trace: str = "") -> None:
        """Write ``error.json``: the message, its traceback, where and when."""
        atomic_write_json(
            self.error_file,
            {
                "error": error,
                "type": error.partition(":")[0],
                "traceback": trace,
                "host": socket.gethostname(),
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        )

    def read_error(self) -> dict[str, Any]:
        """The recorded failure (``error``, ``type``, ``traceback``, ``host``, ``time``)."""
        return read_json(self.error_file)

    def _rewrite_metrics(self, records: list[dict[str, Any]]) -> None:
        if self.metrics_file.exists():
            atomic_write_text(self.metrics_file, "".join(json.dumps(r) + "\n" for r in records))


def read_json(path: Path, remedy: str = "delete the run folder to start the run over") -> Any:
    """The JSON in ``path``; `RunFolderDamaged` naming the file and ``remedy`` if it cannot be parsed."""
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunFolderDamaged(f"{path} is damaged ({type(err).__name__}: {err}); {remedy}") from None


def _jsonable(obj: Any) -> Any:
    """Convert tensors, tuples and non-finite floats to plain JSON data (NaN/inf become strings)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return _jsonable(obj.tolist())
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj
