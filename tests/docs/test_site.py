"""The documentation site builds with no warnings, and its API reference covers every module of the package."""

import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import neuroplastic

ROOT = Path(__file__).parents[2]
PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
MISSING = [name for name in PACKAGES if importlib.util.find_spec(name) is None]


def test_the_api_reference_renders_every_module():
    modules = {m.name for m in pkgutil.walk_packages(neuroplastic.__path__, prefix="neuroplastic.")}
    modules -= {"neuroplastic.__main__"}
    rendered = set()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        rendered |= set(re.findall(r"^::: (\S+)$", page.read_text(), flags=re.MULTILINE))
    assert sorted(modules - rendered) == [], "add these modules to their subpackage's page in docs/api/"
    assert sorted(rendered - modules - {"neuroplastic." + p.stem for p in (ROOT / "docs" / "api").glob("*.md")}) == []


@pytest.mark.skipif(bool(MISSING), reason=f'mkdocs not installed ({", ".join(MISSING)}): pip install -e ".[docs]"')
def test_the_site_builds_strictly_without_warnings(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log, log
    assert (tmp_path / "site" / "api" / "pc" / "index.html").is_file()
