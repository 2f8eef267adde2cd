"""What a run ran on: versions, device, seed, git commit and command line."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

import neuroplastic


def git_commit(directory: Path | None = None) -> str | None:
    """The commit of the git checkout holding ``directory`` (default: this package), with ``+dirty`` if modified."""
    where = directory or Path(neuroplastic.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def environment(*, device: str, seed: int, argv: list[str] | None = None) -> dict[str, Any]:
    """A JSON-ready record of the software and hardware a run used."""
    return {
        "neuroplastic": neuroplastic.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
        "cuda_device": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "seed": seed,
        "git_commit": git_commit(),
        "command": list(sys.argv if argv is None else argv),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
