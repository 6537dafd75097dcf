"""The check-out options core: a full slot, a parcel too big for a bike, a cut-off, a full point."""

from __future__ import annotations

import datetime as dt

import msgspec

from backend.dispatch.carrier import Decision
from backend.dispatch.checkout import (
    DayState,
    Lane,
    Option,
    ParcelSize,
    PointState,
    Question,
    SlotRule,
    Visit,
    _LaneTimes,
    options,
    ride_s,
)
from backend.dispatch.model import Window

DAY = dt.date(2026, 12, 9)
HUB = (60.1650, 24.9400)
HOME = (60.1700, 24.9450)  # about 600 m from the hub


def lane(payload_kg: float = 20.0, stops: tuple[Visit, ...] = (), start_h: int = 8, end_h: int = 22) -> Lane:
    return Lane(
        id="shift-1",
        hub_lat=HUB[0],
        hub_lon=HUB[1],
        start_s=start_h * 3600,
        end_s=end_h * 3600,
        payload_kg=payload_kg,
        volume_l=200.0,
        stops=stops,
    )


def question(
    lanes: tuple[Lane, ...] = (),
    pending: tuple[Visit, ...] = (),
    points: tuple[PointState, ...] = (),
    parcels: tuple[ParcelSize, ...] = (ParcelSize(2000, 10_000, 40),),
    now: dt.datetime = dt.datetime(2026, 12, 8, 15, 0),
    where: tuple[float, float] = HOME,
    route: Decision | None = None,
) -> Question:
    return Question(
        now=now,
        lat=where[0],
        lon=where[1],
        hub_lat=HUB[0],
        hub_lon=HUB[1],
        area_m=8000,
        parcels=parcels,
        days=(DayState(day=DAY, lanes=lanes or (lane(),), pending=pending, points=points),),
        route=route,
    )


def by_key(found: list[Option]) -> dict[str, Option]:
    return {o.key: o for o in found}


def test_an_empty_day_offers_every_slot_by_bike() -> None:
    found = by_key(options(question()))
    assert found["evening"].available and found["evening"].by_bike
    assert found["morning"].available and found["morning"].price_cents > 0
    assert "carrier" not in found


def test_a_full_slot_is_refused_with_slot_full() -> None:
    # The bike carries 20 kg in one loop; a planned stop of 19 kg leaves no room for 2 kg more.
    heavy = Visit(lat=HOME[0], lon=HOME[1], start_s=18 * 3600, end_s=22 * 3600, weight_kg=19.0)
    found = by_key(options(question(lanes=(lane(stops=(heavy,)),))))
    assert not found["evening"].available and found["evening"].reason == "slot_full"
    assert "full" in found["evening"].detail


def test_a_slot_is_full_by_time_too() -> None:
    # The only shift ends at 19:00: the 20-22 window cannot be served, 18-20 can.
    found = by_key(options(question(lanes=(lane(end_h=19),))))
    assert found["20-22"].reason == "slot_full"
    assert found["18-20"].available


def test_a_pending_hold_takes_the_room() -> None:
    held = Visit(lat=HOME[0], lon=HOME[1], start_s=18 * 3600, end_s=22 * 3600, weight_kg=19.0)
    assert by_key(options(question()))["morning"].available
    found = by_key(options(question(pending=(held,))))
    assert found["morning"].reason == "slot_full" and found["evening"].reason == "slot_full"


def test_a_parcel_too_big_for_a_bike_goes_by_carrier() -> None:
    by_rules = Decision(mode="carrier:postnl", reason="length", detail="Longer than 120 cm.")
    found = by_key(options(question(parcels=(ParcelSize(2000, 10_000, 180),), route=by_rules)))
    assert found["evening"].reason == "too_large_for_bike" and not found["evening"].by_bike
    assert found["carrier"].available and not found["carrier"].by_bike and found["carrier"].carrier == "postnl"


def test_outside_the_area_without_carrier_rules_no_carrier_is_offered() -> None:
    """A hub without carrier rules gives nothing to a carrier at intake: the option says so."""
    found = by_key(options(question(where=(60.40, 25.40))))
    assert found["evening"].reason == "outside_area"
    assert not found["carrier"].available and found["carrier"].reason == "no_carrier"
    assert "outside the bikes' area" in found["carrier"].detail
    too_big = by_key(options(question(parcels=(ParcelSize(2000, 10_000, 180),))))["carrier"]
    assert (too_big.available, too_big.reason) == (False, "no_carrier")


