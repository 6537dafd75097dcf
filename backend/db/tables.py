"""Piccolo tables. Times of day are local wall-clock times of the hub's city.

Changing a table here needs a migration in ``backend/db/migrations`` (see
``docs/development.md``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.columns import (
    JSON,
    BigInt,
    BigSerial,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamp,
    Varchar,
)
from piccolo.columns.defaults.timestamp import TimestampNow
from piccolo.table import Table

if TYPE_CHECKING:

    class Keyed(Table):
        """What the type checker sees: Piccolo adds the ``id`` column at class creation."""

        id: Serial

else:
    Keyed = Table

ROLES = ("admin", "dispatcher", "courier", "picker", "returns", "point")


class User(Keyed, tablename="app_user"):
    username = Varchar(length=64, unique=True, index=True)
    password_hash = Text()
    role = Varchar(length=16)
    display_name = Varchar(length=120, default="")
    active = Boolean(default=True)
    # Dispatchers and couriers belong to a hub; admins see all.
    hub_id = Integer(null=True, default=None)
    created_at = Timestamp(default=TimestampNow())


class Session(Keyed, tablename="app_session"):
    """A login. The token names this row; deleting it ends the session."""

    token_id = Varchar(length=64, unique=True, index=True)
    user = ForeignKey(references=User, on_delete=OnDelete.cascade)
    created_at = Timestamp(default=TimestampNow())
    expires_at = Timestamp()


class Hub(Keyed):
    name = Varchar(length=120, unique=True)
    address = Varchar(length=200, default="")
    lat = Float()
    lon = Float()
    opening_hours = JSON(default=[])
    # Minutes a bike takes to reload at the hub between two loops of a shift (null: the
    # hub's bikes ride one loop a shift).
    reload_min = Float(null=True, default=10.0)


class Shop(Keyed):
    name = Varchar(length=120)
    address = Varchar(length=200, default="")
    lat = Float()
    lon = Float()
    opening_hours = JSON(default=[])
    hub = ForeignKey(references=Hub, null=True, on_delete=OnDelete.set_null)
    # How the hub packs this shop's goods (backend/warehouse/packing.py PackingOptions, camelCase).
    packing = JSON(default={})


class PickupPoint(Keyed, tablename="pickup_point"):
    name = Varchar(length=120)
    kind = Varchar(length=16)  # parcel_shop | locker
    address = Varchar(length=200, default="")
    lat = Float()
    lon = Float()
    opening_hours = JSON(default=[])
    capacity_parcels = Integer()
    max_weight_kg = Float()
    max_volume_l = Float()
    max_side_cm = Float(null=True, default=None)  # the longest parcel it takes; null: any length
    hub = ForeignKey(references=Hub, null=True, on_delete=OnDelete.set_null)
    # Days a parcel waits at the point for its customer before it goes back to the hub.
    holding_days = Integer(default=7)


class Bike(Keyed):
    name = Varchar(length=80, unique=True)
    # The hub whose dispatchers manage it (null: any hub's, for bikes from before hubs had bikes).
    hub = ForeignKey(references=Hub, null=True, on_delete=OnDelete.set_null)
    payload_kg = Float()
    volume_l = Float()
    battery_range_km = Float()
    speed_factor = Float(default=1.0)
    # cargo_bike | e_bike | walker | van: restricted zones' windows may differ per kind
    kind = Varchar(length=16, default="cargo_bike")


class Courier(Keyed):
    name = Varchar(length=120)
    phone = Varchar(length=40, default="")
    user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    bike = ForeignKey(references=Bike, null=True, on_delete=OnDelete.set_null)
    hub = ForeignKey(references=Hub, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)


class Shift(Keyed):
    courier = ForeignKey(references=Courier, on_delete=OnDelete.cascade)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    bike = ForeignKey(references=Bike, null=True, on_delete=OnDelete.set_null)
    start = Timestamp()
    end = Timestamp()
    status = Varchar(length=12, default="planned")  # planned | started | ended | interrupted (out of service)
    started_at = Timestamp(null=True, default=None)
    ended_at = Timestamp(null=True, default=None)
    # Last known position, and the trail's standing part [[lat, lon, iso-time], ...] that the
    # alert check reads (backend/dispatch/alerts.py, standing_part); the whole trail is trail_point.
    last_lat = Float(null=True, default=None)
    last_lon = Float(null=True, default=None)
    last_position_at = Timestamp(null=True, default=None)
    trail = JSON(default=[])


class TrailPoint(Keyed, tablename="trail_point"):
    """The full ridden trail of a shift, thinned (backend/dispatch/day_figures.py,
    ``keep_point``), appended in batches by the position store's flush."""

    shift = ForeignKey(references=Shift, on_delete=OnDelete.cascade, index=True)
    at = Timestamp()
    lat = Float()
    lon = Float()
    accuracy = Float(null=True, default=None)


