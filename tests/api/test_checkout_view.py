"""The options call's kept view of a hub (backend/services/checkout_kept.py) and kept shop keys
(checkout_keys.py): no query while nothing changed; what another process wrote is seen within
the documented staleness; a hold still refuses what no longer fits."""

from __future__ import annotations

import asyncio
import datetime as dt
import types

from backend.db.engine import current_engine
from backend.db.tables import CheckoutHold, Hub, ShopApiKey
from backend.services import checkout_changes, checkout_kept, checkout_keys
from tests.api.helpers import problem, tomorrow
from tests.api.test_checkout import _hub, _option, _options


class _Clock:
    """A monotonic clock the test moves: the kept views' and keys' ages."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_a_kept_view_answers_without_a_query(client, geo, monkeypatch) -> None:
    _h, _hub_id, (shop, _other), a = await _hub(client, geo)
    assert _option(await _options(client, shop, a[300]), "evening")["available"]
    engine = current_engine()
    asked: list[str] = []
    run = engine.run_querystring

    async def counted(querystring, *args, **kwargs):
        sql = str(querystring)
        if "outbox_event" not in sql and '"job"' not in sql:  # the app's own pollers run meanwhile
            asked.append(sql)
        return await run(querystring, *args, **kwargs)

    monkeypatch.setattr(engine, "run_querystring", counted)
    again = await _options(client, shop, a[305])
    assert _option(again, "evening")["available"]
    assert asked == []  # the key, the shop's hub, the day, the points: all kept


async def test_another_process_s_change_is_seen_within_the_staleness_and_a_hold_refuses_it(
    client, geo, monkeypatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(checkout_kept, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    _h, hub_id, (shop_a, shop_b), a = await _hub(client, geo)
    evening = _option(await _options(client, shop_a, a[300]), "evening")
    assert evening["available"]
    # Another process holds 6 kg of the 10 kg bike's evening: this one hears nothing of it.
    hub = await Hub.select(Hub.lat, Hub.lon).where(Hub.id == hub_id).first()
    day = tomorrow()
    await CheckoutHold.insert(
        CheckoutHold(
            shop=1,
            hub=hub_id,
            option_key="evening",
            delivery_date=day,
            window_start=dt.datetime.combine(day, dt.time(18)),
            window_end=dt.datetime.combine(day, dt.time(22)),
            lat=hub["lat"],
            lon=hub["lon"],
            parcels=[[6000, 20000, 50]],
            price_cents=595,
            expires_at=dt.datetime.now() + dt.timedelta(minutes=10),
        )
    )
    # Within KEPT_S the kept view still offers the room ...
    stale = _option(await _options(client, shop_b, a[305]), "evening")
    assert stale["available"]
    # ... but a hold asks the day afresh: refused, nothing held.
    body = problem(await client.post("/checkout/holds", json={"optionId": stale["id"]}, headers=shop_b), 409)
    assert "full" in body["detail"]
    assert await CheckoutHold.count() == 1
    # Past twice KEPT_S (the longest a view is used while the next one is made) it is read again.
    clock.now += 2 * checkout_kept.KEPT_S
    assert _option(await _options(client, shop_b, a[305]), "evening")["reason"] == "slot_full"


async def test_a_view_past_kept_s_is_used_once_while_the_next_is_made(client, geo, monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(checkout_kept, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    _h, hub_id, _keys, _a = await _hub(client, geo)
    hub = await Hub.select().where(Hub.id == hub_id).first()
    days, now = [tomorrow()], dt.datetime.combine(tomorrow() - dt.timedelta(days=1), dt.time(15, 0, 5))
    first = await checkout_kept.hub_view(hub_id, days, now)
    clock.now += checkout_kept.KEPT_S
    assert await checkout_kept.hub_view(hub_id, days, now) is first  # answered at once, made again meanwhile
    clock.now += checkout_kept.KEPT_S
    again = await checkout_kept.hub_view(hub_id, days, now)
    assert again is not first and again is not None
    assert (await checkout_kept.kept_days(hub, days, now))[1] is again.rooms


async def test_a_revoked_key_is_refused_within_the_keys_staleness(client, geo, monkeypatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(checkout_keys, "time", types.SimpleNamespace(monotonic=clock.monotonic))
    _h, _hub_id, (shop, _other), a = await _hub(client, geo)
    await _options(client, shop, a[300])
    await ShopApiKey.update({ShopApiKey.revoked_at: dt.datetime.now()}).where(
        ShopApiKey.key_hash == checkout_keys.key_hash(shop["X-Api-Key"])
    )
    await _options(client, shop, a[300])  # kept: still good for KEPT_S
    clock.now += checkout_keys.KEPT_S
    body = problem(
        await client.post(
            "/checkout/options",
            json={"address": a[300], "parcels": [{"weightG": 100, "volumeMl": 100, "longestCm": 10}]},
            headers=shop,
        ),
        401,
    )
    assert "revoked" in body["detail"]


async def test_calls_at_once_make_one_view_and_a_change_meanwhile_is_not_missed(client, geo, monkeypatch) -> None:
    _h, hub_id, _keys, _a = await _hub(client, geo)
    made: list[object] = []
    real = checkout_kept._make

    async def counted(*args):
        made.append(args)
        return await real(*args)

    monkeypatch.setattr(checkout_kept, "_make", counted)
    days, now = [tomorrow()], dt.datetime.combine(tomorrow() - dt.timedelta(days=1), dt.time(15, 0, 5))
    views = await asyncio.gather(*(checkout_kept.hub_view(hub_id, days, now) for _ in range(20)))
    assert len(made) == 1 and all(v is views[0] for v in views)
    # A change comes while a view is being made: a call after it does not take that view.
    checkout_changes.changed(hub_id)
    during = asyncio.ensure_future(checkout_kept.hub_view(hub_id, days, now))
    await asyncio.sleep(0)  # its making has begun
    checkout_changes.changed(hub_id)
    after = await checkout_kept.hub_view(hub_id, days, now)
    assert (await during) is not after and len(made) == 3
    assert await checkout_kept.hub_view(hub_id, days, now) is after
