"""What can be wrong with a run folder; each message names the folder or file and what to do about it."""

from __future__ import annotations


class RunFolderError(RuntimeError):
    """A run, sweep or reproduce folder that cannot be used as asked."""


class RunFolderConflict(RunFolderError):
    """The folder holds something else: a run of another experiment or config, or files that are not a run."""


class RunFolderBusy(RunFolderError):
    """Another process is running this run right now."""


class RunFolderDamaged(RunFolderError):
    """A file of the run folder cannot be read (damaged, or not written by neuroplastic and so not trusted)."""