class BatteryReport(Keyed, tablename="battery_report"):
    """A bike's battery level as a courier or a dispatcher reported it; 100 % is a
    charge. The range left counts from the latest report of the day
    (``backend/services/battery.py``); a day starts with a full battery."""

    bike = ForeignKey(references=Bike, on_delete=OnDelete.cascade, index=True)
    courier = ForeignKey(references=Courier, null=True, on_delete=OnDelete.set_null)
    level_pct = Float()
    at = Timestamp(index=True)
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class Order(Keyed, tablename="customer_order"):
    reference = Varchar(length=64, unique=True, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    customer_name = Varchar(length=120)
    customer_phone = Varchar(length=40, default="")
    customer_email = Varchar(length=200, default="")
    address = Varchar(length=200, default="")
    lat = Float()
    lon = Float()
    # Delivered to a parcel shop or locker instead of the door.
    pickup_point = ForeignKey(references=PickupPoint, null=True, on_delete=OnDelete.set_null)
    delivery_date = Date()
    window_start = Timestamp()
    window_end = Timestamp()
    slot = Varchar(length=32, default="")
    service_s = Integer(default=120)
    notes = Text(default="")
    status = Varchar(length=20, default="open")
    # The customer's link to /track/<token>: unguessable, one per order.
    tracking_token = Varchar(length=40, null=True, default=None)  # unique index in the migration
    created_at = Timestamp(default=TimestampNow())
    # The delivery address's postcode: with the reference, the customer's key to the return portal.
    postcode = Varchar(length=16, default="")


class Stop(Keyed):
    """A visit the planner schedules: a pickup at a shop or a delivery at a door."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)  # pickup | delivery
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)
    pickup_point = ForeignKey(references=PickupPoint, null=True, on_delete=OnDelete.set_null)
    address = Varchar(length=200, default="")
    lat = Float()
    lon = Float()
    plan_date = Date(index=True)
    window_start = Timestamp()
    window_end = Timestamp()
    service_s = Integer(default=120)
    weight_kg = Float(default=0.0)
    volume_l = Float(default=0.0)
    status = Varchar(length=20, default="open")
    arrived_at = Timestamp(null=True, default=None)
    completed_at = Timestamp(null=True, default=None)
    fail_reason = Varchar(length=24, default="")
    fail_note = Text(default="")
    proof = JSON(default={})


class Parcel(Keyed):
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    barcode = Varchar(length=64, unique=True, index=True)
    weight_kg = Float()
    volume_l = Float()
    # Where the goods are collected; null: they wait at the hub.
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)
    longest_side_cm = Float(null=True, default=None)  # as the order gave it (a locker door's depth); null: not given
    status = Varchar(length=20, default="expected")


class PlanRun(Keyed, tablename="plan_run"):
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    plan_date = Date()
    status = Varchar(length=20, default="running")
    started_at = Timestamp(default=TimestampNow())
    finished_at = Timestamp(null=True, default=None)
    time_limit_s = Float()
    inputs = JSON(default={})
    figures = JSON(default={})
    unplanned = JSON(default=[])
    error = Text(default="")


class Route(Keyed):
    plan_run = ForeignKey(references=PlanRun, on_delete=OnDelete.cascade)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    courier = ForeignKey(references=Courier, on_delete=OnDelete.cascade, index=True)
    shift = ForeignKey(references=Shift, on_delete=OnDelete.cascade)
    plan_date = Date()
    version = Integer(default=1)
    current = Boolean(default=True)
    start = Timestamp()
    end = Timestamp()
    distance_m = Integer()
    duration_s = Integer()
    # Ordered stops with ETAs, in the database's names: [{"stop_id", "eta", "service_start",
    # "departure", "loop", ...}] (backend/services/route_store.py writes them; the API shows them camelCase)
    stops = JSON(default=[])
    # Visits of the hub between loops: [{"loop", "arrival", "departure", "load_kg", "load_l", "distance_m"}]
    reloads = JSON(default=[])


class OutboxEvent(Keyed, tablename="outbox_event"):
    """Events written in the same transaction as the change they describe."""

    id = BigSerial(primary_key=True)
    topic = Varchar(length=80, index=True)
    # Who receives it: a courier's stream and/or a hub's stream.
    courier_id = Integer(null=True, default=None, index=True)
    hub_id = Integer(null=True, default=None, index=True)
    kind = Varchar(length=40)
    payload = JSON(default={})
    created_at = Timestamp(default=TimestampNow())


class IdempotencyRecord(Keyed, tablename="idempotency_record"):
    """The stored answer to a device's request, so a replay changes nothing twice."""

    # "<user id>:<client key>": unique, so two racing replays cannot both apply.
    scoped_key = Varchar(length=120, unique=True, index=True)
    fingerprint = Varchar(length=64)
    status_code = Integer()
    body = Text()
    created_at = Timestamp(default=TimestampNow())


class Job(Keyed):
    """Work that follows a state change, written in the same transaction as the
    change (like the outbox) and run by a worker: see backend/jobs."""

    kind = Varchar(length=40)
    # Unique: writing the same job twice (a replay, a retry) keeps the first.
    key = Varchar(length=160, unique=True, index=True)
    payload = JSON(default={})
    status = Varchar(length=12, default="pending", index=True)  # pending | running | done | failed
    attempts = Integer(default=0)
    run_after = Timestamp(default=TimestampNow())
    lease_until = Timestamp(null=True, default=None)
    claimed_by = Varchar(length=80, null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamp(default=TimestampNow())
    finished_at = Timestamp(null=True, default=None)


class Photo(Keyed):
    """A proof-of-delivery photo, stored on disk under an internal name."""

    name = Varchar(length=64, unique=True)
    courier = ForeignKey(references=Courier, on_delete=OnDelete.cascade)
    content_type = Varchar(length=32)
    size = Integer()
    created_at = Timestamp(default=TimestampNow())


class PushSubscription(Keyed, tablename="push_subscription"):
    """A browser's Web Push subscription, for a user (courier) or an order (customer)."""

    endpoint = Text(unique=True)
    p256dh = Varchar(length=200)
    auth = Varchar(length=100)
    user_id = Integer(null=True, default=None, index=True)
    order_id = Integer(null=True, default=None, index=True)
    created_at = Timestamp(default=TimestampNow())


class RelayCursor(Keyed, tablename="relay_cursor"):
    """How far a relay (e.g. push) has read the outbox; advanced by one worker at a time."""

    name = Varchar(length=40, unique=True)
    last_id = BigInt(default=0)


class DispatchLock(Keyed, tablename="dispatch_lock"):
    """A dispatcher's hand: this stop stays with this shift in every later re-plan;
    with ``position``, in that order among the shift's other pinned stops."""

    stop = ForeignKey(references=Stop, on_delete=OnDelete.cascade, unique=True)
    shift = ForeignKey(references=Shift, on_delete=OnDelete.cascade)
    position = Integer(null=True, default=None)
    created_at = Timestamp(default=TimestampNow())


class StreetClosure(Keyed, tablename="street_closure"):
    """A street, a zone, or a street within a zone, closed to bikes for a time span.

    Applied to the hub's planning for every day it overlaps (see
    ``backend/services/closures.py``).
    """

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    street = Varchar(length=120, default="")  # as on the map; "" for a zone only
    zone = JSON(default=[])  # [[lat, lon], ...], a simple polygon; [] for a whole street
    start = Timestamp()
    end = Timestamp(index=True)
    reason = Varchar(length=200)
    created_by = Integer(null=True, default=None)  # user id
    created_at = Timestamp(default=TimestampNow())
    # Set once the re-plan that reopens its streets has been claimed (one worker does it).
    reopened_at = Timestamp(null=True, default=None)


class AccessZone(Keyed, tablename="access_zone"):
    """A restricted zone of a hub's map: a loading zone (venstertijden: stops inside
    are served only within its windows) or a pedestrian zone (bikes ridden inside
    only within its windows, walked at other times). See ``backend/dispatch/zones.py``."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=120)
    kind = Varchar(length=12)  # loading | pedestrian
    polygon = JSON(default=[])  # [[lat, lon], ...], a simple polygon (the ring without its repeated corner)
    # [{"days": ["mo", ...], "start": "07:00", "end": "11:00", "kinds": ["van"]}, ...]; kinds [] or
    # absent: every vehicle kind no window names
    windows = JSON(default=[])
    exempt = JSON(default=[])  # vehicle kinds the zone does not restrict, e.g. ["walker"]
    source = Varchar(length=40, default="")  # "": drawn by a dispatcher; "osm:w123": imported from the map
    created_by = Integer(null=True, default=None)  # user id
    created_at = Timestamp(default=TimestampNow())


class StopEvent(Keyed, tablename="stop_event"):
    """One change of a stop's state (planned, moved, arrived, delivered, failed,
    redirected, unplanned, ...), written in the same transaction as the change
    (``backend/services/stop_history.py``). ``by_user``: who did it; null for the
    system (the planner, a re-plan, a customer on the tracking page)."""

    stop = ForeignKey(references=Stop, on_delete=OnDelete.cascade, index=True)
    at = Timestamp()
    state = Varchar(length=20)
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    detail = Text(default="")


class CourierMessage(Keyed, tablename="courier_message"):
    """A dispatcher's message to a courier (plain text, shown as text, never as HTML)."""

    courier = ForeignKey(references=Courier, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, null=True, on_delete=OnDelete.set_null)
    text = Text()
    sent_at = Timestamp(index=True)
    sent_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


class LoginFailure(Keyed, tablename="login_failure"):
    """A wrong password, kept for the throttling window (per username and per
    address: a table, so every server process counts the same failures)."""

    subject = Varchar(length=200, index=True)  # "user:<name>" or "addr:<ip>"
    at = Timestamp(index=True)


class Alert(Keyed):
    """Something a hub's dispatchers should look at (``backend/dispatch/alerts.py``'s rules).

    One per (hub, plan_date, kind, key), a unique index of the migration: raising it
    again changes nothing. Acknowledged once; the first who and when are kept.
    """

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    plan_date = Date(index=True)
    kind = Varchar(length=32)
    key = Varchar(length=160)
    detail = Text(default="")
    data = JSON(default={})
    raised_at = Timestamp()
    acknowledged_at = Timestamp(null=True, default=None)
    acknowledged_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)


