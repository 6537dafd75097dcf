"""A pickup point's room: shelf places left on a day, counted live from what is in it
and what is announced for it. The one place that counts it: order intake, the
failed-stop policy, redirects from the tracking page, the point's desk and the
webshop's check-out options, the dispatcher's desk and the ``pickup_point_full`` alert all
ask here, so a full point is full everywhere. A locker bank with compartments has no more
room than free compartments (backend/services/lockers.py): a parcel planned to it keeps one
from then on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import NamedTuple

from backend.db.tables import Parcel, PickupPoint, PointParcel
from backend.errors import NotFound
from backend.services import locker_days


class Room(NamedTuple):
    """A point's shelves on a day."""

    capacity: int
    on_shelves: int  # parcels scanned in and not handed out or sent back (of any day's orders)
    # Parcels not scanned in there yet of the orders to the point for that day, or for an
    # earlier day whose holding time still covers it (they will be on the shelf then).
    announced: int
    free_compartments: int | None = None  # a locker bank's doors free that day; None: shelves only

    @property
    def left(self) -> int:
        """Places still free that day; never below 0."""
        shelves = self.capacity - self.on_shelves - self.announced
        if self.free_compartments is not None:
            shelves = min(shelves, self.free_compartments)
        return max(shelves, 0)


NOT_COMING = ("returning",)  # an order's status when its parcels go back to the hub, not to the point


def covers(delivery: dt.date, holding_days: int, day: dt.date) -> bool:
    """A parcel delivered to a point on ``delivery`` may still wait on its shelf on ``day``:
    it is kept ``holding_days`` days after the day it came (PointParcel.hold_until)."""
    return delivery <= day <= delivery + dt.timedelta(days=holding_days)


async def rooms(points: Collection[tuple[int, int]], day: dt.date) -> dict[int, Room]:
    """Each point's shelves on ``day``, for (point id, capacity) pairs: the parcels on them
    now and the parcels announced for it that are not on its shelves yet and would still be
    there on ``day`` (announced for ``day`` or for an earlier day within the point's holding
    time; one scanned in already, handed out or sent back is counted as it stands)."""
    ids = [p for p, _ in points] or [-1]
    held_by: dict[int, int] = dict.fromkeys(ids, 0)
    announced: dict[int, int] = dict.fromkeys(ids, 0)
    hold = {
        r["id"]: r["holding_days"]
        for r in await PickupPoint.select(PickupPoint.id, PickupPoint.holding_days).where(PickupPoint.id.is_in(ids))
    }
    since = day - dt.timedelta(days=max(hold.values(), default=0))
    held = await PointParcel.select(PointParcel.point, PointParcel.parcel).where(
        PointParcel.point.is_in(ids) & (PointParcel.status == "in")
    )
    for row in held:
        held_by[row["point"]] += 1
    scanned = {
        r["parcel"]
        for r in await PointParcel.select(PointParcel.parcel).where(
            PointParcel.point.is_in(ids)
            & (PointParcel.order.delivery_date >= since)
            & (PointParcel.order.delivery_date <= day)
        )
    }
    free = await locker_days.free_counts(ids, day)
    for row in await Parcel.select(Parcel.id, Parcel.order.pickup_point, Parcel.order.delivery_date).where(
        Parcel.order.pickup_point.is_in(ids)
        & (Parcel.order.delivery_date >= since)
        & (Parcel.order.delivery_date <= day)
        & Parcel.order.status.not_in(list(NOT_COMING))
    ):
        point, came = row["order.pickup_point"], row["order.delivery_date"]
        # A locker bank's doors count an earlier day's parcel already (its door stays kept
        # until the parcel leaves: locker_days.free_on); its shelves count that day's only.
        still_there = covers(came, hold.get(point, 0), day) if free.get(point) is None else came == day
        if row["id"] not in scanned and still_there:
            announced[point] += 1
    return {p: Room(capacity, held_by.get(p, 0), announced.get(p, 0), free.get(p)) for p, capacity in points}


async def rooms_left(points: Collection[tuple[int, int]], day: dt.date) -> dict[int, int]:
    """Room left on ``day`` per point, for (point id, capacity) pairs (``Room.left``)."""
    return {p: room.left for p, room in (await rooms(points, day)).items()}


async def room_left(point_id: int, day: dt.date) -> int:
    """Shelf places of the point still free on ``day`` (NotFound: no such point)."""
    point = await PickupPoint.select(PickupPoint.capacity_parcels).where(PickupPoint.id == point_id).first()
    if point is None:
        raise NotFound(f"There is no pickup point with id {point_id}.")
    return (await rooms_left([(point_id, point["capacity_parcels"])], day))[point_id]
