"""The webshop's check-out: the options for an address and its parcels, a hold on one,
and the order made from that hold, once.

An option's id carries what it was asked for (shop, hub, day, option, place, parcels),
signed with the service's secret: options are only read, nothing is stored for them,
and a shop cannot hold an option it was not offered nor another shop's. A hold is
checked again under the hub's check-out lock, so two shops cannot both take the last
room; it keeps that room until it expires (an expired hold simply stops counting, no
timer needed) or becomes an order.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from typing import Annotated, Any, Literal

import msgspec

from backend import jobs
from backend.db.carrier_tables import CarrierOrder
from backend.db.engine import transaction
from backend.db.locks import exclusive
from backend.db.tables import CheckoutHold, CheckoutSlot, ShopApiKey
from backend.dispatch.calendar import HHMM, at, format_hhmm, parse_hhmm
from backend.dispatch.carrier import Decision, Shipment, decide
from backend.dispatch.checkout import DayState, Option, ParcelSize, PointState, Question, SlotRule, options
from backend.dispatch.model import Window
from backend.errors import Conflict, Invalid, NotFound
from backend.services import carrier, checkout_changes, orders
from backend.services.checkout_day import bike_limits, day_states, hub_row, slot_rules
from backend.services.checkout_kept import hub_view
from backend.services.checkout_keys import hub_of_shop, key_hash
from backend.services.context import Context
from backend.services.disruptions import take_same_day_order
from backend.services.hub_scope import require_hub
from backend.services.idempotency import Answer, fingerprint, once
from backend.structs import Body, Email, LocalDateTime, Note, Out, Phone, Text200

DAYS_AHEAD = 3  # today and the next two days
CLEANUP_PERIOD_S = 600  # one clean-up job per hub and ten minutes of expiries

Grams = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]  # up to 1 t: beyond is a typo
Millilitres = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]  # up to 10 m3
Centimetres = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class ParcelQ(Body):
    weight_g: Grams
    volume_ml: Millilitres
    longest_cm: Centimetres


Postcode = Annotated[str, msgspec.Meta(max_length=16)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Service = Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[a-z0-9_]*$")]


class OptionsIn(Body):
    parcels: Annotated[list[ParcelQ], msgspec.Meta(min_length=1, max_length=20)]
    address: Text200 = ""
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    order_time: LocalDateTime | None = None
    # For the hub's carrier rules, as on an order (docs/checkout.md "Bike or carrier").
    postcode: Postcode = ""
    country: Country | None = None  # None: the hub's own country
    service: Service = ""


class OptionOut(Out):
    id: str
    kind: Literal["door", "point", "carrier"]
    key: str
    date: dt.date
    start: str
    end: str
    price_cents: int
    by_bike: bool
    available: bool
    reason: str
    detail: str
    point_id: int | None = None
    point_name: str | None = None
    # A point option's point as it stands that day: parcel_shop or locker, its opening hours
    # ("HH:MM-HH:MM"; always open: "00:00-24:00"; closed: none) and the parcels it can still take.
    point_kind: Literal["parcel_shop", "locker"] | None = None
    hours: list[str] | None = None
    room_left: int | None = None
    carrier: str | None = None  # the carrier's name, when the hub's rules send the order to one
    duties: str | None = None  # DDP or DAP, for a parcel abroad


class OptionsOut(Out):
    hub_id: int
    address: str
    lat: float
    lon: float
    options: list[OptionOut]


class HoldIn(Body):
    option_id: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class HoldOut(Out):
    id: int
    option_id: str
    date: dt.date
    start: str
    end: str
    price_cents: int
    point_id: int | None
    expires_at: dt.datetime
    order_id: int | None


class HoldOrderIn(Body):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    customer_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    customer_phone: Phone = ""
    customer_email: Email = ""
    notes: Note = ""


class SlotIn(Body):
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9\-]{0,31}$")]
    start: HHMM
    end: HHMM
    price_cents: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    lead_min: Annotated[int, msgspec.Meta(ge=0, le=2880)]  # up to two days before the slot starts

    def __post_init__(self) -> None:
        super().__post_init__()
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise Invalid(f"Slot {self.name!r} ends ({self.end}) before it starts ({self.start}).")


class SlotsIn(Body):
    slots: Annotated[list[SlotIn], msgspec.Meta(max_length=20)]  # []: the default slots again

    def __post_init__(self) -> None:
        super().__post_init__()
        names = [x.name for x in self.slots]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise Invalid(f"Slot name {dupes[0]!r} is given twice; each slot needs its own name.")
        if any(n == "carrier" or n.startswith("point-") for n in names):
            raise Invalid("Slot names 'carrier' and 'point-...' are taken by the other options; choose another name.")


class SlotOut(Out):
    name: str
    start: str
    end: str
    price_cents: int
    lead_min: int


class Asked(msgspec.Struct, array_like=True):
    """What an option id carries (signed)."""

    shop: int
    hub: int
    day: dt.date
    key: str
    lat: float
    lon: float
    address: str
    parcels: list[tuple[int, int, int]]
    # What the hub's carrier rules look at besides the parcels (the order made from it gets them).
    postcode: str = ""
    country: str = ""
    service: str = ""

    def shipment(self) -> Shipment:
        return shipment_of(self.parcels, self.postcode, self.country, self.service)


def shipment_of(parcels: list[tuple[int, int, int]], postcode: str, country: str, service: str) -> Shipment:
    """The order-to-be as the carrier rules see it: the same values intake gives them (orders._shipment)."""
    return Shipment(
        weight_kg=sum(p[0] / 1000 for p in parcels),
        volume_l=sum(max(p[1] / 1000, 0.001) for p in parcels),
        longest_side_cm=float(max((p[2] for p in parcels), default=0)),
        postcode=postcode,
        country=country,
        service=service,
    )


# --- the shops' keys ----------------------------------------------------------------


async def new_api_key(shop_id: int, label: str) -> dict[str, Any]:
    """A new key for the shop; the key itself is in this answer only."""
    key = "lbk_" + secrets.token_urlsafe(32)
    async with transaction():
        row = (await ShopApiKey.insert(ShopApiKey(shop=shop_id, key_hash=key_hash(key), label=label)))[0]
    return {"id": row["id"], "shopId": shop_id, "label": label, "key": key}


# --- a hub's slots ------------------------------------------------------------------


async def hub_slots(hub_id: int) -> list[SlotOut]:
    """The slots the hub sells (its own, or the defaults)."""
    return [
        SlotOut(
            name=r.name,
            start=format_hhmm(r.start_s),
            end=format_hhmm(r.end_s),
            price_cents=r.price_cents,
            lead_min=r.lead_s // 60,
        )
        for r in await slot_rules(hub_id)
    ]


async def set_hub_slots(hub_id: int, data: SlotsIn) -> list[SlotOut]:
    """Replace the hub's slots (an empty list: the defaults again); holds already made keep theirs."""
    await require_hub(hub_id)
    async with transaction():
        await CheckoutSlot.delete().where(CheckoutSlot.hub == hub_id)
        if data.slots:
            await CheckoutSlot.insert(
                *(
                    CheckoutSlot(
                        hub=hub_id,
                        name=x.name,
                        start=x.start,
                        end=x.end,
                        price_cents=x.price_cents,
                        lead_min=x.lead_min,
                    )
                    for x in data.slots
                )
            )
    checkout_changes.changed(hub_id)
    return await hub_slots(hub_id)


