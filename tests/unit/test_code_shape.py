"""Sizes a reader can hold in mind: no module in backend/ above 800 lines, no
function above 120 (generated migrations excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"
MAX_FILE_LINES = 800
MAX_FUNCTION_LINES = 120


def _modules() -> list[Path]:
    return sorted(p for p in BACKEND.rglob("*.py") if "migrations" not in p.parts)


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - start + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_no_module_is_longer_than_800_lines() -> None:
    modules = _modules()
    assert len(modules) > 50, "the walk found too few modules: is BACKEND right?"
    long = {str(p.relative_to(BACKEND)): n for p in modules if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES}
    assert long == {}


def test_no_function_is_longer_than_120_lines() -> None:
    long = {f"{p.relative_to(BACKEND)}:{name}": n for p in _modules() for name, n in long_functions(p.read_text())}
    assert long == {}


def test_the_function_check_counts_decorators_and_nested_functions() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(119))
    nested = f"@decorator\nasync def outer():\n    def inner():\n{body.replace('    ', '        ')}\n        return 0\n"
    assert long_functions(nested) == [("outer", 123), ("inner", 121)]
    assert long_functions(f"def ok():\n{body}\n") == []
