"""Many rows into one table with one hand-written statement per chunk.

Piccolo builds an insert from a model instance per row, converting every value: for the
thousands of rows a minute that trail points, events and alerts write, that was most of
their CPU on the serving loop. Here the SQL is a multi-row ``INSERT`` with the engine's own
placeholders, and JSON values are encoded as Piccolo encodes a JSON column, so what is read
back is the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from piccolo.columns import JSON, Column
from piccolo.utils.encoding import dump_json

# Values in one statement: within SQLite's (32,766) and PostgreSQL's (32,767) limits, and
# small enough that one statement never holds the writer for long.
VALUES_AT_ONCE = 5000


async def insert_rows(
    columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, returning: Column | None = None
) -> list[Any]:
    """Insert ``rows`` (values in the order of ``columns``, all of one table), in order.

    Returns the ``returning`` column's value of each row, in the rows' order (empty without
    it). Runs in the caller's transaction, if any."""
    if not rows:
        return []
    table = columns[0]._meta.table
    if any(c._meta.table is not table for c in columns):
        raise ValueError("insert_rows writes the columns of one table")
    names = ", ".join(f'"{c._meta.db_column_name}"' for c in columns)
    head = f"INSERT INTO {table._meta.tablename} ({names}) VALUES "
    tail = f' RETURNING "{returning._meta.db_column_name}"' if returning is not None else ""
    row_sql = "(" + ", ".join(["{}"] * len(columns)) + ")"
    json_at = [i for i, c in enumerate(columns) if isinstance(c, JSON)]  # JSONB too: a subclass
    at_once = max(1, VALUES_AT_ONCE // len(columns))
    out: list[Any] = []
    for i in range(0, len(rows), at_once):
        chunk = rows[i : i + at_once]
        if json_at:
            chunk = [_encoded(row, json_at) for row in chunk]
        answer = await table.raw(head + ", ".join([row_sql] * len(chunk)) + tail, *itertools.chain.from_iterable(chunk))
        if returning is not None:
            key = returning._meta.db_column_name
            out.extend(r[key] for r in answer)
    return out


def _encoded(row: Sequence[Any], json_at: list[int]) -> list[Any]:
    values = list(row)
    for i in json_at:
        values[i] = dump_json(values[i])
    return values
