"""A pickup point's room: shelf places left on a day, counted live from what is in it
and what is announced for it. The one place that counts it: order intake, the
failed-stop policy, redirects from the tracking page, the point's desk and the
webshop's check-out options all ask here, so a full point is full everywhere. A locker
bank with compartments has no more room than free compartments (backend/services/lockers.py):
a parcel planned to it keeps one from then on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from backend.db.tables import Parcel, PickupPoint, PointParcel
from backend.errors import NotFound
from backend.services.lockers import free_compartments


async def rooms_left(points: Collection[tuple[int, int]], day: dt.date) -> dict[int, int]:
    """Room left on ``day`` per point, for (point id, capacity) pairs: the capacity less
    the parcels on its shelves now (scanned in, not handed out or sent back) and the
    parcels announced for it on ``day`` that are not on its shelves yet. Never below 0."""
    ids = [p for p, _ in points] or [-1]
    used: dict[int, int] = dict.fromkeys(ids, 0)
    held = await PointParcel.select(PointParcel.point, PointParcel.parcel).where(
        PointParcel.point.is_in(ids) & (PointParcel.status == "in")
    )
    for row in held:
        used[row["point"]] += 1
    in_point = {row["parcel"] for row in held}
    scanned = {
        r["parcel"]
        for r in await PointParcel.select(PointParcel.parcel).where(
            PointParcel.point.is_in(ids) & (PointParcel.order.delivery_date == day)
        )
    }
    for row in await Parcel.select(Parcel.id, Parcel.order.pickup_point).where(
        Parcel.order.pickup_point.is_in(ids) & (Parcel.order.delivery_date == day)
    ):
        # Announced and not scanned in yet; one handed out or sent back already takes no room.
        if row["id"] not in in_point and row["id"] not in scanned:
            used[row["order.pickup_point"]] += 1
    free = await free_compartments(ids)
    return {p: max(min(capacity - used.get(p, 0), free.get(p, capacity)), 0) for p, capacity in points}


async def room_left(point_id: int, day: dt.date) -> int:
    """Shelf places of the point still free on ``day`` (NotFound: no such point)."""
    point = await PickupPoint.select(PickupPoint.capacity_parcels).where(PickupPoint.id == point_id).first()
    if point is None:
        raise NotFound(f"There is no pickup point with id {point_id}.")
    return (await rooms_left([(point_id, point["capacity_parcels"])], day))[point_id]
