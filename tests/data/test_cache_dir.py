from pathlib import Path

import pytest

from neuroplastic.data import data_dir


def test_env_var_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(tmp_path))
    assert data_dir() == tmp_path


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CACHE_HOME": "/xdg"}, Path("/xdg/neuroplastic")),
        ("linux", {}, Path.home() / ".cache" / "neuroplastic"),
        ("darwin", {}, Path.home() / "Library" / "Caches" / "neuroplastic"),
        ("win32", {"LOCALAPPDATA": "/local"}, Path("/local/neuroplastic/Cache")),
    ],
)
def test_platform_defaults(monkeypatch, platform, env, expected):
    monkeypatch.delenv("NEUROPLASTIC_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.platform", platform)
    assert data_dir() == expected
