"""Fetching datasets into the cache, verifying cached files, and listing what is cached."""

from __future__ import annotations

import json
import logging
import lzma
import os
import pickle
import sys
import tarfile
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from neuroplastic.core.atomic import atomic_write_bytes, atomic_write_json
from neuroplastic.data.cache import data_dir
from neuroplastic.data.checksums import hash_bytes, hash_file, sha256
from neuroplastic.data.errors import BadFileError, DataUnavailableError, SourceFailed
from neuroplastic.data.layouts import check_split
from neuroplastic.data.providers import Provided, Request
from neuroplastic.data.safe_pickle import UnsafePickleError
from neuroplastic.data.sources import DATASETS, DatasetSpec, dataset_spec
from neuroplastic.data.transfer import network_timeout, progress_enabled

log = logging.getLogger(__name__)

RECORD = "source.json"

# What a failing source may raise; anything else is a bug and propagates.
_SOURCE_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SourceFailed,
    tarfile.TarError,
    zipfile.BadZipFile,
    lzma.LZMAError,
    zlib.error,
    pickle.UnpicklingError,
)


def dataset_names() -> list[str]:
    """Return the names of all known datasets."""
    return list(DATASETS)


def _raw_dir(name: str) -> Path:
    return data_dir() / name / "raw"


def _read_record(name: str) -> dict[str, Any] | None:
    """Return the cache record of ``name``, None if there is none; raise `BadFileError` if it is damaged."""
    path = data_dir() / name / RECORD
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as exc:  # invalid JSON or UTF-8
        problem = f"not valid JSON ({exc})"
    else:
        if _is_record(record):
            return record
        problem = "not a cache record (a JSON object with 'source' and 'files')"
    raise BadFileError(
        f"{path}: {problem}; delete it, or run `neuroplastic data fetch {name} --force` to fetch {name} again"
    )


def _is_record(record: Any) -> bool:
    files = record.get("files") if isinstance(record, dict) else None
    return isinstance(files, dict) and all(isinstance(f, dict) for f in files.values()) and "source" in record


def _provenance(record: dict[str, Any], raw: Path, source: str) -> dict[str, Any]:
    files = {f: {**info, "path": str(raw / f)} for f, info in record["files"].items()}
    return {**record, "source": source, "origin": record["source"], "files": files}


def _cached_record(spec: DatasetSpec) -> dict[str, Any] | None:
    """Return the cache record if every raw file is present and has its expected hash, else None.

    Corrupt files are deleted so that the next source replaces them.
    """
    raw = _raw_dir(spec.name)
    if not all((raw / f).is_file() for f in spec.files):
        return None
    record = _read_record(spec.name)
    recorded = record.get("files", {}) if record else {}
    expected = {f: spec.sha256.get(f) or recorded.get(f, {}).get("sha256") for f in spec.files}
    if None in expected.values():
        return None
    intact = True
    for f, digest in expected.items():
        actual = hash_file(raw / f)
        if actual != digest:
            log.warning("cached %s is corrupt (sha256 %s, expected %s); fetching it again", raw / f, actual, digest)
            (raw / f).unlink()
            intact = False
    if not intact:
        return None
    if record is None:  # files placed by hand, verified against the pinned hashes
        record = _new_record(spec, f"manual:{raw}", {f: (raw / f).read_bytes() for f in spec.files}, {})
        atomic_write_json(data_dir() / spec.name / RECORD, record)
    return record


def _new_record(spec: DatasetSpec, source: str, files: dict[str, bytes], details: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": spec.name,
        "source": source,
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": {f: {"sha256": hash_bytes(data), "size": len(data)} for f, data in files.items()},
        "details": details,
    }


