"""Taking orders in: validate everything first, then write order, parcels and
stops (and the outbox event) in one transaction, so nothing is half-written."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections import Counter
from typing import Annotated, Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.tables import Hub, OrderLine, Parcel, PickupPoint, Product, Shop, Stop
from backend.db.tables import Order as OrderRow
from backend.dispatch.calendar import HHMM, SLOTS, format_hhmm, parse_hhmm
from backend.dispatch.carrier import Shipment
from backend.dispatch.point_limits import limits_text, takes
from backend.errors import Conflict, Invalid, NotFound
from backend.realtime.outbox import emit
from backend.services import carrier, lockers, point_room, stop_history
from backend.services.geo import Geo
from backend.services.hub_scope import require_same_hub
from backend.structs import Body, DbId, Email, Note, Out, Phone, Text200

Positive = Annotated[float, msgspec.Meta(gt=0)]
SlotName = Literal["morning", "afternoon", "evening", "day"]


class WindowIn(Body):
    start: HHMM
    end: HHMM

    def __post_init__(self) -> None:
        super().__post_init__()
        if parse_hhmm(self.end) <= parse_hhmm(self.start):
            raise Invalid(f"the window ends ({self.end}) before it starts ({self.start})")


class ParcelIn(Body):
    weight_kg: Annotated[float, msgspec.Meta(gt=0, le=200)]
    volume_l: Annotated[float, msgspec.Meta(gt=0, le=2000)]
    barcode: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9\-]{4,64}$")] | None = None
    # Collected at this shop on the way; without it the parcel waits at the hub.
    shop_id: DbId | None = None
    longest_side_cm: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None  # for the hub's carrier rules


class LineIn(Body):
    """What the order holds from the hub's stock: picked in the wave of its slot."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: Annotated[int, msgspec.Meta(le=10_000)]  # >= 1, checked with a sentence (naming the line)


class OrderIn(Body):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    hub_id: DbId
    customer_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    date: dt.date
    parcels: Annotated[list[ParcelIn], msgspec.Meta(min_length=1, max_length=50)]
    customer_phone: Phone = ""
    customer_email: Email = ""
    address: Text200 = ""
    postcode: Annotated[str, msgspec.Meta(max_length=16)] = ""  # with the reference, the key to the return portal
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    pickup_point_id: DbId | None = None
    window: WindowIn | None = None
    slot: SlotName | None = None
    service_s: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 120
    notes: Note = ""
    lines: Annotated[list[LineIn], msgspec.Meta(max_length=200)] = []
    # For the hub's carrier rules (docs/checkout.md "Bike or carrier"): None is the hub's country.
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None
    service: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[a-z0-9_]*$")] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.window is None) == (self.slot is None):
            raise Invalid("give either a window {start, end} or a slot (morning, afternoon, evening, day)")


class ParcelOut(Out):
    id: int
    barcode: str
    weight_kg: float
    volume_l: float
    shop_id: int | None


class LineOut(Out):
    id: int
    sku: str
    quantity: int
    status: str  # open (not released) | released | shop | picked | short
    picked: int
    short: int


class OrderOut(Out):
    id: int
    reference: str
    hub_id: int
    customer_name: str
    address: str
    lat: float
    lon: float
    pickup_point_id: int | None
    date: dt.date
    window: WindowIn
    slot: str
    status: str
    parcels: list[ParcelOut]
    stop_ids: list[int]
    tracking_url: str
    lines: list[LineOut] = []


class RowReport(Out):
    row: int  # line number in the file, header is line 1
    reference: str
    ok: bool
    errors: list[str] = []
    order_id: int | None = None


class ImportReport(Out):
    imported: int
    rows: list[RowReport]


class Prepared(msgspec.Struct, kw_only=True):
    """An order that passed every check and is ready to write."""

    data: OrderIn
    lat: float
    lon: float
    address: str
    window: tuple[str, str]


