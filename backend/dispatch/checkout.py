"""Check-out options: which days, slots and pickup points a webshop may offer for one order.

Pure: plain values in (the hub's slot rules, each day's bike lanes with the stops
already planned on them, the stops and holds not on a route yet, the pickup
points with their hours and room, the parcels, the address and the order time),
one verdict per option out: available or not, and why (``Reason``), with the
price and whether a bike takes it. No clock: the order time is an input.

"Slot full" is a cheap insertion check, not a re-plan: each lane (a courier's
shift on one bike) is simulated once from its shift start with a conservative
ride estimate (the straight line, :data:`DETOUR` times longer, at
:data:`RIDE_KMH`), giving per stop how much later it may be reached and still
keep every later window and the shift end (the forward time slack); the new
stop fits a place between two visits when its own window, that slack and the
loop's load allow it, in O(1) per place. Stops and holds not on a route yet are
inserted first (cheapest place each, in the order given), so a held slot counts
as used for everyone else; one that cannot be inserted makes every slot its
window meets full (the day is already over its room there).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from typing import Literal

import msgspec

from backend.dispatch.calendar import format_hhmm
from backend.dispatch.carrier import Decision
from backend.dispatch.model import Window
from backend.dispatch.point_limits import limits_text, takes

# The ride estimate: longer than the streets usually are, so that a slot offered here
# is one the planner (on the real street network) can still fit.
DETOUR = 1.5
RIDE_KMH = 13.0
RIDE_FIXED_S = 30  # locking the bike, finding the door
BIKE_LONGEST_CM = 120  # the longest parcel a cargo bike's box takes
RIDES_KEPT = 256  # places whose rides a lane keeps

Reason = Literal[
    "",
    "past_cutoff",
    "slot_full",
    "point_full",
    "point_closed",
    "too_large_for_point",
    "no_compartment_fits",
    "too_large_for_bike",
    "outside_area",
    "service_by_carrier",
    "no_carrier",
]
# The carrier rules' reasons (backend/dispatch/carrier.py) as the check-out names them.
CARRIER_REASONS: dict[str, Reason] = {
    "weight": "too_large_for_bike",
    "volume": "too_large_for_bike",
    "length": "too_large_for_bike",
    "postcode": "outside_area",
    "abroad": "outside_area",
    "service": "service_by_carrier",
}
OptionKind = Literal["door", "point", "carrier"]


class SlotRule(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery slot a hub sells: its window, price, and how long before it starts
    the order must be in (the cut-off of that slot on its own day)."""

    name: str
    start_s: int
    end_s: int
    price_cents: int
    lead_s: int


def _rule(name: str, start_h: int, end_h: int, price: int, lead_h: float) -> SlotRule:
    return SlotRule(name=name, start_s=start_h * 3600, end_s=end_h * 3600, price_cents=price, lead_s=int(lead_h * 3600))


# A hub without slot rules of its own sells these (evening: order before noon).
DEFAULT_SLOTS: tuple[SlotRule, ...] = (
    _rule("morning", 8, 12, 495, 3),
    _rule("afternoon", 12, 17, 495, 3),
    _rule("evening", 18, 22, 595, 6),
    _rule("10-12", 10, 12, 695, 3),
    _rule("14-16", 14, 16, 695, 3),
    _rule("18-20", 18, 20, 795, 6),
    _rule("20-22", 20, 22, 795, 6),
)
# Delivery to a pickup point: within its hours of the day, at the price of a point.
POINT_RULE = _rule("point", 8, 18, 295, 3)
CARRIER_PRICE_CENTS = 895


class ParcelSize(msgspec.Struct, frozen=True):
    weight_g: int
    volume_ml: int
    longest_cm: int


class Visit(msgspec.Struct, frozen=True, kw_only=True):
    """A stop on (or for) a lane: where, its window, its service time and load, its loop."""

    lat: float
    lon: float
    start_s: int
    end_s: int
    service_s: int = 120
    weight_kg: float = 0.0
    volume_l: float = 0.0
    loop: int = 1


