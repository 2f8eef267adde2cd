"""Claiming a folder for a run, a sweep or a reproduction, and the lock that keeps one process per run.

A folder is claimed only when it is new, empty, or already holds a folder of that kind (its marker file:
``config.yaml`` for a run, ``sweep.json`` for a sweep, ``reproduce.json`` for a reproduction), so a mistyped or
empty ``--out`` never writes into a user's own folder. The lock is an ``flock`` on ``.lock`` in the folder, which
the kernel releases when its process dies, however it dies.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neuroplastic.runs.errors import RunFolderBusy, RunFolderConflict

LOCK_FILE = ".lock"


def claim_folder(path: Path, *, marker: str, kind: str) -> Path:
    """Create ``path`` if needed and return it, unless it is a file or a non-empty folder without ``marker``.

    Hidden files (the lock, temporary files of an interrupted write) do not count as content.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunFolderConflict(f"{path} is a file, not a folder; give a new or empty folder for the {kind}")
    if path.is_dir():
        foreign = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
        if foreign and not (path / marker).is_file():
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise RunFolderConflict(
                f"{path} is not empty ({shown}) and is not a {kind} folder (it has no {marker}); "
                f"give a new or empty folder for the {kind}"
            )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise RunFolderConflict(f"cannot create {path}: {parent} is a file, not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def hold_lock(path: Path, *, wait: bool, kind: str = "run") -> Iterator[None]:
    """Hold ``path``'s lock for the block; wait for another holder if ``wait``, else raise `RunFolderBusy`."""
    fd = os.open(Path(path) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as err:
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise RunFolderBusy(
                f"{path}: this {kind} is being run right now by {holder}; wait for it to finish "
                "(then the same command reports it finished), or choose another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def is_locked(path: Path) -> bool:
    """Whether some process holds ``path``'s lock right now."""
    try:
        fd = os.open(Path(path) / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