async def prepare(data: OrderIn, geo: Geo, today: dt.date) -> Prepared:
    if data.date < today:
        raise Invalid(f"The delivery date {data.date} is in the past.")
    if not await Hub.exists().where(Hub.id == data.hub_id):
        raise Invalid(f"hubId {data.hub_id} does not exist.")
    shop_ids = {p.shop_id for p in data.parcels if p.shop_id is not None}
    if shop_ids:
        found = {r["id"]: r["hub"] for r in await Shop.select(Shop.id, Shop.hub).where(Shop.id.is_in(list(shop_ids)))}
        if missing := sorted(shop_ids - set(found)):
            raise Invalid(f"shopId {', '.join(map(str, missing))} does not exist.")
        for shop_id, hub in sorted(found.items()):
            require_same_hub("shopId", shop_id, hub, data.hub_id)
    barcodes = [p.barcode for p in data.parcels if p.barcode]
    if dupes := [b for b, n in Counter(barcodes).items() if n > 1]:
        raise Invalid(f"Barcode {dupes[0]} is given twice in this order.")
    if barcodes and (taken := await Parcel.select(Parcel.barcode).where(Parcel.barcode.is_in(barcodes))):
        raise Conflict(f"Barcode {taken[0]['barcode']} is already used by another parcel.")
    await _check_lines(data.lines)
    if await OrderRow.exists().where(OrderRow.reference == data.reference):
        raise Conflict(f"An order with reference {data.reference!r} already exists.")
    if data.pickup_point_id is not None:
        lat, lon, address = await _pickup_point_place(data)
    else:
        lat, lon, address = geo.locate(data.lat, data.lon, data.address or None, what="delivery address")
    window = (data.window.start, data.window.end) if data.window else SLOTS[data.slot or "day"]
    return Prepared(data=data, lat=lat, lon=lon, address=address, window=window)


async def _check_lines(lines: list[LineIn]) -> None:
    """Every line a product of the catalogue, at least one of it; the first wrong one named."""
    known = {
        r["sku"]
        for r in await Product.select(Product.sku).where(Product.sku.is_in(sorted({x.sku for x in lines}) or [""]))
    }
    for i, line in enumerate(lines):
        if line.quantity < 1:
            raise Invalid(
                f"lines[{i}].quantity: order at least 1 of {line.sku}, not {line.quantity}.",
                field=f"lines[{i}].quantity",
            )
        if line.sku not in known:
            raise Invalid(
                f"lines[{i}].sku: there is no product {line.sku!r} in the catalogue; check the SKU or add the product.",
                field=f"lines[{i}].sku",
            )


async def _pickup_point_place(data: OrderIn) -> tuple[float, float, str]:
    pp = await PickupPoint.objects().where(PickupPoint.id == data.pickup_point_id).first()
    if pp is None:
        raise Invalid(f"pickupPointId {data.pickup_point_id} does not exist.")
    require_same_hub("pickupPointId", pp.id, pp.hub, data.hub_id)
    limits = (pp.max_weight_kg, pp.max_volume_l, pp.max_side_cm)
    for p in data.parcels:
        if not takes(*limits, p.weight_kg, p.volume_l, p.longest_side_cm):
            side = f" / {p.longest_side_cm:g} cm" if p.longest_side_cm is not None else ""
            raise Invalid(
                f"A parcel of {p.weight_kg:g} kg / {p.volume_l:g} L{side} does not fit {pp.name} "
                f"(at most {limits_text(*limits)} per parcel)."
            )
    if pp.kind == "locker":  # a compartment for each parcel: too large (422) or full (409)
        await lockers.check_fit({"id": pp.id, "name": pp.name}, data.parcels, data.date)
    room = await point_room.room_left(pp.id, data.date)
    if len(data.parcels) > room:
        raise Conflict(
            f"{pp.name} has room for {room} more parcel(s) on {data.date}; "
            f"this order has {len(data.parcels)}. Choose another pickup point or day."
        )
    return pp.lat, pp.lon, f"{pp.name}, {pp.address}".strip(", ")


