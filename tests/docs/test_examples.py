"""Every ``examples/*.py`` runs to completion, and its own check of its result passes (exit status 0)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.py"))


def test_every_example_checks_its_result():
    """A script that cannot fail would pass trivially: each one must exit non-zero on a bad result."""
    assert EXAMPLES
    for script in EXAMPLES:
        assert "sys.exit(" in script.read_text(), f"{script.name} never exits non-zero"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_and_its_check_passes(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
