"""Getting bytes from the outside world: HTTPS downloads and package-registry clients (npm, pip, apt-get)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from neuroplastic.core.atomic import atomic_path
from neuroplastic.core.progress import progress_enabled as bars_enabled
from neuroplastic.data.errors import SourceFailed

TIMEOUT_ENV_VAR = "NEUROPLASTIC_NET_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
"""Seconds to wait for a server (to connect, or for more data) before a source gives up; no source retries."""
CLIENT_TIMEOUT_S = 600.0
_CHUNK = 1 << 20


def network_timeout() -> float:
    """Return ``$NEUROPLASTIC_NET_TIMEOUT`` in seconds if set, else `DEFAULT_TIMEOUT_S`.

    Raises `ValueError` naming the variable when it is not a positive number.
    """
    text = os.environ.get(TIMEOUT_ENV_VAR, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"${TIMEOUT_ENV_VAR}={text!r} is not a positive number of seconds; set it to e.g. 30, or unset it "
            f"for the default {DEFAULT_TIMEOUT_S:g}"
        )
    return seconds


def progress_enabled(progress: bool) -> bool:
    """Return whether to report progress: requested, not turned off (``--quiet``), and stderr is a terminal."""
    return progress and bars_enabled()


def http_download(url: str, dest: Path, *, progress: bool = True, timeout: float = DEFAULT_TIMEOUT_S) -> None:
    """Download ``url`` to ``dest`` atomically, with a progress bar for large files.

    ``timeout`` bounds the wait to connect and for each read, so an offline machine fails in seconds.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "neuroplastic"})
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(dest) as tmp:
        total = int(response.headers.get("Content-Length") or 0) or None
        bar = tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=dest.name,
            disable=not progress_enabled(progress) or (total or 0) < 10 * _CHUNK,
        )
        with bar, open(tmp, "wb") as f:
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                bar.update(len(chunk))


def client_download(command: Sequence[str], filename: str, dest: Path, *, pattern: str | None = None) -> None:
    """Run a registry client that downloads ``filename`` into a scratch directory, then move it to ``dest``.

    The client runs in the scratch directory, and ``{dir}`` in ``command`` is replaced by its path.
    ``pattern`` is a glob tried when the client names the file differently (apt-get may escape ``~``).
    Raises `SourceFailed` when the client is missing, fails, times out or produces no file.
    """
    if shutil.which(command[0]) is None:
        raise SourceFailed(f"{command[0]} not found on PATH")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download-") as scratch:
        argv = [arg.replace("{dir}", scratch) for arg in command]
        shown = " ".join(command)
        try:
            result = subprocess.run(
                argv, cwd=scratch, capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise SourceFailed(f"{shown} timed out after {exc.timeout:.0f} s") from exc
        if result.returncode != 0:
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
            raise SourceFailed(f"{shown} exited with status {result.returncode}: {tail}")
        produced = Path(scratch) / filename
        if not produced.exists() and pattern is not None:
            produced = next(iter(sorted(Path(scratch).glob(pattern))), produced)
        if not produced.exists():
            raise SourceFailed(f"{shown} did not produce {filename}")
        produced.replace(dest)
