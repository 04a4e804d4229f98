"""Command modules only parse and render: none imports another command's module, so a helper
two commands share lives in one place (mdiag/cli/options.py, address_inputs.py, render.py)."""

import ast
from pathlib import Path

import pytest

COMMANDS = sorted((Path(__file__).parents[2] / "mdiag" / "cli" / "commands").glob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", [p for p in COMMANDS if p.name != "__init__.py"], ids=lambda p: p.stem)
def test_no_command_imports_another(path):
    others = {f"mdiag.cli.commands.{p.stem}" for p in COMMANDS if p.stem not in (path.stem, "__init__")}
    assert not _imported_modules(path) & others