class Lane(msgspec.Struct, frozen=True, kw_only=True):
    """A courier's shift on one bike for a day, with the stops planned on it in riding order."""

    id: str
    hub_lat: float
    hub_lon: float
    start_s: int  # from when it rides (the shift start, or now on a running day)
    end_s: int  # back at the hub by then
    payload_kg: float
    volume_l: float
    speed_factor: float = 1.0
    reload_s: int = 0  # a visit of the hub between two loops
    longest_cm: int = BIKE_LONGEST_CM
    stops: tuple[Visit, ...] = ()


class PointState(msgspec.Struct, frozen=True, kw_only=True):
    """A pickup point or locker as it stands on one day."""

    id: int
    name: str
    kind: str
    lat: float
    lon: float
    windows: tuple[Window, ...] | None  # its hours that day; None: always open; (): closed
    room_left: int  # parcels it can still take that day
    max_weight_kg: float
    max_volume_l: float
    max_side_cm: float | None = None  # the longest parcel it takes; None: any length
    # A locker bank with no door for the parcels asked about that day: "too_large" (no door
    # fits them) or "full" (the doors that fit are taken), with the sentence; "": it has.
    no_door: str = ""
    no_door_detail: str = ""


class DayState(msgspec.Struct, frozen=True, kw_only=True):
    day: dt.date
    lanes: tuple[Lane, ...]
    pending: tuple[Visit, ...] = ()  # stops not on a route and live holds, inserted first
    points: tuple[PointState, ...] = ()


class Question(msgspec.Struct, frozen=True, kw_only=True):
    now: dt.datetime  # when the order is placed
    lat: float
    lon: float
    hub_lat: float
    hub_lon: float
    area_m: float  # the hub's bikes deliver within this distance of the hub
    parcels: tuple[ParcelSize, ...]
    days: tuple[DayState, ...]
    slots: tuple[SlotRule, ...] = DEFAULT_SLOTS
    point_rule: SlotRule = POINT_RULE
    service_s: int = 120
    # The hub's largest bike (payload kg, volume l, longest cm): a parcel beyond it goes by
    # carrier; None: the largest of the days' lanes.
    bike_limits: tuple[float, float, int] | None = None
    # The hub's carrier rules' decision for these parcels and this address, the one order
    # intake makes (backend/dispatch/carrier.py): when set, it alone says bike or carrier
    # (area and bike limits above are not used); None: the hub has no rules.
    route: Decision | None = None


