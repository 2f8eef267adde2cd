"""A run folder: resolved config, append-only metrics, checkpoints, figures, results and environment.

Layout::

    config.yaml        resolved config (written once; a different config in the same folder is an error)
    environment.json   versions, device, seed, git commit, command line, data sources
    metrics.jsonl      append-only, one JSON object per line
    checkpoint.pt      latest checkpoint (atomic), with the number of metric lines it covers
    figures/*.png
    results.json       written last and atomically: its presence means the run finished
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml

from neuroplastic.core.atomic import atomic_write, atomic_write_json, atomic_write_text
from neuroplastic.runs.config import config_to_dict
from neuroplastic.runs.environment import environment

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class RunFolderConflict(RuntimeError):
    """The folder already holds a run of a different experiment or config."""


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

    @classmethod
    def prepare(cls, path: str | Path, *, experiment: str, config: Any, argv: list[str] | None = None) -> RunDir:
        """Create (or reopen) the folder for ``config``; refuse a folder that holds a different run."""
        run = cls(path)
        run.path.mkdir(parents=True, exist_ok=True)
        wanted = {"experiment": experiment, **config_to_dict(config)}
        if run.config_file.exists():
            held = yaml.safe_load(run.config_file.read_text()) or {}
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

    def log(self, **record: Any) -> None:
        """Append one metrics record (a line of JSON) to ``metrics.jsonl``."""
        line = json.dumps(_jsonable(record), allow_nan=False)
        with self.metrics_file.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        """All complete metrics records; a trailing partial line (from a killed run) is ignored."""
        if not self.metrics_file.exists():
            return []
        text = self.metrics_file.read_text(encoding="utf-8")
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line]

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Atomically save ``state`` (tensors, numbers, lists, dicts) with the count of metrics logged so far."""
        payload = {"state": state, "metrics_lines": len(self.metrics())}
        atomic_write(self.checkpoint_file, lambda handle: torch.save(payload, handle))

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint's state, or ``None``; metrics logged after that checkpoint are dropped."""
        if not self.checkpoint_file.exists():
            self._rewrite_metrics([])
            return None
        payload = torch.load(io.BytesIO(self.checkpoint_file.read_bytes()), weights_only=True)
        self._rewrite_metrics(self.metrics()[: payload["metrics_lines"]])
        return payload["state"]

    def record_data(self, provenance: dict[str, Any]) -> None:
        """Add a data set's provenance (which source served it, checksums) to ``environment.json``."""
        env = json.loads(self.environment_file.read_text()) if self.environment_file.exists() else {}
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
        return json.loads(self.results_file.read_text())

    def _rewrite_metrics(self, records: list[dict[str, Any]]) -> None:
        if self.metrics_file.exists():
            atomic_write_text(self.metrics_file, "".join(json.dumps(r) + "\n" for r in records))


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
