"""The plain resources: hubs, shops, pickup points, bikes, couriers, shifts (the kinds,
their bodies and checks; backend/api/resources.py serves them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec

from backend.db.tables import Bike, Courier, Hub, PickupPoint, Shift, Shop, User
from backend.dispatch.calendar import OpeningPeriod
from backend.dispatch.zones import VehicleKind
from backend.errors import Conflict, Invalid
from backend.services.context import Context
from backend.services.crud import Resource
from backend.structs import Body, DbId, LocalDateTime, Name, Phone, Text200

Positive = Annotated[float, msgspec.Meta(gt=0)]


class PlaceIn(Body):
    """A place is given by lat and lon, or by an address on the map (geocoded)."""

    name: Name
    address: Text200 = ""
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)] | None = None
    opening_hours: Annotated[list[OpeningPeriod], msgspec.Meta(max_length=50)] = []


class HubIn(PlaceIn):
    # Minutes a bike takes to reload here between two loops of a shift; null: one loop a
    # shift. 0-240 is checked by prepare_hub, with a sentence naming the field (422).
    reload_min: float | None = 10.0


class ShopIn(PlaceIn):
    hub_id: DbId | None = None


class PickupPointIn(PlaceIn, kw_only=True):
    kind: Literal["parcel_shop", "locker"]
    capacity_parcels: Annotated[int, msgspec.Meta(gt=0)]
    max_weight_kg: Positive
    max_volume_l: Positive
    # The longest side a parcel may have (its shelves, a locker's depth); left out: any length.
    max_side_cm: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    hub_id: DbId | None = None
    # Days a parcel waits at the point for its customer before it goes back to the hub.
    holding_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 7


class BikeIn(Body):
    name: Name
    payload_kg: Annotated[float, msgspec.Meta(gt=0, le=1000)]
    volume_l: Annotated[float, msgspec.Meta(gt=0, le=10000)]
    battery_range_km: Annotated[float, msgspec.Meta(gt=0, le=500)]
    speed_factor: Annotated[float, msgspec.Meta(ge=0.3, le=2.0)] = 1.0
    hub_id: DbId | None = None
    # What it is, for restricted zones whose windows differ per kind (backend/dispatch/zones.py).
    kind: VehicleKind = "cargo_bike"


class CourierIn(Body):
    name: Name
    phone: Phone = ""
    user_id: DbId | None = None
    bike_id: DbId | None = None
    hub_id: DbId | None = None
    active: bool = True


class ShiftIn(Body):
    courier_id: DbId
    hub_id: DbId
    start: LocalDateTime
    end: LocalDateTime
    bike_id: DbId | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.end <= self.start:
            raise Invalid(f"the shift ends ({self.end}) before it starts ({self.start})")
        if self.end - self.start > dt.timedelta(hours=16):
            raise Invalid("a shift may last at most 16 hours")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise Invalid("give shift times as local times without a time zone, e.g. 2026-11-23T08:00")


async def prepare_place(values: dict[str, Any], ctx: Context, existing: dict | None) -> dict[str, Any]:
    moved = existing is None or any(values.get(k) != existing.get(k) for k in ("lat", "lon", "address"))
    if moved:
        lat, lon, address = ctx.geo.locate(
            values["lat"], values["lon"], values["address"] or None, what=values.get("name") or "place"
        )
        values.update(lat=lat, lon=lon, address=address)
    return values


MAX_RELOAD_MIN = 240.0


async def prepare_hub(values: dict[str, Any], ctx: Context, existing: dict | None) -> dict[str, Any]:
    reload_min = values.get("reload_min")
    if reload_min is not None and not 0 <= reload_min <= MAX_RELOAD_MIN:
        raise Invalid(
            f"reloadMin must be from 0 to {MAX_RELOAD_MIN:g} minutes (the time a bike takes to reload at the "
            f"hub between two loops), or null for one loop a shift; got {reload_min:g}.",
            field="reloadMin",
        )
    return await prepare_place(values, ctx, existing)


async def prepare_courier(values: dict[str, Any], ctx: Context, existing: dict | None) -> dict[str, Any]:
    user_id = values.get("user_id")
    if user_id is not None:
        user = await User.select(User.role).where(User.id == user_id).first()
        if user and user["role"] != "courier":
            raise Invalid(f"userId {user_id} is a {user['role']}, not a courier.")
        taken = Courier.exists().where(Courier.user == user_id)
        if existing is not None:
            taken = taken.where(Courier.id != existing["id"])
        if await taken:
            raise Conflict(f"userId {user_id} is already linked to another courier.")
    return values


async def prepare_shift(values: dict[str, Any], ctx: Context, existing: dict | None) -> dict[str, Any]:
    overlapping = Shift.exists().where(
        (Shift.courier == values["courier_id"]) & (Shift.start < values["end"]) & (Shift.end > values["start"])
    )
    if existing is not None:
        overlapping = overlapping.where(Shift.id != existing["id"])
    if await overlapping:
        raise Conflict("This courier already has a shift overlapping that time.")
    return values


RESOURCES = (
    Resource("hub", "/hubs", Hub, HubIn, prepare_hub, write_roles=("admin",)),
    Resource("shop", "/shops", Shop, ShopIn, prepare_place),
    Resource("pickup point", "/pickup-points", PickupPoint, PickupPointIn, prepare_place),
    Resource("bike", "/bikes", Bike, BikeIn),
    Resource("courier", "/couriers", Courier, CourierIn, prepare_courier),
    Resource("shift", "/shifts", Shift, ShiftIn, prepare_shift),
)
