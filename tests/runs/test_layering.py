"""Oracle: the package's import graph and call sites. `runs/` owns the experiment contract and never imports
`experiments/`; experiments keep their resume state in the run's `Ledger`, never in a checkpoint of their own."""

import ast
from pathlib import Path

import neuroplastic

PACKAGE = Path(neuroplastic.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_runs_never_imports_experiments():
    upward = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in (PACKAGE / "runs").glob("*.py")
        for module in imported_modules(path)
        if module == "neuroplastic.experiments" or module.startswith("neuroplastic.experiments.")
    }
    assert not upward


def test_experiments_resume_through_the_ledger_only():
    own_checkpoints = {
        f"{path.relative_to(PACKAGE)} calls {node.attr}"
        for path in (PACKAGE / "experiments").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in {"save_checkpoint", "load_checkpoint"}
    }
    assert not own_checkpoints