async def write(prepared: Prepared, now: dt.datetime) -> int:
    """Insert one prepared order with its parcels and stops; call inside a transaction.
    ``now`` (the caller's clock) stamps the compartments' assignment and the stops' history."""
    data = prepared.data
    day = data.date
    start = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=parse_hhmm(prepared.window[0]))
    end = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=parse_hhmm(prepared.window[1]))
    order = OrderRow(
        reference=data.reference,
        hub=data.hub_id,
        customer_name=data.customer_name,
        customer_phone=data.customer_phone,
        customer_email=data.customer_email,
        address=prepared.address,
        postcode=data.postcode.strip(),
        lat=prepared.lat,
        lon=prepared.lon,
        pickup_point=data.pickup_point_id,
        delivery_date=day,
        window_start=start,
        window_end=end,
        slot=data.slot or "",
        service_s=data.service_s,
        notes=data.notes,
        tracking_token=secrets.token_urlsafe(18),
    )
    order_id = (await OrderRow.insert(order))[0]["id"]
    await Parcel.insert(
        *(
            Parcel(
                order=order_id,
                barcode=p.barcode or new_barcode(),
                weight_kg=p.weight_kg,
                volume_l=p.volume_l,
                shop=p.shop_id,
                longest_side_cm=p.longest_side_cm,
            )
            for p in data.parcels
        )
    )
    if data.pickup_point_id is not None:  # a locker bank: a compartment for each parcel, kept through re-plans
        await lockers.assign(order_id, data.pickup_point_id, "delivery", now)
    stops = [
        Stop(
            order=order_id,
            hub=data.hub_id,
            kind="delivery",
            pickup_point=data.pickup_point_id,
            address=prepared.address,
            lat=prepared.lat,
            lon=prepared.lon,
            plan_date=day,
            window_start=start,
            window_end=end,
            service_s=data.service_s,
            weight_kg=sum(p.weight_kg for p in data.parcels),
            volume_l=sum(p.volume_l for p in data.parcels),
        )
    ]
    by_shop: dict[int, list[ParcelIn]] = {}
    for p in data.parcels:
        if p.shop_id is not None:
            by_shop.setdefault(p.shop_id, []).append(p)
    shops = {s["id"]: s for s in await Shop.select().where(Shop.id.is_in(list(by_shop) or [-1]))}
    for shop_id, parcels in by_shop.items():
        shop = shops[shop_id]
        # Goods can be collected any time that day up to the end of the delivery window.
        stops.append(
            Stop(
                order=order_id,
                hub=data.hub_id,
                kind="pickup",
                shop=shop_id,
                address=shop["address"],
                lat=shop["lat"],
                lon=shop["lon"],
                plan_date=day,
                window_start=dt.datetime.combine(day, dt.time()),
                window_end=end,
                service_s=180,
                weight_kg=sum(p.weight_kg for p in parcels),
                volume_l=sum(p.volume_l for p in parcels),
            )
        )
    written = await Stop.insert(*stops)
    if data.lines:  # open until the wave of the order's slot is released
        await OrderLine.insert(*(OrderLine(order=order_id, sku=x.sku, quantity=x.quantity) for x in data.lines))
    await stop_history.record([r["id"] for r in written], "created", detail=f"Order {data.reference} taken", at=now)
    await carrier.route_order(order_id, data.hub_id, day, _shipment(data))
    await emit(
        "order.created", {"orderId": order_id, "reference": data.reference, "date": day.isoformat()}, hub_id=data.hub_id
    )
    return order_id


def _shipment(data: OrderIn) -> Shipment:
    return Shipment(
        weight_kg=sum(p.weight_kg for p in data.parcels),
        volume_l=sum(p.volume_l for p in data.parcels),
        longest_side_cm=max(p.longest_side_cm or 0.0 for p in data.parcels),
        postcode=data.postcode,
        country=data.country or "",
        service=data.service,
    )


def new_barcode() -> str:
    return "LB" + secrets.token_hex(6).upper()