# --- the hub's warehouse (backend/warehouse is the pure core; backend/services/warehouse*.py) ---


class WarehouseBin(Keyed, tablename="warehouse_bin"):
    """A bin location of a hub's warehouse ("A03-12-2": zone A, aisle 3, bay 12, level 2);
    x, y in metres on the layout (aisles along y), for walking order."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    code = Varchar(length=16)  # unique per hub: an index of the migration
    zone = Varchar(length=4, default="A")
    aisle = Integer()
    bay = Integer()
    level = Integer(default=1)
    x = Float(default=0.0)
    y = Float(default=0.0)


class Product(Keyed):
    """A product the hub (or a partner shop) stocks; a reconditioned grade is its own SKU."""

    sku = Varchar(length=64, unique=True, index=True)
    name = Varchar(length=200)
    gtins = JSON(default=[])  # GTINs as printed (8, 12, 13 or 14 digits)
    weight_g = Integer(default=0)
    volume_ml = Integer(default=0)
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)  # the shop that sells it
    category = Varchar(length=32, default="general")  # clothing, electronics, furniture, ...: returns go by it
    grade = Varchar(length=4, null=True, default=None)
    base_sku = Varchar(length=64, null=True, default=None)
    longest_mm = Integer(default=0)  # the longest side (0: unknown); packing chooses a box it fits


class StockMovement(Keyed, tablename="stock_movement"):
    """The stock ledger: stock of a (place, SKU) is the sum of its movements, never negative.
    A place is a bin of the hub (``bin``), a partner shop (``shop``) or the dock."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    place_kind = Varchar(length=8, default="bin")  # bin | shop | dock
    bin = Varchar(length=16, default="")  # the bin's code ("" for a shop or the dock)
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)
    sku = Varchar(length=64, index=True)
    quantity = Integer()  # signed: + into the place, - out of it
    kind = Varchar(length=12)  # receipt | put_away | pick | correction | return
    reason = Varchar(length=200)
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    at = Timestamp()
    # Unique: the same movement (a replayed scan, a retried request) is recorded once.
    key = Varchar(length=160, unique=True, index=True)