class Option(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # the slot's name, "point-<id>" or "carrier": unique within a day
    kind: OptionKind
    date: dt.date
    start_s: int
    end_s: int
    price_cents: int
    by_bike: bool
    available: bool
    reason: Reason = ""
    detail: str = ""
    point_id: int | None = None
    lane: str | None = None  # a lane it fits (for the record; the planner decides)
    carrier: str | None = None  # the carrier option's carrier, when the hub's rules name it
    duties: str | None = None  # DDP or DAP for a parcel abroad


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 12_742_000.0 * math.asin(min(1.0, math.sqrt(a)))


def ride_s(lat1: float, lon1: float, lat2: float, lon2: float, speed_factor: float = 1.0) -> int:
    """The estimated ride between two places (0 for the same place)."""
    d = distance_m(lat1, lon1, lat2, lon2)
    if d < 1.0:
        return 0
    return RIDE_FIXED_S + int(DETOUR * d / (RIDE_KMH / 3.6 * speed_factor))


class _LaneTimes:
    """A lane simulated once: its nodes (start hub, stops with hub visits between loops,
    end hub), their arrival and departure, how much later each may be reached (slack),
    and the load per loop."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        places: list[tuple[float, float]] = [(lane.hub_lat, lane.hub_lon)]
        loops: list[int] = [lane.stops[0].loop if lane.stops else 1]
        visits: list[Visit | None] = [None]
        for i, s in enumerate(lane.stops):
            if i and s.loop != lane.stops[i - 1].loop:  # back to the hub to reload
                places.append((lane.hub_lat, lane.hub_lon))
                loops.append(s.loop)
                visits.append(None)
            places.append((s.lat, s.lon))
            loops.append(s.loop)
            visits.append(s)
        places.append((lane.hub_lat, lane.hub_lon))
        loops.append(loops[-1])
        visits.append(None)
        self.places, self.loops, self.visits = places, loops, visits
        n = len(places)
        arr = [lane.start_s] * n
        dep = [lane.start_s] * n
        f = lane.speed_factor
        for k in range(1, n):
            arr[k] = dep[k - 1] + ride_s(*places[k - 1], *places[k], f)
            v = visits[k]
            if v is None:
                dep[k] = arr[k] + (lane.reload_s if k < n - 1 else 0)
            else:
                dep[k] = max(arr[k], v.start_s) + v.service_s
        # slack[k]: how much later node k may be reached, every later window and the end kept
        slack = [0] * n
        slack[-1] = lane.end_s - arr[-1]
        for k in range(n - 2, 0, -1):
            v = visits[k]
            if v is None:
                slack[k] = slack[k + 1]
            else:
                start = max(arr[k], v.start_s)
                slack[k] = (start - arr[k]) + min(v.end_s - start, slack[k + 1])
        self.arr, self.dep, self.slack = arr, dep, slack
        self.load_kg: dict[int, float] = {}
        self.load_l: dict[int, float] = {}
        for s in lane.stops:
            self.load_kg[s.loop] = self.load_kg.get(s.loop, 0.0) + s.weight_kg
            self.load_l[s.loop] = self.load_l.get(s.loop, 0.0) + s.volume_l
        self._rides: dict[tuple[float, float], list[int]] = {}

    def rides(self, lat: float, lon: float) -> list[int]:
        """The ride between each node and a place (the estimate is symmetric), kept per place:
        the slots of one address ask for the same place."""
        found = self._rides.get((lat, lon))
        if found is None:
            if len(self._rides) >= RIDES_KEPT:  # a lane kept between calls meets many addresses
                self._rides.clear()
            f = self.lane.speed_factor
            found = self._rides[(lat, lon)] = [ride_s(a, b, lat, lon, f) for a, b in self.places]
        return found

    def best_place(self, v: Visit, first: bool = False) -> tuple[int, int] | None:
        """(added time, gap index) of the cheapest place ``v`` fits; with ``first``, the first one."""
        lane = self.lane
        if v.weight_kg > lane.payload_kg or v.volume_l > lane.volume_l:
            return None
        rides = self.rides(v.lat, v.lon)
        best: tuple[int, int] | None = None
        for g in range(len(self.places) - 1):
            loop = self.loops[g] if self.visits[g] is not None or g == 0 else self.loops[g + 1]
            if self.load_kg.get(loop, 0.0) + v.weight_kg > lane.payload_kg + 1e-9:
                continue
            if self.load_l.get(loop, 0.0) + v.volume_l > lane.volume_l + 1e-9:
                continue
            arrive = self.dep[g] + rides[g]
            start = max(arrive, v.start_s)
            if start > v.end_s:
                continue
            back = start + v.service_s + rides[g + 1]
            delay = back - self.arr[g + 1]
            if delay > self.slack[g + 1]:
                continue
            if best is None or delay < best[0]:
                best = (delay, g)
                if first:
                    break
        return best

    def with_visit(self, v: Visit, gap: int) -> Lane:
        """The lane with ``v`` inserted at ``gap`` (on the loop of that place)."""
        before = sum(1 for x in self.visits[: gap + 1] if x is not None)
        loop = self.loops[gap] if self.visits[gap] is not None or gap == 0 else self.loops[gap + 1]
        stops = list(self.lane.stops)
        stops.insert(before, msgspec.structs.replace(v, loop=loop))
        return msgspec.structs.replace(self.lane, stops=tuple(stops))


class DayRoom:
    """A day's lanes with its pending stops inserted: what room is left for one more stop."""

    def __init__(self, state: DayState) -> None:
        self.lanes = [_LaneTimes(lane) for lane in state.lanes]
        self.overflow: list[Visit] = []
        for v in state.pending:
            found = [(p, i) for i, lt in enumerate(self.lanes) if (p := lt.best_place(v)) is not None]
            if not found:
                self.overflow.append(v)
                continue
            (_, gap), i = min(found)
            self.lanes[i] = _LaneTimes(self.lanes[i].with_visit(v, gap))

    def fits(self, v: Visit) -> str | None:
        """The id of a lane ``v`` fits, or None (also when a stop not fitted meets its window)."""
        if any(o.start_s < v.end_s and v.start_s < o.end_s for o in self.overflow):
            return None
        for lt in self.lanes:
            if lt.best_place(v, first=True) is not None:
                return lt.lane.id
        return None


_hhmm = format_hhmm


@functools.lru_cache(maxsize=1024)  # the same few sentences in every answer of a day
def _cutoff(day: dt.date, rule: SlotRule) -> str:
    """When orders for ``rule`` on ``day`` close: "12:00", or "2026-12-08 18:00" for a day before."""
    t = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=rule.start_s - rule.lead_s)
    return t.strftime("%H:%M") if t.date() == day else t.strftime("%Y-%m-%d %H:%M")


