"""Atomic file writes.

Oracle: the file system itself: the files present and their contents and modes after a write, a repeated write
and a write interrupted half-way.
"""

import json
import stat

import pytest

from neuroplastic.core.atomic import atomic_write, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "a" / "f.txt"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_interrupted_write_leaves_old_content_and_no_temp_file(tmp_path):
    path = tmp_path / "results.json"
    atomic_write_json(path, {"a": 1})

    def crash(handle):
        handle.write(b'{"a": 2, "half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"loss": float("nan")})
    assert not (tmp_path / "x.json").exists()