class OrderLine(Keyed, tablename="order_line"):
    """What an order holds: ``quantity`` of ``sku``, picked at the hub or collected at a shop."""

    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    sku = Varchar(length=64)
    quantity = Integer()
    # open (not released) | released (in a batch) | shop (ship-from-store) | picked | short
    status = Varchar(length=12, default="open")
    source = Varchar(length=8, default="")  # "" until released; hub | shop
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)
    batch_id = Integer(null=True, default=None, index=True)
    picked = Integer(default=0)
    short = Integer(default=0)
    price_cents = Integer(default=0)  # what the customer paid per unit: a return's refund starts from it


class PickBatch(Keyed, tablename="pick_batch"):
    """A batch of a wave, picked by one picker; ``state`` is the core's PickState as JSON."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    plan_date = Date(index=True)
    cutoff = Varchar(length=5)  # "15:00": the wave
    number = Integer()
    mode = Varchar(length=20)  # sort_while_picking | pick_then_sort
    status = Varchar(length=8, default="open")  # open | taken | done
    picker = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    order_ids = JSON(default=[])
    sort_lines = JSON(default=[])
    state = JSON(default={})
    version = Integer(default=0)  # +1 per change of state
    created_at = Timestamp()
    taken_at = Timestamp(null=True, default=None)
    done_at = Timestamp(null=True, default=None)


class Tote(Keyed):
    """A tote of a hub; bound to an order while it holds that order's goods (until packing empties it)."""

    code = Varchar(length=16, unique=True, index=True)  # "T-0042"
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade)
    order_id = Integer(null=True, default=None)
    batch_id = Integer(null=True, default=None)
    bound_at = Timestamp(null=True, default=None)