def _seconds_of(t: dt.datetime, day: dt.date) -> int:
    return int((t - dt.datetime.combine(day, dt.time())).total_seconds())


def options(q: Question, rooms: Mapping[dt.date, DayRoom] | None = None) -> list[Option]:
    """Every option of every day in ``q``, available or not (with why), in a stable order.

    ``rooms``: the days' :class:`DayRoom` made before from the same lanes and pending
    stops (kept between calls by the service); a day not in it is made from ``q``."""
    weight_kg = sum(p.weight_g for p in q.parcels) / 1000
    volume_l = sum(p.volume_ml for p in q.parcels) / 1000
    longest = max((p.longest_cm for p in q.parcels), default=0)
    no_bike = _no_bike(q, weight_kg, volume_l, longest)
    out: list[Option] = []
    for state in q.days:
        room = None
        if no_bike is None:
            room = rooms[state.day] if rooms is not None and state.day in rooms else DayRoom(state)
        now_s = _seconds_of(q.now, state.day)
        for rule in q.slots:
            v = Visit(
                lat=q.lat,
                lon=q.lon,
                start_s=rule.start_s,
                end_s=rule.end_s,
                service_s=q.service_s,
                weight_kg=weight_kg,
                volume_l=volume_l,
            )
            out.append(_door(rule, state.day, now_s, v, room, no_bike))
        for point in state.points:
            out.append(_point(q, point, state.day, now_s, room, weight_kg, volume_l, no_bike))
    if no_bike is not None:
        out.append(_carrier(q, no_bike))
    return out


NoBike = tuple[Reason, str]  # why no bike of the hub takes this order: the reason and a sentence


def _no_bike(q: Question, weight_kg: float, volume_l: float, longest: int) -> NoBike | None:
    """None when the hub's bikes take the order; else why not. The hub's carrier rules decide
    when it has them (the decision intake makes), else the area and the largest bike."""
    if q.route is not None:
        if q.route.carrier is None:
            return None
        return CARRIER_REASONS.get(q.route.reason, "too_large_for_bike"), q.route.detail
    if distance_m(q.hub_lat, q.hub_lon, q.lat, q.lon) > q.area_m:
        return "outside_area", "The address is outside the area our bikes deliver to; take the carrier."
    if q.bike_limits is not None:
        limits = [q.bike_limits]
    else:
        limits = [(lane.payload_kg, lane.volume_l, lane.longest_cm) for d in q.days for lane in d.lanes]
    if not any(weight_kg <= kg and volume_l <= litres and longest <= cm for kg, litres, cm in limits):
        return "too_large_for_bike", "The parcels are too large or heavy for any of our bikes."
    return None


def _door(rule: SlotRule, day: dt.date, now_s: int, v: Visit, room: DayRoom | None, no_bike: NoBike | None) -> Option:
    base = Option(
        key=rule.name,
        kind="door",
        date=day,
        start_s=rule.start_s,
        end_s=rule.end_s,
        price_cents=rule.price_cents,
        by_bike=no_bike is None,
        available=False,
    )
    if no_bike is not None:
        return _no(base, *no_bike)
    if now_s > rule.start_s - rule.lead_s:
        span = f"{day} {_hhmm(rule.start_s)}-{_hhmm(rule.end_s)}"
        return _no(base, "past_cutoff", f"Orders for {span} close at {_cutoff(day, rule)}; this one comes too late.")
    lane = room.fits(v) if room is not None else None
    if lane is None:
        span = f"{day} {_hhmm(rule.start_s)}-{_hhmm(rule.end_s)}"
        return _no(base, "slot_full", f"The bikes of {span} are full; choose another slot or day.")
    return msgspec.structs.replace(base, available=True, lane=lane)