def test_past_the_cutoff() -> None:
    # Ordered at 13:00 on the day itself: the evening closed at 12:00, 18-20 too; nothing earlier is left.
    found = by_key(options(question(now=dt.datetime(2026, 12, 9, 13, 0))))
    assert found["evening"].reason == "past_cutoff" and "12:00" in found["evening"].detail
    assert found["morning"].reason == "past_cutoff"
    # At 11:00 the evening is still open.
    assert by_key(options(question(now=dt.datetime(2026, 12, 9, 11, 0))))["evening"].available


def point(room: int, hours: tuple[Window, ...] | None = None) -> PointState:
    return PointState(
        id=7,
        name="Kiosk",
        kind="parcel_shop",
        lat=HOME[0],
        lon=HOME[1],
        windows=hours,
        room_left=room,
        max_weight_kg=10,
        max_volume_l=50,
    )


def test_a_full_point_is_refused() -> None:
    assert by_key(options(question(points=(point(1),))))["point-7"].available
    found = by_key(options(question(points=(point(0),))))
    assert found["point-7"].reason == "point_full" and "room for 0" in found["point-7"].detail


def test_a_closed_point_and_a_parcel_too_big_for_it() -> None:
    assert by_key(options(question(points=(point(5, ()),))))["point-7"].reason == "point_closed"
    big = (ParcelSize(12_000, 10_000, 40),)
    assert by_key(options(question(points=(point(5),), parcels=big)))["point-7"].reason == "too_large_for_point"


def test_a_parcel_longer_than_the_points_side_limit() -> None:
    """The point's own longest side (``max_side_cm``): 40 cm parcels pass a 40 cm point, 41 cm do not;
    a point without one takes any length (its weight and volume still count)."""
    short = msgspec.structs.replace(point(5), max_side_cm=40)
    assert by_key(options(question(points=(short,))))["point-7"].available  # the parcel is 40 cm
    longer = (ParcelSize(2000, 10_000, 41),)
    found = by_key(options(question(points=(short,), parcels=longer)))["point-7"]
    assert found.reason == "too_large_for_point" and "10 kg, 50 L and 40 cm long" in found.detail
    assert by_key(options(question(points=(point(5),), parcels=(ParcelSize(2000, 10_000, 100),))))["point-7"].available


def test_slack_keeps_later_windows() -> None:
    # A stop at 10:00 sharp (window 10:00-10:05): a new stop before it must not push it past 10:05.
    tight = Visit(lat=HOME[0], lon=HOME[1], start_s=10 * 3600, end_s=10 * 3600 + 300)
    lt = _LaneTimes(lane(stops=(tight,), start_h=9))
    far = Visit(lat=60.21, lon=25.00, start_s=9 * 3600, end_s=12 * 3600)
    assert ride_s(*HUB, 60.21, 25.00) > 1800
    place = lt.best_place(far)
    assert place is not None and place[1] == 1  # after the 10:00 stop, never before it
    squeezed = msgspec.structs.replace(far, end_s=9 * 3600 + 60)
    assert lt.best_place(squeezed) is None


def test_deterministic() -> None:
    q = question(points=(point(3),))
    assert options(q) == options(q)


def test_a_cutoff_the_day_before_is_named_with_its_date() -> None:
    early = (SlotRule(name="early", start_s=7 * 3600, end_s=9 * 3600, price_cents=900, lead_s=12 * 3600),)
    q = msgspec.structs.replace(question(now=dt.datetime(2026, 12, 8, 20, 0)), slots=early)
    (found,) = [o for o in options(q) if o.key == "early"]
    assert found.reason == "past_cutoff" and "2026-12-08 19:00" in found.detail
    q = msgspec.structs.replace(q, now=dt.datetime(2026, 12, 8, 18, 0))
    assert [o for o in options(q) if o.key == "early"][0].available


def test_a_day_without_shifts_is_full_not_too_large() -> None:
    q = msgspec.structs.replace(question(), days=(DayState(day=DAY, lanes=()),), bike_limits=(20.0, 200.0, 120))
    found = by_key(options(q))
    assert found["evening"].reason == "slot_full" and found["evening"].by_bike
    assert "carrier" not in found