class PickScan(Keyed, tablename="pick_scan"):
    """A pick event applied (or refused) once: the same scan id again answers this."""

    batch = ForeignKey(references=PickBatch, on_delete=OnDelete.cascade, index=True)
    scan_key = Varchar(length=120, unique=True, index=True)  # "<batch>:<scan id>"
    kind = Varchar(length=8)  # scan | tote | short | skip
    request = Varchar(length=200, default="")  # what was sent (the code, the task), for a replay's check
    status_code = Integer()
    body = Text()
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    at = Timestamp()


class PickingSettings(Keyed, tablename="picking_settings"):
    """How a hub picks unless a wave release says otherwise: the way of working and the cart."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, unique=True, index=True)
    mode = Varchar(length=20, default="sort_while_picking")  # sort_while_picking | pick_then_sort
    totes = Integer(default=8)
    tote_volume = Float(default=40.0)  # litres
    tote_weight = Float(default=15.0)  # kg
    lead_minutes = Integer(default=120)  # a wave is released this long before its slot's cut-off


# --- returns (backend/returns is the pure core; backend/services/returns_*.py) ---


class ShopReturnPolicy(Keyed, tablename="shop_return_policy"):
    """A shop's return policy: ``backend.returns.vocabulary.ReturnPolicy`` as JSON (absent: the default)."""

    shop = ForeignKey(references=Shop, on_delete=OnDelete.cascade, unique=True)
    policy = JSON(default={})


class ReturnRequest(Keyed, tablename="return_request"):
    """A customer's return of (part of) an order; ``code`` is the public key shown as a QR."""

    code = Varchar(length=16, unique=True, index=True)  # "R-7KQ2MXPA"
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    shop = ForeignKey(references=Shop, null=True, on_delete=OnDelete.set_null)  # whose policy applied
    outcome = Varchar(length=12)  # refund | exchange
    hand_in = Varchar(length=16)  # pickup_point | courier
    pickup_point = ForeignKey(references=PickupPoint, null=True, on_delete=OnDelete.set_null)
    collect_date = Date(null=True, default=None)  # courier: the day and slot chosen
    slot = Varchar(length=16, default="")
    stop = ForeignKey(references=Stop, null=True, on_delete=OnDelete.set_null)  # courier: the pickup stop
    status = Varchar(length=16, default="registered")  # registered | at_point | collected | received
    fee_cents = Integer(default=0)
    bonus_cents = Integer(default=0)
    created_at = Timestamp()
    received_at = Timestamp(null=True, default=None)