def _point(
    q: Question,
    p: PointState,
    day: dt.date,
    now_s: int,
    room: DayRoom | None,
    weight_kg: float,
    volume_l: float,
    no_bike: NoBike | None,
) -> Option:
    rule = q.point_rule
    hours = (Window(rule.start_s, rule.end_s),) if p.windows is None else p.windows
    open_ = [Window(max(w.start, rule.start_s), min(w.end, rule.end_s)) for w in hours]
    open_ = [w for w in open_ if w.end - w.start >= q.service_s]
    start, end = (open_[0].start, open_[-1].end) if open_ else (rule.start_s, rule.end_s)
    base = Option(
        key=f"point-{p.id}",
        kind="point",
        date=day,
        start_s=start,
        end_s=end,
        price_cents=rule.price_cents,
        by_bike=no_bike is None,
        available=False,
        point_id=p.id,
    )
    limits = (p.max_weight_kg, p.max_volume_l, p.max_side_cm)
    if not all(takes(*limits, x.weight_g / 1000, x.volume_ml / 1000, x.longest_cm) for x in q.parcels):
        return _no(
            base,
            "too_large_for_point",
            f"A parcel is larger than {p.name} takes (at most {limits_text(*limits)} a parcel).",
        )
    if p.no_door == "too_large":
        return _no(base, "no_compartment_fits", p.no_door_detail)
    if no_bike is not None:
        return _no(base, *no_bike)
    if not open_:
        return _no(base, "point_closed", f"{p.name} is not open for deliveries on {day}.")
    if now_s > rule.start_s - rule.lead_s:
        return _no(base, "past_cutoff", f"Orders for {p.name} on {day} close at {_cutoff(day, rule)}.")
    if p.room_left < len(q.parcels):
        return _no(base, "point_full", f"{p.name} has room for {max(0, p.room_left)} more parcel(s) on {day}.")
    if p.no_door:
        return _no(base, "point_full", f"{p.no_door_detail} Choose another point or day.")
    visit = Visit(
        lat=p.lat,
        lon=p.lon,
        start_s=start,
        end_s=end,
        service_s=q.service_s,
        weight_kg=weight_kg,
        volume_l=volume_l,
    )
    lane = room.fits(visit) if room is not None else None
    if lane is None:
        return _no(base, "slot_full", f"The bikes that serve {p.name} on {day} are full; choose another day.")
    return msgspec.structs.replace(base, available=True, lane=lane)


def _carrier(q: Question, no_bike: NoBike) -> Option:
    """An external carrier's next-day delivery: for what no bike takes (no room is checked here);
    with the hub's rules, their carrier and the duties term, and their sentence. Without rules
    the hub hands nothing to a carrier at intake (services/carrier.py ``route_order``): the
    option is answered unavailable (``no_carrier``), so the shop sees why there is none."""
    base = Option(
        key="carrier",
        kind="carrier",
        date=q.now.date() + dt.timedelta(days=1),
        start_s=8 * 3600,
        end_s=18 * 3600,
        price_cents=CARRIER_PRICE_CENTS,
        by_bike=False,
        available=False,
    )
    route = q.route
    if route is None or route.carrier is None:
        why = "outside the bikes' area" if no_bike[0] == "outside_area" else "too large for a bike"
        return _no(base, "no_carrier", f"This hub hands no parcels to a carrier, and this order is {why}.")
    detail = f"Delivered by {route.carrier}: {route.detail}"
    if route.duties:
        detail += f" Duties: {route.duties}."
    return msgspec.structs.replace(base, available=True, detail=detail, carrier=route.carrier, duties=route.duties)


def _no(o: Option, reason: Reason, detail: str) -> Option:
    return msgspec.structs.replace(o, available=False, reason=reason, detail=detail)