# --- option ids ---------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _keyed(secret: str) -> hmac.HMAC:
    """The MAC keyed once (an options answer signs some thirty ids): copied per id."""
    return hmac.new(secret.encode(), b"checkout:", hashlib.sha256)


def _sign(secret: str, payload: bytes) -> str:
    mac = _keyed(secret).copy()
    mac.update(payload)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def option_id(secret: str, asked: Asked) -> str:
    payload = msgspec.msgpack.encode(asked)
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(secret, payload)


def read_option_id(secret: str, shop_id: int, text: str) -> Asked:
    """The option an id names; NotFound for a forged or another shop's id (nothing to tell apart)."""
    missing = NotFound("There is no such option for this shop; ask for the options again (optionId).")
    body, _, mac = text.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise missing from None
    if not hmac.compare_digest(mac, _sign(secret, payload)):
        raise missing
    asked = msgspec.msgpack.decode(payload, type=Asked)
    if asked.shop != shop_id:
        raise missing
    return asked


# --- options ------------------------------------------------------------------------


async def question(
    ctx: Context,
    hub: dict[str, Any],
    place: tuple[float, float],
    parcels: list[tuple[int, int, int]],
    now: dt.datetime,
    days: list[dt.date],
    shipment: Shipment | None = None,
) -> Question:
    """The core's question with the days read now (a hold's: nothing kept)."""
    shipment = shipment or shipment_of(parcels, "", "", "")
    return _question(
        ctx,
        hub,
        place,
        parcels,
        now,
        await day_states(hub, days, now, place, parcels),
        await slot_rules(hub["id"]),
        await bike_limits(hub["id"]),
        await carrier.decision_for(hub["id"], shipment),
    )


