"""Imports point one way (ARCHITECTURE.md): each package may import only the packages listed before it.

error_kinds → capture → transcribe → diarize → lexicon → cases → engine → agent → api: the session engine never
reaches into the room agents, the service or the command line, and nothing below the store reaches into it. error_kinds (what kind of
failure an error is) sits under everything, so every package's errors can carry their kind.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("error_kinds", "capture", "transcribe", "diarize", "lexicon", "consistency", "cases", "engine", "agent", "api")


def imported_packages(path: Path) -> set[str]:
    """The top-level names of every module `path` imports (at any depth: lazy imports count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", LAYERS)
def test_a_package_imports_only_the_packages_below_it(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    forbidden = set(LAYERS) - allowed
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden)
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) & forbidden
    }
    assert not wrong, f"{package} may import only {sorted(allowed)}; these files reach further: {wrong}"
