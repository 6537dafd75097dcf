"""The layers keep to their rooms: the pure cores import nothing from the web, the
database or the service layers; controllers do not touch the database; services
do not know the web framework (but for the one context module); no module uses
another module's private names; the services import each other without a circle.

Each check is a function of the ``backend`` directory, so the tests at the end
can show on a small sample tree that it catches what it is meant to catch.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[2] / "backend"
# Pure cores: a package directory, or a single module (already inside one, named so it stays pure if moved).
PURE = ["dispatch", "dispatch/day_figures.py", "warehouse", "returns"]
FORBIDDEN = (
    "litestar",
    "piccolo",
    "asyncpg",
    "redis",
    "uvicorn",
    "backend.api",
    "backend.db",
    "backend.services",
    "backend.app",
)
# Controllers reach the database only through services.
CONTROLLER_FORBIDDEN = ("backend.db", "piccolo")
# The one module of backend/services that may know Litestar (it keeps the context on the app's state).
SERVICE_CONTEXT = "context.py"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _imported(path: Path) -> Iterator[tuple[ast.stmt, str]]:
    """Every dotted name an import can bind: ``import a.b`` gives a.b; ``from a import b``
    gives a and a.b (b may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, node.module
            for a in node.names:
                yield node, f"{node.module}.{a.name}"


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _files(root: Path, folder: str = "") -> list[Path]:
    return sorted((root / folder).rglob("*.py")) if (root / folder).is_dir() else []


def _where(root: Path, path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"


def _offending(root: Path, files: list[Path], prefixes: tuple[str, ...]) -> list[str]:
    """One line per import statement of ``files`` that binds a name under ``prefixes``."""
    found: dict[str, str] = {}
    for f in files:
        for node, name in _imported(f):
            where = _where(root, f, node)
            if _under(name, prefixes) and (where not in found or len(name) < len(found[where])):
                found[where] = name
    return sorted(f"{where} imports {name}" for where, name in found.items())


def controller_db_imports(root: Path) -> list[str]:
    """Modules of backend/api that import the database (tables, engine, queries) or Piccolo."""
    return _offending(root, _files(root, "api"), CONTROLLER_FORBIDDEN)


def service_web_imports(root: Path) -> list[str]:
    """Modules of backend/services, but for the context module, that import Litestar."""
    files = [f for f in _files(root, "services") if f.relative_to(root / "services").as_posix() != SERVICE_CONTEXT]
    return _offending(root, files, ("litestar",))


def _module_of(root: Path, dotted: str) -> bool:
    """Whether ``dotted`` (backend.x.y) names a module or package of the tree at ``root``."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return False
    path = root.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def private_name_uses(root: Path) -> list[str]:
    """Any module that imports a private name (``_x``) from another module, or reaches one
    through a backend module it imported (``module._x``)."""
    bad = []
    for f in _files(root):
        tree = ast.parse(f.read_text(), filename=str(f))
        modules: dict[str, str] = {}  # local name -> backend module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    if _is_private(a.name):
                        bad.append(f"{_where(root, f, node)} imports {a.name} from {node.module}")
                    elif _module_of(root, f"{node.module}.{a.name}"):
                        modules[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if any(_is_private(p) for p in a.name.split(".")[1:]) and a.name.startswith(root.name + "."):
                        bad.append(f"{_where(root, f, node)} imports {a.name}")
                    if a.asname and _module_of(root, a.name):
                        modules[a.asname] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and _is_private(node.attr)
            ):
                bad.append(f"{_where(root, f, node)} uses {node.attr} of {modules[node.value.id]}")
    return sorted(set(bad))


def service_import_cycles(root: Path) -> list[str]:
    """Circles among backend/services modules, by their imports (wherever in the module)."""
    services = {
        f"{root.name}.services.{f.relative_to(root / 'services').with_suffix('').as_posix().replace('/', '.')}": f
        for f in _files(root, "services")
        if f.name != "__init__.py"
    }
    graph = {
        m: {name if name in services else name.rsplit(".", 1)[0] for _, name in _imported(f)} & services.keys() - {m}
        for m, f in services.items()
    }
    cycles: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                circle = path[path.index(nxt) :]
                start = circle.index(min(circle))
                cycles.add(" -> ".join([*circle[start:], *circle[:start], min(circle)]))
            elif len(path) < len(graph):
                visit(nxt, [*path, nxt])

    for m in sorted(graph):
        visit(m, [m])
    return sorted(cycles)


@pytest.mark.parametrize("core", PURE)
def test_pure_core_imports_nothing_impure(core: str) -> None:
    files = [BACKEND / core] if core.endswith(".py") else sorted((BACKEND / core).rglob("*.py"))
    assert all(f.is_file() for f in files) and files, f"no modules found in backend/{core}"
    bad = [
        f"{f.relative_to(BACKEND)} imports {name}"
        for f in files
        for name in _imports(f)
        if name == "backend" or any(name == x or name.startswith(x + ".") for x in FORBIDDEN)
    ]
    assert bad == []


def test_controllers_do_not_import_the_database() -> None:
    assert controller_db_imports(BACKEND) == []


def test_services_do_not_import_litestar_outside_the_context_module() -> None:
    assert (BACKEND / "services" / SERVICE_CONTEXT).is_file()
    assert service_web_imports(BACKEND) == []


def test_no_module_uses_another_modules_private_names() -> None:
    assert private_name_uses(BACKEND) == []


def test_the_services_import_each_other_without_a_circle() -> None:
    assert service_import_cycles(BACKEND) == []


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("from litestar import get\nimport backend.db.tables\n")
    assert _imports(sample) == ["litestar", "backend.db.tables"]


def _tree(root: Path, files: dict[str, str]) -> Path:
    backend = root / "backend"
    for name, text in {
        "__init__.py": "",
        "api/__init__.py": "",
        "services/__init__.py": "",
        "db/__init__.py": "",
        "db/tables.py": "class Stop: ...\n",
        **files,
    }.items():
        (backend / name).parent.mkdir(parents=True, exist_ok=True)
        (backend / name).write_text(text)
    return backend


def test_the_checks_catch_each_kind_of_violation_on_a_sample(tmp_path: Path) -> None:
    backend = _tree(
        tmp_path,
        {
            "api/orders.py": "from backend.db.tables import Stop\n",
            "api/plans.py": "from backend import db\n",
            "api/routes.py": "import piccolo.query\n",
            "api/fine.py": "from backend.services.orders import read_order\n",
            "services/context.py": "from litestar.datastructures import State\n",
            "services/orders.py": "from litestar import Request\n\ndef read_order(): ...\ndef _hidden(): ...\n",
            "services/planning.py": (
                "from backend.services.orders import _hidden\n"
                "from backend.services import orders\n\n"
                "def f():\n    from backend.services.replanning import g\n"
                "    return orders._hidden()\n"
            ),
            "services/replanning.py": "from backend.services.planning import f\n\ndef g(): ...\n",
            "services/clean.py": "import datetime as _dt\nfrom backend.services.orders import read_order\n",
        },
    )
    assert controller_db_imports(backend) == [
        "backend/api/orders.py:1 imports backend.db.tables",
        "backend/api/plans.py:1 imports backend.db",
        "backend/api/routes.py:1 imports piccolo.query",
    ]
    assert service_web_imports(backend) == ["backend/services/orders.py:1 imports litestar"]
    assert private_name_uses(backend) == [
        "backend/services/planning.py:1 imports _hidden from backend.services.orders",
        "backend/services/planning.py:6 uses _hidden of backend.services.orders",
    ]
    # an import hidden inside a function still counts: it only dodges the circle at run time
    assert service_import_cycles(backend) == [
        "backend.services.planning -> backend.services.replanning -> backend.services.planning"
    ]


def test_the_checks_pass_a_clean_sample(tmp_path: Path) -> None:
    backend = _tree(
        tmp_path,
        {
            "api/orders.py": "from backend.services.orders import read_order\n",
            "services/context.py": "from litestar.datastructures import State\n",
            "services/orders.py": "from backend.db.tables import Stop\n\ndef read_order(): ...\n",
        },
    )
    assert controller_db_imports(backend) == []
    assert service_web_imports(backend) == []
    assert private_name_uses(backend) == []
    assert service_import_cycles(backend) == []