def _question(
    ctx: Context,
    hub: dict[str, Any],
    place: tuple[float, float],
    parcels: list[tuple[int, int, int]],
    now: dt.datetime,
    states: list[DayState],
    slots: tuple[SlotRule, ...],
    limits: tuple[float, float, int],
    route: Decision | None,
) -> Question:
    return Question(
        now=now,
        lat=place[0],
        lon=place[1],
        hub_lat=hub["lat"],
        hub_lon=hub["lon"],
        area_m=ctx.settings.checkout_area_km * 1000,
        parcels=tuple(ParcelSize(*p) for p in parcels),
        days=tuple(states),
        slots=slots,
        bike_limits=limits,
        route=route,
    )


def _locate(ctx: Context, data: OptionsIn) -> tuple[float, float, str]:
    if data.lat is not None and data.lon is not None and not data.address:
        return data.lat, data.lon, ""  # a point off the map is outside the area, not an error
    return ctx.geo.locate(data.lat, data.lon, data.address or None, what="delivery address")


async def checkout_options(ctx: Context, shop_id: int, data: OptionsIn) -> OptionsOut:
    """The options, from the hub's view kept between calls (services/checkout_kept.py): no
    query while nothing changed; a hold checks again against the day read fresh."""
    hub_id = await hub_of_shop(shop_id)
    # A later order time shapes the answer; an earlier one than now would offer slots whose
    # cut-off has passed (a hold would refuse them), so it counts from now.
    now = max(data.order_time or ctx.now(), ctx.now())
    days = [now.date() + dt.timedelta(days=i) for i in range(DAYS_AHEAD)]
    view = await hub_view(hub_id, days, now)
    if view is None:
        raise Conflict("This shop is not served by a hub yet; ask the hub to link the shop first.")
    lat, lon, address = _locate(ctx, data)
    parcels = [(p.weight_g, p.volume_ml, p.longest_cm) for p in data.parcels]
    extra = (data.postcode.strip(), data.country or "", data.service)
    near = view.near((lat, lon), parcels)
    states = [msgspec.structs.replace(d, points=near.get(d.day, ())) for d in view.states]
    route = decide(*view.carrier, shipment_of(parcels, *extra)) if view.carrier is not None else None
    q = _question(ctx, view.hub, (lat, lon), parcels, now, states, view.slots, view.bike_limits, route)
    points = {(d.day, p.id): p for d in q.days for p in d.points}
    out = []
    for o in options(q, view.rooms):
        asked = Asked(shop_id, hub_id, o.date, o.key, lat, lon, address, parcels, *extra)
        point = points.get((o.date, o.point_id)) if o.point_id is not None else None
        out.append(_option_out(o, option_id(ctx.settings.secret_key, asked), point))
    return OptionsOut(hub_id=hub_id, address=address, lat=lat, lon=lon, options=out)


def _hours(point: PointState) -> list[str]:
    """The point's opening hours that day, as the shop shows them (its delivery window is narrower)."""
    windows = (Window(0, 86_400),) if point.windows is None else point.windows
    return [f"{format_hhmm(w.start)}-{format_hhmm(w.end)}" for w in windows]