async def create_order(data: OrderIn, geo: Geo, now: dt.datetime) -> int:
    prepared = await prepare(data, geo, now.date())
    async with transaction():
        return await write(prepared, now)


async def read_order(order_id: int) -> OrderOut | None:
    found = await read_orders(OrderRow.id == order_id)
    return found[0] if found else None


async def orders_of(hub_id: int, day: dt.date) -> list[OrderOut]:
    """The hub's orders for delivery on ``day``."""
    return await read_orders((OrderRow.hub == hub_id) & (OrderRow.delivery_date == day))


async def order_for(order_id: int) -> OrderOut:
    """An order; NotFound when there is none."""
    order = await read_order(order_id)
    if order is None:
        raise NotFound(f"There is no order with id {order_id}.")
    return order


async def cancel_order(order: OrderOut) -> None:
    """Withdraw an order not on a route yet (Conflict when it is planned already)."""
    if await Stop.exists().where(
        (Stop.order == order.id) & (Stop.status.not_in(["open", "unplanned", carrier.CARRIER_STATUS]))
    ):
        raise Conflict("This order is already planned on a route; re-plan or move it first.")
    async with transaction():
        await OrderRow.delete().where(OrderRow.id == order.id)
        await emit("order.cancelled", {"orderId": order.id}, hub_id=order.hub_id)


async def read_orders(where: Any) -> list[OrderOut]:
    """Orders matching a condition, with parcels and stops: three queries, however many orders."""
    rows = await OrderRow.select().where(where).order_by(OrderRow.id)
    ids = [r["id"] for r in rows] or [-1]
    parcels: dict[int, list[ParcelOut]] = {}
    for p in await Parcel.select().where(Parcel.order.is_in(ids)).order_by(Parcel.id):
        parcels.setdefault(p["order"], []).append(
            ParcelOut(
                id=p["id"], barcode=p["barcode"], weight_kg=p["weight_kg"], volume_l=p["volume_l"], shop_id=p["shop"]
            )
        )
    stops: dict[int, list[int]] = {}
    for st in await Stop.select(Stop.id, Stop.order).where(Stop.order.is_in(ids)).order_by(Stop.id):
        stops.setdefault(st["order"], []).append(st["id"])
    lines: dict[int, list[LineOut]] = {}
    for x in await OrderLine.select().where(OrderLine.order.is_in(ids)).order_by(OrderLine.id):
        lines.setdefault(x["order"], []).append(
            LineOut(
                id=x["id"],
                sku=x["sku"],
                quantity=x["quantity"],
                status=x["status"],
                picked=x["picked"],
                short=x["short"],
            )
        )
    return [
        OrderOut(
            id=row["id"],
            reference=row["reference"],
            hub_id=row["hub"],
            customer_name=row["customer_name"],
            address=row["address"],
            lat=row["lat"],
            lon=row["lon"],
            pickup_point_id=row["pickup_point"],
            date=row["delivery_date"],
            window=WindowIn(start=row["window_start"].strftime("%H:%M"), end=_hhmm_end(row)),
            slot=row["slot"],
            status=row["status"],
            parcels=parcels.get(row["id"], []),
            stop_ids=stops.get(row["id"], []),
            tracking_url=f"/track/{row['tracking_token']}",
            lines=lines.get(row["id"], []),
        )
        for row in rows
    ]


def _hhmm_end(row: dict[str, Any]) -> str:
    seconds = int((row["window_end"] - dt.datetime.combine(row["delivery_date"], dt.time())).total_seconds())
    return format_hhmm(seconds)


# --- CSV -------------------------------------------------------------------

CSV_COLUMNS = (
    "reference",
    "hub_id",
    "customer_name",
    "customer_phone",
    "customer_email",
    "address",
    "lat",
    "lon",
    "pickup_point_id",
    "date",
    "slot",
    "window_start",
    "window_end",
    "service_s",
    "parcels",
    "weight_kg",
    "volume_l",
    "shop_ids",
    "notes",
)
REQUIRED_COLUMNS = ("reference", "hub_id", "customer_name", "date")


