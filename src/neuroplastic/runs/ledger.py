"""A run's resume ledger: the finished parts of a run, keyed by tuples, and the part in progress.

An experiment splits its work into parts (a phase, a cell of a sweep, one condition) and names each by a key, a
tuple of strings and numbers such as ``("mnist", "online")`` or ``(rule, seed)``. `Ledger.record` stores a finished
part's value (JSON-like data and tensors) and saves the whole ledger atomically as the run folder's checkpoint; the
rerun of a killed run loads it and skips every recorded part. A part that is long by itself saves its progress with
`Ledger.save_partial` and picks it up again with `Ledger.partial`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from neuroplastic.runs.errors import RunFolderDamaged
from neuroplastic.runs.folder import RunDir

Key = tuple[str | int | float, ...]
"""A part's name: a non-empty tuple of strings and numbers (numbers compare by value: 1 and 1.0 are one key)."""

LEDGER_FORMAT = "neuroplastic-ledger-1"


class Ledger(Mapping[Key, Any]):
    """The finished parts of one run, a read-only mapping in the order they were recorded, and one part's progress.

    Load it once, at the start of an experiment's ``run``: loading drops the metrics logged after the last save, so
    a resumed run logs each record exactly once.
    """

    def __init__(self, run_dir: RunDir, entries: dict[Key, Any], progress: tuple[Key, Any] | None):
        self.run_dir = run_dir
        self._entries = entries
        self._progress = progress

    @classmethod
    def load(cls, run_dir: RunDir) -> Ledger:
        """The ledger saved in ``run_dir`` (empty for a new run); `RunFolderDamaged` if its checkpoint is not one."""
        state = run_dir.load_checkpoint()
        if state is None:
            return cls(run_dir, {}, None)
        if not isinstance(state, dict) or state.get("format") != LEDGER_FORMAT:
            raise RunFolderDamaged(
                f"{run_dir.checkpoint_file} holds no resume ledger (an older neuroplastic or another program wrote "
                f"it): delete it to start this run over (`rm {run_dir.checkpoint_file}`)"
            )
        return cls(run_dir, dict(state["entries"]), state["progress"])

    def __getitem__(self, key: Key) -> Any:
        return self._entries[key]

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, key: Key, value: Any) -> Any:
        """Record ``value`` as the result of part ``key``, drop that part's progress, save; return ``value``.

        Recording a key again replaces its value (and keeps its place in the order).
        """
        self._entries[_checked(key)] = value
        if self._progress is not None and self._progress[0] == key:
            self._progress = None
        self._save()
        return value

    def partial(self, key: Key) -> Any:
        """The progress last saved for part ``key`` (see `save_partial`), or ``None``."""
        if self._progress is not None and self._progress[0] == key:
            return self._progress[1]
        return None

    def save_partial(self, key: Key, state: Any) -> None:
        """Save ``state`` (tensors and plain data) as the progress of part ``key``, replacing any earlier progress."""
        self._progress = (_checked(key), state)
        self._save()

    def _save(self) -> None:
        entries = list(self._entries.items())
        self.run_dir.save_checkpoint({"format": LEDGER_FORMAT, "entries": entries, "progress": self._progress})


def _checked(key: Key) -> Key:
    if (
        not isinstance(key, tuple)
        or not key
        or not all(isinstance(part, str | int | float) and not isinstance(part, bool) for part in key)
    ):
        raise TypeError(f"a ledger key is a non-empty tuple of strings and numbers, got {key!r}")
    return key
