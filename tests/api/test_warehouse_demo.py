"""The demo's warehouse: the picker logs in with the demo password, a wave of the demo
day is released from the seeded stock, and a batch is picked through."""

from __future__ import annotations

import uuid

from backend.db.tables import OrderLine, StockMovement
from backend.services.demo import DEMO_PASSWORD, seed
from backend.services.warehouse_demo import catalogue
from tests.api.helpers import login
from tests.api.warehouse_setup import bind_totes, pick_through, take


async def test_the_demo_picker_picks_a_batch_of_the_demo_day(client, geo) -> None:
    day = client.app.state.context.now().date()
    city = await seed(geo, day, orders_count=60, couriers=2)
    assert city.logins["picker"] == DEMO_PASSWORD
    assert await OrderLine.count() > 10 and await StockMovement.count() > 20
    boss = await login(client, "dispatcher", DEMO_PASSWORD)
    picker = await login(client, "picker", DEMO_PASSWORD)
    r = await client.post(
        f"/hubs/{city.hub_id}/waves/release",
        json={"cutoff": "15:00"},
        headers={**boss, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    (wave,) = r.json()["released"]
    assert wave["batchIds"] and wave["shortLines"] == 0  # the demo stock covers the day
    batch_id = wave["batchIds"][0]
    await take(client, picker, batch_id)
    await bind_totes(client, picker, batch_id, 1)
    view = await pick_through(client, picker, batch_id, {p.sku: p.barcodes[0] for p in catalogue()})
    assert view["status"] == "done" and view["progress"]["unitsShort"] == 0


async def test_the_demo_releases_its_first_wave_so_the_picker_has_work_at_once(client, geo) -> None:
    from backend.services.demo_run import release_first_wave

    day = client.app.state.context.now().date()
    city = await seed(geo, day, orders_count=60, couriers=2)
    batch_ids = await release_first_wave(city)
    assert batch_ids
    picker = await login(client, "picker", DEMO_PASSWORD)
    listed = (await client.get("/pick/batches", headers=picker)).json()
    assert {b["id"] for b in listed} >= set(batch_ids)