def _row_to_order(row: dict[str, str]) -> OrderIn:
    """One CSV row as an OrderIn; ValueError/msgspec errors say what is wrong."""
    get = lambda k: (row.get(k) or "").strip()  # noqa: E731
    count = int(get("parcels") or "1")
    weight, volume = float(get("weight_kg") or "1"), float(get("volume_l") or "5")
    shop_ids = [int(s) for s in get("shop_ids").split(";") if s.strip()]
    if shop_ids:
        parcels = [{"weightKg": weight, "volumeL": volume, "shopId": s} for s in shop_ids]
    else:
        parcels = [{"weightKg": weight, "volumeL": volume} for _ in range(count)]
    body: dict[str, Any] = {
        "reference": get("reference"),
        "hubId": int(get("hub_id")),
        "customerName": get("customer_name"),
        "customerPhone": get("customer_phone"),
        "customerEmail": get("customer_email"),
        "address": get("address"),
        "date": get("date"),
        "parcels": parcels,
        "notes": get("notes"),
    }
    if get("lat") or get("lon"):
        body["lat"], body["lon"] = float(get("lat")), float(get("lon"))
    if get("pickup_point_id"):
        body["pickupPointId"] = int(get("pickup_point_id"))
    if get("slot"):
        body["slot"] = get("slot")
    if get("window_start") or get("window_end"):
        body["window"] = {"start": get("window_start"), "end": get("window_end")}
    if get("service_s"):
        body["serviceS"] = int(get("service_s"))
    return msgspec.convert(body, OrderIn)


async def import_csv(text: str, geo: Geo, now: dt.datetime, hub_scope: int | None = None) -> ImportReport:
    """Validate every row; import all of them in one transaction, or none."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if missing := [c for c in REQUIRED_COLUMNS if c not in header]:
        raise Invalid(
            f"The CSV lacks the column(s) {', '.join(missing)}; the first line must name the "
            f"columns, e.g. {','.join(CSV_COLUMNS)}."
        )
    if unknown := [c for c in header if c not in CSV_COLUMNS]:
        raise Invalid(f"Unknown CSV column(s) {', '.join(unknown)}; known: {', '.join(CSV_COLUMNS)}.")
    reports: list[RowReport] = []
    prepared: list[Prepared] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        raw = {k.strip(): v for k, v in raw.items() if k}
        ref = (raw.get("reference") or "").strip()
        try:
            order = _row_to_order(raw)
            if hub_scope is not None and order.hub_id != hub_scope:
                raise Invalid(f"hub_id {order.hub_id} is not your hub ({hub_scope}).")
            if ref in seen:
                raise Invalid(f"reference {ref!r} appears again (first on line {seen[ref]}).")
            seen[ref] = line
            prepared.append(await prepare(order, geo, now.date()))
            reports.append(RowReport(row=line, reference=ref, ok=True))
        except (ValueError, msgspec.ValidationError, Invalid, Conflict) as exc:
            reports.append(RowReport(row=line, reference=ref, ok=False, errors=[_message(exc)]))
    if not reports:
        raise Invalid("The CSV has a header but no rows.")
    if any(not r.ok for r in reports):
        bad = sum(not r.ok for r in reports)
        raise Invalid(
            f"{bad} of {len(reports)} row(s) have errors; nothing was imported. Fix them and upload again.",
            rows=msgspec.to_builtins(reports),
        )
    async with transaction():
        ids = [await write(p, now) for p in prepared]
    rows = [msgspec.structs.replace(r, order_id=i) for r, i in zip(reports, ids, strict=True)]
    return ImportReport(imported=len(ids), rows=rows)


def _message(exc: Exception) -> str:
    text = exc.detail if isinstance(exc, Invalid | Conflict) else str(exc)
    # Python's own conversion messages need a hint of which value it was.
    if isinstance(exc, ValueError) and not isinstance(exc, msgspec.ValidationError) and "invalid literal" in text:
        return f"a number column holds text: {text}"
    return text