def _option_out(o: Option, oid: str, point: PointState | None) -> OptionOut:
    return OptionOut(
        id=oid,
        kind=o.kind,
        key=o.key,
        date=o.date,
        start=format_hhmm(o.start_s),
        end=format_hhmm(o.end_s),
        price_cents=o.price_cents,
        by_bike=o.by_bike,
        available=o.available,
        reason=o.reason,
        detail=o.detail,
        point_id=o.point_id,
        point_name=point.name if point else None,
        point_kind="locker" if point and point.kind == "locker" else "parcel_shop" if point else None,
        hours=_hours(point) if point else None,
        room_left=max(point.room_left, 0) if point else None,
        carrier=o.carrier,
        duties=o.duties,
    )


# --- holds --------------------------------------------------------------------------


async def hold_option(ctx: Context, shop_id: int, data: HoldIn) -> HoldOut:
    """Hold an option for ``checkout_hold_min`` minutes, if it is still available now."""
    asked = read_option_id(ctx.settings.secret_key, shop_id, data.option_id)
    now = ctx.now()
    hub = await hub_row(asked.hub)
    if hub is None:
        raise NotFound("There is no such option for this shop; ask for the options again (optionId).")
    async with exclusive("checkout", asked.hub, what="a check-out hold"):
        q = await question(ctx, hub, (asked.lat, asked.lon), asked.parcels, now, [asked.day], asked.shipment())
        found = next((o for o in options(q) if o.key == asked.key), None)
        if found is None:
            raise NotFound("That option is no longer sold (the hub changed its slots); ask for the options again.")
        if not found.available:
            raise Conflict(f"This option can no longer be held: {found.detail}", reason=found.reason)
        point = next((p for d in q.days for p in d.points if p.id == found.point_id), None)
        place = (point.lat, point.lon) if point is not None else (asked.lat, asked.lon)
        # The carrier's day is the one after now (a door's or point's is the day asked).
        row = CheckoutHold(
            shop=shop_id,
            hub=asked.hub,
            option_key=asked.key,
            delivery_date=found.date,
            window_start=at(found.date, found.start_s),
            window_end=at(found.date, found.end_s),
            pickup_point=found.point_id,
            lat=place[0],
            lon=place[1],
            address=asked.address,
            parcels=[list(p) for p in asked.parcels],
            route={"postcode": asked.postcode, "country": asked.country, "service": asked.service},
            price_cents=found.price_cents,
            expires_at=now + dt.timedelta(minutes=ctx.settings.checkout_hold_min),
        )
        async with transaction():
            hold_id = (await CheckoutHold.insert(row))[0]["id"]
            # Expired holds only stop counting; a job per hub and period removes them later.
            period = int(row.expires_at.timestamp()) // CLEANUP_PERIOD_S
            await jobs.enqueue(
                "checkout_holds_expired",
                f"checkout_holds_expired:{asked.hub}:{period}",
                {"hubId": asked.hub},
                run_after=dt.datetime.fromtimestamp((period + 1) * CLEANUP_PERIOD_S),
            )
    checkout_changes.changed(asked.hub)  # its room is taken from the next options call on
    return await read_hold(shop_id, hold_id, data.option_id)


async def drop_expired_holds(hub_id: int, now: dt.datetime) -> int:
    """Remove the hub's holds that expired without an order (they no longer count anyway)."""
    async with transaction():
        await jobs.settle()
        gone = (
            await CheckoutHold.delete()
            .where((CheckoutHold.hub == hub_id) & (CheckoutHold.expires_at <= now) & CheckoutHold.order_id.is_null())
            .returning(CheckoutHold.id)
        )
    return len(gone)


async def _hold(shop_id: int, hold_id: int) -> dict[str, Any]:
    row = await CheckoutHold.select().where(CheckoutHold.id == hold_id).output(load_json=True).first()
    if row is None or row["shop"] != shop_id:  # another shop's hold is no business of this one
        raise NotFound(f"There is no hold {hold_id} for this shop.")
    return row


async def read_hold(shop_id: int, hold_id: int, option: str = "") -> HoldOut:
    row = await _hold(shop_id, hold_id)
    return HoldOut(
        id=row["id"],
        option_id=option,
        date=row["delivery_date"],
        start=row["window_start"].strftime("%H:%M"),
        end=row["window_end"].strftime("%H:%M"),
        price_cents=row["price_cents"],
        point_id=row["pickup_point"],
        expires_at=row["expires_at"],
        order_id=row["order_id"],
    )