class ReturnItem(Keyed, tablename="return_item"):
    """An item of a return: expected (from the request) or unexpected (found at receiving)."""

    request = ForeignKey(references=ReturnRequest, on_delete=OnDelete.cascade, index=True)
    order_line = ForeignKey(references=OrderLine, null=True, on_delete=OnDelete.set_null)
    sku = Varchar(length=64)
    quantity = Integer()  # 1: one row per unit, each graded and refunded on its own (0: unexpected)
    received = Integer(default=0)
    fee_cents = Integer(default=0)  # this unit's share of the request's fee, decided with the request
    bonus_cents = Integer(default=0)  # this unit's share of the request's exchange bonus
    reason = Varchar(length=24, default="")
    text = Text(default="")
    status = Varchar(length=12, default="expected")  # expected | received | missing | unexpected


class ReturnEvent(Keyed, tablename="return_event"):
    """The history of a return: what happened, when, and who (null: the customer or the system)."""

    request = ForeignKey(references=ReturnRequest, on_delete=OnDelete.cascade, index=True)
    at = Timestamp()
    state = Varchar(length=24)
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    detail = Text(default="")


class PackJob(Keyed, tablename="pack_job"):
    """Packing one order at the pack station: the totes scanned, the items verified by scan
    (``scans``: scan id -> SKU), the box, the shop's options applied; closed into the parcel."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    order_id = Integer(unique=True, index=True)  # one packing per order
    status = Varchar(length=8, default="open")  # open | closed
    totes = JSON(default=[])
    scans = JSON(default={})
    box = Varchar(length=8, default="")
    options = JSON(default=[])  # the options applied (branded_box, card, gift_wrap)
    parcel_id = Integer(null=True, default=None)
    packer = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    started_at = Timestamp()
    closed_at = Timestamp(null=True, default=None)


class SortJob(Keyed, tablename="sort_job"):
    """Sorting a picked pick-then-sort batch to its orders at the sort station; ``state`` is
    the core's SortState (backend/warehouse/sorting.py) as JSON."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    batch_id = Integer(unique=True, index=True)  # one sorting per batch
    status = Varchar(length=8, default="open")  # open | done
    state = JSON(default={})
    sorter = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    started_at = Timestamp()
    done_at = Timestamp(null=True, default=None)


# --- the webshop's check-out (backend/dispatch/checkout.py is the pure core; backend/services/checkout.py) ---


class ShopApiKey(Keyed, tablename="shop_api_key"):
    """A webshop's key for the check-out API, sent in the X-Api-Key header; only its
    SHA-256 is kept (the key is 256 random bits, shown once when it is made)."""

    shop = ForeignKey(references=Shop, on_delete=OnDelete.cascade, index=True)
    key_hash = Varchar(length=64, unique=True, index=True)
    label = Varchar(length=80, default="")
    created_at = Timestamp(default=TimestampNow())
    revoked_at = Timestamp(null=True, default=None)


class CheckoutSlot(Keyed, tablename="checkout_slot"):
    """A delivery slot a hub sells at check-out (a hub without any sells the core's defaults)."""

    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=32)
    start = Varchar(length=5)  # "18:00"
    end = Varchar(length=5)
    price_cents = Integer()
    lead_min = Integer()  # the order must be in this many minutes before the slot starts


