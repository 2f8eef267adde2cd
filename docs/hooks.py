"""MkDocs hook: an API page lists its subpackage's modules itself, so a new module is documented without an edit.

In ``docs/api/<name>.md`` the line ``<!-- modules -->`` becomes one ``::: neuroplastic.<name>.<module>`` directive
per module file of ``src/neuroplastic/<name>/``, in file-name order; mkdocstrings then renders each.
"""

from pathlib import Path

MARKER = "<!-- modules -->"
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "neuroplastic"


def modules(subpackage: str) -> list[str]:
    """Dotted names of the modules of ``neuroplastic.<subpackage>`` (its ``*.py`` files but ``__init__``)."""
    files = sorted((PACKAGE / subpackage).glob("*.py"))
    return [f"neuroplastic.{subpackage}.{f.stem}" for f in files if f.stem != "__init__"]


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """Expand the marker on ``api/<subpackage>.md`` pages."""
    if MARKER not in markdown:
        return markdown
    subpackage = Path(page.file.src_uri).stem
    return markdown.replace(MARKER, "\n\n".join(f"::: {name}" for name in modules(subpackage)))
