"""The pure cores import nothing from the web, the database or the service layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"
PURE = ["dispatch"]
FORBIDDEN = ("litestar", "piccolo", "asyncpg", "redis", "uvicorn", "backend.api", "backend.db",
             "backend.services", "backend.app")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("core", PURE)
def test_pure_core_imports_nothing_impure(core: str) -> None:
    files = sorted((BACKEND / core).rglob("*.py"))
    assert files, f"no modules found in backend/{core}"
    bad = [f"{f.relative_to(BACKEND)} imports {name}" for f in files for name in _imports(f)
           if name == "backend" or any(name == x or name.startswith(x + ".") for x in FORBIDDEN)]
    assert bad == []


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from litestar import get\nimport backend.db.tables\n")
    assert _imports(sample) == ["litestar", "backend.db.tables"]
