"""Prepared queries give the rows the plain Piccolo query gives, for new values
each time, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from backend.db.prepared import Prepared
from backend.db.tables import Hub

BY_NAME = Prepared(lambda name: Hub.select(Hub.id, Hub.name).where(Hub.name == name).first(), 1)
IN_LIST = Prepared(lambda ids, lo: Hub.select(Hub.name).where(Hub.id.is_in(ids) & (Hub.lat >= lo)).order_by(Hub.id), 2)


async def test_prepared_queries_bind_new_values_and_lists_of_any_length(client) -> None:
    ids = []
    for n, lat in enumerate((52.0, 52.1, 52.2)):
        row = await Hub.insert(Hub(name=f"hub {n}", address=f"Straat {n}", lat=lat, lon=4.9))
        ids.append(row[0]["id"])

    assert await BY_NAME("hub 1") == {"id": ids[1], "name": "hub 1"}
    assert await BY_NAME("hub 2") == await Hub.select(Hub.id, Hub.name).where(Hub.name == "hub 2").first()
    assert await BY_NAME("nowhere") is None

    assert await IN_LIST(ids, 52.05) == [{"name": "hub 1"}, {"name": "hub 2"}]
    assert await IN_LIST(ids[:1], 0.0) == [{"name": "hub 0"}]  # another length: its own SQL
    assert await IN_LIST([ids[2], ids[0]], 52.15) == [{"name": "hub 2"}]

    with pytest.raises(TypeError):
        await BY_NAME()