# --- the order ----------------------------------------------------------------------


async def order_from_hold(ctx: Context, shop_id: int, hold_id: int, data: HoldOrderIn) -> orders.OrderOut:
    """The order of a hold, made once: a second call answers the same order."""
    async with exclusive("checkout-hold", hold_id, what="an order from a hold"):
        hold = await _hold(shop_id, hold_id)
        if hold["order_id"] is not None:
            return await orders.order_for(hold["order_id"])
        now = ctx.now()
        if hold["expires_at"] <= now:
            raise Conflict(
                f"Hold {hold_id} expired at {hold['expires_at']:%H:%M}; its room may be taken. "
                "Ask for the options again and hold one.",
                code="hold_expired",
            )
        order_in = _order_in(hold, data)
        # A bike's order for today goes into the running routes; the carrier's is handed over
        # by intake (the hub's rules write its carrier_order, on that day's handover list).
        if hold["delivery_date"] == now.date() and hold["option_key"] != "carrier":
            order_id, _ = await take_same_day_order(ctx, order_in, now)
            async with transaction():
                await CheckoutHold.update({CheckoutHold.order_id: order_id}).where(CheckoutHold.id == hold_id)
        else:
            prepared = await orders.prepare(order_in, ctx.geo, now.date())
            async with transaction():
                order_id = await orders.write(prepared, now)
                if hold["option_key"] == "carrier" and not await CarrierOrder.exists().where(
                    CarrierOrder.order == order_id
                ):  # no bike's room was checked for it: written only as the carrier's
                    raise Conflict(
                        "The hub's carrier rules changed since this hold: the order would no longer go by carrier. "
                        "Ask for the options again and hold one.",
                        code="carrier_rules_changed",
                    )
                await CheckoutHold.update({CheckoutHold.order_id: order_id}).where(CheckoutHold.id == hold_id)
        checkout_changes.changed(hold["hub"])  # the hold's room is now its order's
    return await orders.order_for(order_id)


def _order_in(hold: dict[str, Any], data: HoldOrderIn) -> orders.OrderIn:
    point = hold["pickup_point"]
    body: dict[str, Any] = {
        "reference": data.reference,
        "hubId": hold["hub"],
        "customerName": data.customer_name,
        "customerPhone": data.customer_phone,
        "customerEmail": data.customer_email,
        "notes": data.notes,
        "date": hold["delivery_date"].isoformat(),
        "window": {"start": hold["window_start"].strftime("%H:%M"), "end": hold["window_end"].strftime("%H:%M")},
        "parcels": [
            {"weightKg": p[0] / 1000, "volumeL": max(p[1] / 1000, 0.001), "longestSideCm": p[2]}
            for p in hold["parcels"]
        ],
    }
    # What the check-out's carrier decision looked at, so that intake decides the same.
    route = hold.get("route") or {}
    if route.get("postcode"):
        body["postcode"] = route["postcode"]
    if route.get("country"):
        body["country"] = route["country"]
    if route.get("service"):
        body["service"] = route["service"]
    if point is not None:
        body["pickupPointId"] = point
    else:
        body.update(lat=hold["lat"], lon=hold["lon"], address=hold["address"])
    try:
        return msgspec.convert(body, orders.OrderIn)
    except msgspec.ValidationError as exc:
        raise Invalid(f"The hold cannot become an order: {exc}") from exc


async def order_from_hold_once(
    ctx: Context, shop_id: int, hold_id: int, data: HoldOrderIn, *, key: str | None, body: bytes
) -> Answer:
    """:func:`order_from_hold` once per Idempotency-Key (a shop's keys are its own: scoped by -shop id)."""

    async def action() -> dict[str, Any]:
        return msgspec.to_builtins(await order_from_hold(ctx, shop_id, hold_id, data))

    if key is None:
        return Answer(201, await action(), replayed=False)
    return await once(-shop_id, key, fingerprint("POST", f"/checkout/holds/{hold_id}/order", body), 201, action)
