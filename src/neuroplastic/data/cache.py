"""Location of the data cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "NEUROPLASTIC_DATA"


def data_dir() -> Path:
    """Return the cache root: ``$NEUROPLASTIC_DATA`` if set, else the platform's user cache directory."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / "neuroplastic" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "neuroplastic"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "neuroplastic"
