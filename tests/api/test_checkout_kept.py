"""The check-out's kept days (backend/services/checkout_kept.py): used again while nothing
changed, made again after a new stop, a hold, or the longest time kept."""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Hub
from backend.realtime.outbox import emit
from backend.services import checkout_kept
from backend.services.checkout_kept import kept_days
from tests.api.helpers import post_ok, tomorrow
from tests.api.test_checkout import _hub, _option, _options


async def test_a_kept_day_is_used_until_the_day_changes(client, geo, monkeypatch) -> None:
    _h, hub_id, (shop, _other), a = await _hub(client, geo)
    hub = await Hub.select().where(Hub.id == hub_id).first()
    days = [tomorrow()]
    now = dt.datetime.combine(tomorrow() - dt.timedelta(days=1), dt.time(15, 0, 5))
    first = await kept_days(hub, days, now)
    again = await kept_days(hub, days, now + dt.timedelta(seconds=30))  # the same minute, rounded up
    assert again[1] is first[1]  # the same rooms: nothing read or simulated again
    assert first[0][0].lanes[0].start_s >= 8 * 3600
    # A courier's stop event alone does not (it only frees room); a new order's stop does.
    await emit("stop.updated", {}, hub_id=hub_id)
    assert (await kept_days(hub, days, now))[1] is first[1]
    order = {
        "reference": "K-1",
        "hubId": hub_id,
        "customerName": "Kim",
        "date": tomorrow().isoformat(),
        "address": a[320],
        "slot": "afternoon",
        "parcels": [{"weightKg": 1, "volumeL": 2}],
    }
    await post_ok(client, "/orders", order, _h)
    assert (await kept_days(hub, days, now))[1] is not first[1]
    # A hold changes the live holds: the next options call sees its room taken (6 kg on a 10 kg bike).
    evening = _option(await _options(client, shop, a[300]), "evening")
    assert evening["available"]
    r = await client.post("/checkout/holds", json={"optionId": evening["id"]}, headers=shop)
    assert r.status_code == 201, r.text
    assert _option(await _options(client, shop, a[305]), "evening")["reason"] == "slot_full"
    # Kept no longer than KEPT_S, whatever the reads say.
    monkeypatch.setattr(checkout_kept, "KEPT_S", 0.0)
    assert (await kept_days(hub, days, now))[1] is not (await kept_days(hub, days, now))[1]
