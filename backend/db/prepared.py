"""Hot queries built once, run many times with new values.

Building a Piccolo query (columns, joins, where clauses, SQL text) costs far
more CPU than SQLite takes to answer it: on the websocket connect path it was
most of the server's time. A :class:`Prepared` query is built once per kind of engine
with placeholder values, its SQL kept, and each call binds the new values and
runs it through the engine and Piccolo's own result processing, so rows come
back exactly as the plain query would give them.

A list value (for ``is_in``) is bound element by element; the SQL is kept
per length of the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from piccolo.query.methods.select import First, Select

from backend.db.engine import current_engine


class _Mark:
    """A placeholder value, found again in the compiled arguments by identity."""

    __slots__ = ("index", "item")

    def __init__(self, index: int, item: int | None = None) -> None:
        self.index, self.item = index, item


class _Compiled:
    """What an engine's ``run_querystring`` needs of a QueryString."""

    __slots__ = ("args", "query_type", "sql", "table")

    def __init__(self, sql: str, args: list[Any], table: Any) -> None:
        self.sql, self.args, self.table = sql, args, table
        self.query_type = "select"

    def compile_string(self, engine_type: str = "") -> tuple[str, list[Any]]:
        return self.sql, self.args

    def __str__(self) -> str:
        return self.sql


class Prepared:
    """``Prepared(lambda a, b: Table.select(...).where(... a ... b))``, then
    ``await query(a_value, b_value)``: a list of rows, or one row (or None)
    when the builder ends in ``.first()``."""

    def __init__(self, build: Callable[..., Select | First], arity: int) -> None:
        self.build, self.arity = build, arity
        self._compiled: dict[
            tuple[Any, ...], tuple[Select, bool, str, list[Any], list[tuple[int, int, int | None]]]
        ] = {}

    def _compile(self, key: tuple[Any, ...]) -> tuple[Select, bool, str, list[Any], list[tuple[int, int, int | None]]]:
        engine_type, shape = key[0], key[1:]
        marks = [_Mark(i) if n is None else [_Mark(i, k) for k in range(n)] for i, n in enumerate(shape)]
        built = self.build(*marks)
        first = isinstance(built, First)
        select: Select = built.query if isinstance(built, First) else built
        querystrings = select.querystrings
        if len(querystrings) != 1:
            raise ValueError("a prepared query must compile to one statement")
        sql, args = querystrings[0].compile_string(engine_type=engine_type)
        slots = [(position, arg.index, arg.item) for position, arg in enumerate(args) if isinstance(arg, _Mark)]
        expected = sum(1 if n is None else n for n in shape)
        if len(slots) != expected or len({(i, k) for _, i, k in slots}) != expected:
            raise ValueError("every value of a prepared query must appear once in its SQL")
        compiled = self._compiled[key] = (select, first, sql, list(args), slots)
        return compiled

    async def __call__(self, *values: Any) -> Any:
        if len(values) != self.arity:
            raise TypeError(f"this query takes {self.arity} values, got {len(values)}")
        engine = current_engine()
        key = (engine.engine_type, *(len(v) if isinstance(v, list | tuple) else None for v in values))
        select, first, sql, template, slots = self._compiled.get(key) or self._compile(key)
        args = list(template)
        for position, index, item in slots:
            args[position] = values[index] if item is None else values[index][item]
        results = await engine.run_querystring(_Compiled(sql, args, select.table))  # type: ignore[arg-type]
        rows = await select._process_results(results)
        if first:
            return rows[0] if rows else None
        return rows