def _verify(spec: DatasetSpec, provided: Provided) -> None:
    """Raise unless the provided files are complete, match pinned hashes, and hold the expected samples."""
    missing = [f for f in spec.files if f not in provided.files]
    if missing:
        raise SourceFailed(f"did not provide {', '.join(missing)}")
    for f, digest in spec.sha256.items():
        sha256(digest).check_bytes(provided.files[f], f"{provided.source}: {f}")
    for split in spec.layout.splits:
        try:
            images, labels = spec.layout.read(provided.files, split)
        except UnsafePickleError as exc:  # stop here: no other source is tried in place of a hostile file
            raise BadFileError(f"{provided.source}: {exc}; nothing was cached: supply the genuine file") from exc
        what = f"{provided.source}: {spec.name} {split}"
        check_split(images, labels, n_classes=spec.n_classes, count=spec.counts.get(split), what=what)


def _unavailable(spec: DatasetSpec, request: Request, failures: list[str]) -> DataUnavailableError:
    lines = [f"could not obtain dataset {spec.name!r}; sources tried:"]
    lines += [f"  - {failure}" for failure in failures]
    lines.append("To supply the files by hand, do one of:")
    lines += [f"  - {source.manual_hint(request)}" for source in spec.sources]
    if spec.sha256:
        names = ", ".join(spec.files)
        lines.append(f"  - put the uncompressed files {names} (SHA-256 checked) in {_raw_dir(spec.name)}")
    return DataUnavailableError("\n".join(lines))


def fetch(
    name: str, *, force: bool = False, root: str | os.PathLike[str] | None = None, progress: bool = True
) -> dict[str, Any]:
    """Make sure dataset ``name`` is in the cache, verified, and return its provenance.

    The cache is used when all raw files are present with the expected SHA-256 (a corrupt file is
    re-fetched); otherwise the sources of the manifest are tried in order, ``root`` naming a directory of
    user-supplied files, each announced on stderr when ``progress`` is on (see `progress_enabled`). Servers get
    ``$NEUROPLASTIC_NET_TIMEOUT`` seconds (default 10) and no retries. ``force`` ignores the cache. Raises
    `DataUnavailableError` when every source fails, and its subclass `BadFileError` at once for a file refused
    as untrusted or a damaged cache record.
    The provenance holds ``dataset``, ``source`` (``"cache"`` or the source that served), ``origin`` (the
    source that filled the cache), ``time`` (when it did), ``files`` (path, sha256, size) and ``details``.
    """
    spec = dataset_spec(name)
    raw = _raw_dir(name)
    if not force:
        record = _cached_record(spec)
        if record is not None:
            return _provenance(record, raw, "cache")
    user_dir = Path(root) if root is not None else None
    timeout = network_timeout()
    request = Request(name, data_dir() / "downloads", user_dir, progress, max_sizes=spec.max_sizes, timeout_s=timeout)
    failures = []
    for source in spec.sources:
        if progress_enabled(progress):
            print(f"{name}: trying {source.label}", file=sys.stderr, flush=True)
        try:
            provided = source.provide(request)
            _verify(spec, provided)
        except _SOURCE_ERRORS as exc:
            log.info("%s: %s unavailable: %s", name, source.label, exc)
            failures.append(f"{source.label}: {type(exc).__name__}: {exc}")
            continue
        (data_dir() / name / RECORD).unlink(missing_ok=True)
        for f in spec.files:
            atomic_write_bytes(raw / f, provided.files[f])
        record = _new_record(spec, provided.source, provided.files, provided.details)
        atomic_write_json(data_dir() / name / RECORD, record)
        log.info("%s: fetched from %s into %s", name, provided.source, raw)
        return _provenance(record, raw, provided.source)
    raise _unavailable(spec, request, failures)


def cached() -> list[dict[str, Any]]:
    """List every known dataset: whether its raw files are cached, where, their size, and which source served.

    This only looks at the files; `fetch` verifies their hashes.
    """
    rows = []
    for name, spec in DATASETS.items():
        raw = _raw_dir(name)
        present = [raw / f for f in spec.files if (raw / f).is_file()]
        record = _read_record(name)
        rows.append(
            {
                "dataset": name,
                "cached": len(present) == len(spec.files),
                "path": str(data_dir() / name),
                "size_bytes": sum(p.stat().st_size for p in present),
                "source": record.get("source") if record else None,
            }
        )
    return rows