class CheckoutHold(Keyed, tablename="checkout_hold"):
    """A check-out option held for a few minutes: its room counts as used for everyone
    else until ``expires_at`` (no timer needed: an expired hold simply stops counting)
    or until it became ``order_id``."""

    shop = ForeignKey(references=Shop, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    option_key = Varchar(length=40)  # the slot's name, "point-<id>"
    delivery_date = Date(index=True)
    window_start = Timestamp()
    window_end = Timestamp()
    pickup_point = ForeignKey(references=PickupPoint, null=True, on_delete=OnDelete.set_null)
    lat = Float()
    lon = Float()
    address = Varchar(length=200, default="")
    parcels = JSON(default=[])  # [[weight_g, volume_ml, longest_cm], ...]
    route = JSON(default={})  # the carrier rules' other inputs, for the order: postcode, country, service
    price_cents = Integer()
    expires_at = Timestamp(index=True)
    order_id = Integer(null=True, default=None)
    created_at = Timestamp(default=TimestampNow())


# --- the pickup point's desk (backend/services/point_desk.py, point_room.py) ---


class PointOperator(Keyed, tablename="point_operator"):
    """A user of role ``point`` works at this one pickup point (object-level scope, as a
    dispatcher's hub)."""

    user = ForeignKey(references=User, on_delete=OnDelete.cascade, unique=True, index=True)
    point = ForeignKey(references=PickupPoint, on_delete=OnDelete.cascade)


class PointParcel(Keyed, tablename="point_parcel"):
    """A parcel scanned in at a pickup point, until it is handed out or goes back to the hub.
    One per parcel (unique): a scan-in again finds it and changes nothing."""

    parcel = ForeignKey(references=Parcel, on_delete=OnDelete.cascade, unique=True, index=True)
    point = ForeignKey(references=PickupPoint, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade)
    status = Varchar(length=12, default="in")  # in | handed_out | returned
    scanned_in_at = Timestamp()
    hold_until = Timestamp()
    scanned_in_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    wrong_tries = Integer(default=0)
    locked_until = Timestamp(null=True, default=None)
    handed_out_at = Timestamp(null=True, default=None)
    handed_out_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    id_checked = Boolean(default=False)
    id_note = Varchar(length=200, default="")
    returned_at = Timestamp(null=True, default=None)


class ReturnInspection(Keyed, tablename="return_inspection"):
    """A returned item inspected once: answers, photos, grade, disposition, then its task list
    worked through (``task``, ``events``, ``checked`` as the core's values) and its end."""

    item = ForeignKey(references=ReturnItem, unique=True, on_delete=OnDelete.cascade)  # once per item
    request = ForeignKey(references=ReturnRequest, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    sku = Varchar(length=64)
    category = Varchar(length=32, default="general")
    answers = JSON(default={})
    findings = JSON(default=[])
    photos = JSON(default=[])  # [{name, contentType, sizeBytes}]
    suggested = Varchar(length=8)
    grade = Varchar(length=8)
    disposition = Varchar(length=16)
    note = Text(default="")
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    at = Timestamp()
    task = JSON(default={})  # the core's TaskList ({} when the disposition needs none)
    worker = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)  # who took the list
    events = JSON(default=[])  # the core's step events
    checked = JSON(default={})  # the final check ({} until done)
    status = Varchar(length=12, default="tasks")  # tasks | checked | failed | finished
    ends_as = Varchar(length=16, default="")  # stock_new | stock_graded | supplier | recycled
    stocked_sku = Varchar(length=64, default="")
    finished_at = Timestamp(null=True, default=None)


class ReturnRefund(Keyed, tablename="return_refund"):
    """The refund of one returned item, recorded once (the unique item): asked again, the same record."""

    item = ForeignKey(references=ReturnItem, unique=True, on_delete=OnDelete.cascade)
    request = ForeignKey(references=ReturnRequest, on_delete=OnDelete.cascade, index=True)
    hub = ForeignKey(references=Hub, on_delete=OnDelete.cascade, index=True)
    outcome = Varchar(length=12)
    total_cents = Integer()
    lines = JSON(default=[])  # the core's itemised lines: {code, cents, note}
    by_user = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    at = Timestamp()


# The side modules' tables refer to the above, so they are imported after them.
from backend.db.side_tables import SIDE_TABLES  # noqa: E402

ALL_TABLES: tuple[type[Table], ...] = (
    User,
    Session,
    Hub,
    Shop,
    PickupPoint,
    Bike,
    Courier,
    Shift,
    TrailPoint,
    BatteryReport,
    Order,
    Stop,
    Parcel,
    PlanRun,
    Route,
    OutboxEvent,
    IdempotencyRecord,
    Job,
    Photo,
    PushSubscription,
    RelayCursor,
    DispatchLock,
    StreetClosure,
    AccessZone,
    LoginFailure,
    StopEvent,
    CourierMessage,
    Alert,
    WarehouseBin,
    Product,
    StockMovement,
    OrderLine,
    PickBatch,
    Tote,
    PickScan,
    PickingSettings,
    ShopReturnPolicy,
    ReturnRequest,
    ReturnItem,
    ReturnEvent,
    PackJob,
    SortJob,
    ShopApiKey,
    CheckoutSlot,
    CheckoutHold,
    PointOperator,
    PointParcel,
    ReturnInspection,
    ReturnRefund,
) + SIDE_TABLES
