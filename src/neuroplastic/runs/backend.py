"""The plotting backend of the command line and sweep workers, which only write figures to files."""

from __future__ import annotations

import os


def use_file_backend() -> None:
    """Draw with Agg (files only, no screen), unless the user chose a backend in ``MPLBACKEND``.

    Imports matplotlib but not pyplot, so a command that draws nothing starts no slower for it.
    """
    if not os.environ.get("MPLBACKEND"):
        import matplotlib

        matplotlib.use("Agg")
