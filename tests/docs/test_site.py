"""The documentation site builds with no warnings, and its API reference renders every module of the package."""

import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import neuroplastic

ROOT = Path(__file__).parents[2]
PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
MISSING = [name for name in PACKAGES if importlib.util.find_spec(name) is None]


@pytest.mark.skipif(bool(MISSING), reason=f'mkdocs not installed ({", ".join(MISSING)}): pip install -e ".[docs]"')
def test_the_site_builds_strictly_and_documents_every_module(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log, log
    html = "".join(page.read_text() for page in (site / "api").glob("*/index.html"))
    modules = {m.name for m in pkgutil.walk_packages(neuroplastic.__path__, prefix="neuroplastic.")}
    missing = sorted(name for name in modules - {"neuroplastic.__main__"} if f'id="{name}"' not in html)
    assert missing == [], "modules absent from the API reference"
