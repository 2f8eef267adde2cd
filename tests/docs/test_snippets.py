"""The Python examples in the guides run as printed (each page's blocks in order, sharing one namespace)."""

import re
from pathlib import Path

import pytest
import torch

GUIDES = sorted((Path(__file__).parents[2] / "docs" / "guides").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)


def test_the_guides_hold_python_examples():
    assert sum(len(BLOCK.findall(page.read_text())) for page in GUIDES) >= 5


@pytest.mark.parametrize("page", GUIDES, ids=lambda p: p.stem)
def test_the_guide_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)  # tests/conftest.py restores the count
    namespace = {"__name__": f"guide_{page.stem}"}
    for number, block in enumerate(BLOCK.findall(page.read_text()), start=1):
        exec(compile(block, f"{page.name}, python block {number}", "exec"), namespace)
