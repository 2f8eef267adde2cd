"""Reading members of tar, zip and Debian (ar) archives with the standard library."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

_AR_MAGIC = b"!<arch>\n"
_AR_HEADER = 60


def _missing(kind: str, archive: Path | bytes, wanted: Iterable[str], names: Iterable[str]) -> ValueError:
    where = f"{kind} archive" if isinstance(archive, bytes) else str(archive)
    return ValueError(f"{where} lacks member(s) {sorted(wanted)}; it has {sorted(names)[:20]}")


def read_tar_members(archive: Path | bytes, members: Iterable[str]) -> dict[str, bytes]:
    """Return the contents of ``members`` of a (possibly compressed) tar archive, keyed as requested.

    A leading ``./`` is ignored when matching, so ``./usr/x`` and ``usr/x`` name the same member.
    """
    wanted = {m.removeprefix("./"): m for m in members}
    found: dict[str, bytes] = {}
    names = []
    source = {"fileobj": io.BytesIO(archive)} if isinstance(archive, bytes) else {"name": archive}
    with tarfile.open(**source) as tar:
        for info in tar:
            name = info.name.removeprefix("./")
            names.append(name)
            if name in wanted and info.isfile():
                extracted = tar.extractfile(info)
                if extracted is not None:
                    found[wanted[name]] = extracted.read()
    if len(found) != len(wanted):
        raise _missing("tar", archive, set(wanted.values()) - set(found), names)
    return found


def read_zip_members(archive: Path | bytes, members: Iterable[str]) -> dict[str, bytes]:
    """Return the contents of ``members`` of a zip archive (such as a wheel)."""
    wanted = set(members)
    with zipfile.ZipFile(io.BytesIO(archive) if isinstance(archive, bytes) else archive) as zf:
        names = zf.namelist()
        if not wanted <= set(names):
            raise _missing("zip", archive, wanted - set(names), names)
        return {m: zf.read(m) for m in wanted}


def read_ar_members(archive: Path | bytes) -> dict[str, bytes]:
    """Return every member of a Unix ``ar`` archive (the container format of a .deb) by name."""
    data = archive if isinstance(archive, bytes) else archive.read_bytes()
    what = "ar archive" if isinstance(archive, bytes) else str(archive)
    if not data.startswith(_AR_MAGIC):
        raise ValueError(f"{what}: not an ar archive (missing the '!<arch>' header)")
    members: dict[str, bytes] = {}
    pos = len(_AR_MAGIC)
    while pos < len(data):
        header = data[pos : pos + _AR_HEADER]
        if len(header) < _AR_HEADER or header[58:60] != b"`\n":
            raise ValueError(f"{what}: corrupt member header at offset {pos}")
        name = header[:16].decode("ascii").rstrip().removesuffix("/")
        size = int(header[48:58].decode("ascii").strip())
        start = pos + _AR_HEADER
        if start + size > len(data):
            raise ValueError(f"{what}: member {name!r} is truncated")
        members[name] = data[start : start + size]
        pos = start + size + (size % 2)
    return members


def read_deb_members(deb: Path | bytes, members: Iterable[str]) -> dict[str, bytes]:
    """Return files from a .deb's ``data.tar.*`` without dpkg (paths as in the package: ``./usr/...``)."""
    parts = read_ar_members(deb)
    data_tar = [name for name in parts if name.startswith("data.tar")]
    if not data_tar:
        what = "deb" if isinstance(deb, bytes) else str(deb)
        raise ValueError(f"{what}: no data.tar member (has {sorted(parts)})")
    return read_tar_members(parts[data_tar[0]], members)
