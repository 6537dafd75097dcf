"""Restricted zones: loading windows (venstertijden) and pedestrian zones, as the planner sees them.

Pure: numpy and the closures' polygon geometry. A zone is a simple polygon with
access windows for bikes on a day:

- a **loading** zone: a stop inside may be served only within the zone's windows.
  :func:`restrict_stops` intersects each inside stop's own windows with them
  before any engine sees the problem; a stop left with no window is unplanned
  (``zone_window``). Exact: the engines, the checker and the schedule all read the
  narrowed windows.
- a **pedestrian** zone: bikes may be ridden inside only within its windows and
  are walked (WALK_KMH) at other times. The engines' matrices depend on (from, to)
  only, so the rule is the closures' conservative one, per planned span: when any
  part of the span a plan covers (its first shift start or now, to its last shift
  end) falls outside the ride windows, the zone's streets are walked for the whole
  plan (:func:`walked_edges`), else ridden. The checker verifies with the same
  matrices; a plan may be slower than the street allows, never faster.

**Per vehicle kind.** A window may name the vehicle kinds it is for (``kinds``;
none: every kind); a kind that some window names keeps to those windows, the
others to the windows that name none. A zone may ``exempt`` kinds: it does not
restrict them at all (a walking courier in a pedestrian zone). A stop inside a
loading zone is served within the windows of the kind of the bike that serves it:
when the kinds of the day's bikes have different windows there, the stop keeps the
widest windows and only the bikes whose kind may load within them
(``Stop.vehicles``), so the engines stay exact. A pedestrian zone is walked when
any non-exempt kind on the day may not ride it for the whole span (the matrices
are shared by all bikes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import msgspec
import numpy as np

from backend.dispatch.calendar import (
    DAYS,
    HHMM,
    Day,
    OpeningPeriod,
    format_hhmm,
    intersect,
    parse_hhmm,
    parse_osm_opening_hours,
    windows_on,
)
from backend.dispatch.closures import BadZone, Point, check_zone, points_inside, zone_edges
from backend.dispatch.model import Stop, Unplanned, Window
from backend.dispatch.osm_extract import WayRun

if TYPE_CHECKING:
    from backend.dispatch.network import StreetNetwork

ZoneKind = Literal["loading", "pedestrian"]
# What a courier rides (``Bike.kind``); zones' windows may differ per kind.
VehicleKind = Literal["cargo_bike", "e_bike", "walker", "van"]
VEHICLE_KINDS: tuple[VehicleKind, ...] = ("cargo_bike", "e_bike", "walker", "van")
DEFAULT_KIND: VehicleKind = "cargo_bike"


class ZoneWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A weekly access window: on ``days``, from ``start`` to ``end`` (HH:MM, same day)."""

    start: HHMM
    end: HHMM
    days: list[Day] = msgspec.field(default_factory=lambda: list(DAYS))
    # The vehicle kinds this window is for (VEHICLE_KINDS; checked by window_problem with a
    # sentence); none: every kind no other window names.
    kinds: list[str] = []


def window_problem(w: ZoneWindow) -> str | None:
    """What is wrong with a window, in a sentence; None when it is usable."""
    if not w.days:
        return "give at least one day (mo, tu, we, th, fr, sa, su), or leave days out for every day"
    if parse_hhmm(w.end) <= parse_hhmm(w.start):
        return f"it ends ({w.end}) before it starts ({w.start}); windows past midnight are given as two"
    return kinds_problem(w.kinds)


def kinds_problem(kinds: Sequence[str]) -> str | None:
    """What is wrong with a list of vehicle kinds, in a sentence; None when all are known."""
    unknown = [k for k in kinds if k not in VEHICLE_KINDS]
    if unknown:
        return f"{unknown[0]!r} is not a vehicle kind; use {', '.join(VEHICLE_KINDS[:-1])} or {VEHICLE_KINDS[-1]}"
    return None


def windows_of(rules: Sequence[ZoneWindow], day: dt.date) -> tuple[Window, ...]:
    """The windows of these weekly rules on ``day`` (() when none applies that day)."""
    periods = [OpeningPeriod(days=list(r.days), opens=r.start, closes=r.end) for r in rules]
    return windows_on(periods, day) or ()


def kind_windows_of(rules: Sequence[ZoneWindow], day: dt.date) -> dict[str, tuple[Window, ...]]:
    """The windows on ``day`` of each vehicle kind that some rule names (the others
    keep to the rules that name no kind: :func:`windows_of` of those)."""
    named = {k for r in rules for k in r.kinds}
    return {k: windows_of([r for r in rules if k in r.kinds], day) for k in VEHICLE_KINDS if k in named}


class DayZone(msgspec.Struct, frozen=True, kw_only=True):
    """One zone on one day: ``windows`` are when bikes may load (loading) or ride
    (pedestrian) inside it that day; () means not at all that day."""

    id: str
    name: str
    kind: ZoneKind
    polygon: tuple[Point, ...]
    windows: tuple[Window, ...]  # of every kind that ``by_kind`` does not name
    by_kind: Mapping[str, tuple[Window, ...]] = {}  # vehicle kind -> its own windows that day
    exempt: frozenset[str] = frozenset()  # vehicle kinds the zone does not restrict

    def windows_for(self, kind: str) -> tuple[Window, ...] | None:
        """The windows of a vehicle ``kind`` here that day; None: not restricted."""
        if kind in self.exempt:
            return None
        return self.by_kind.get(kind, self.windows)


def describe(windows: Sequence[Window]) -> str:
    """'07:00–11:00, 18:00–20:00', or 'never' for no window."""
    return ", ".join(f"{format_hhmm(w.start)}–{format_hhmm(w.end)}" for w in windows) or "never"


def restrict_stops(
    stops: Sequence[Stop],
    where: Mapping[str, Point],
    zones: Sequence[DayZone],
    kinds: Mapping[str, str] | None = None,
) -> tuple[list[Stop], list[Unplanned]]:
    """The stops with their windows narrowed to the loading zones they are in, and
    those no window is left for (``zone_window``), with the zone and its windows.

    ``where``: stop id -> (lat, lon). ``kinds``: vehicle id -> vehicle kind of the
    day's bikes (None: all of DEFAULT_KIND). A stop with no windows (any time in the
    shift) gets the zone's windows. When the kinds that may serve a stop have
    different windows there, it keeps the widest and only the bikes of the kinds
    that may load within them. Pedestrian zones do not narrow windows: a stop inside
    is reached on foot when riding is not allowed.
    """
    loading = [z for z in zones if z.kind == "loading"]
    if not loading or not stops:
        return list(stops), []
    pts = [where[s.id] for s in stops]
    inside = {z.id: points_inside(z.polygon, pts) for z in loading}
    kept: list[Stop] = []
    dropped: list[Unplanned] = []
    for i, stop in enumerate(stops):
        mine = [z for z in loading if inside[z.id][i]]
        if not mine:
            kept.append(stop)
            continue
        serving = [v for v in (stop.vehicles or tuple(kinds or ())) if kinds is None or v in kinds]
        # No bike of the day to judge by (all off duty): the rules of the default kind.
        present = sorted({kinds[v] for v in serving}) if kinds and serving else [DEFAULT_KIND]
        per_kind = {k: _narrowed(stop.windows, mine, k) for k in present}
        allowed = {k: w for k, w in per_kind.items() if w is not None}
        if not allowed:
            own = describe(stop.windows) if stop.windows else "any time"
            dropped.append(
                Unplanned(
                    stop_id=stop.id,
                    reason="zone_window",
                    detail=f"The stop is in zone {_access(mine, present)} only; its window is {own}.",
                )
            )
            continue
        best = max(allowed.values(), key=_length)
        ks = {k for k, w in allowed.items() if _covers(w, best)}
        stop = stop if best == stop.windows else msgspec.structs.replace(stop, windows=best)
        if kinds and serving and ks != set(present):
            stop = msgspec.structs.replace(stop, vehicles=tuple(v for v in serving if kinds[v] in ks))
        kept.append(stop)
    return kept, dropped


def _narrowed(windows: tuple[Window, ...], zones: Sequence[DayZone], kind: str) -> tuple[Window, ...] | None:
    """A stop's windows within the ``zones``' windows for ``kind`` (() any time); None: none left."""
    for z in zones:
        allowed = z.windows_for(kind)
        if allowed is None:
            continue
        windows = intersect(windows, allowed) if windows else allowed
        if not windows:
            return None
    return windows


def _length(windows: tuple[Window, ...]) -> int:
    return sum(w.end - w.start for w in windows) if windows else 1 << 40  # (): any time


def _covers(windows: tuple[Window, ...], inner: tuple[Window, ...]) -> bool:
    if not windows:
        return True
    return bool(inner) and intersect(inner, windows) == inner


def _access(zones: Sequence[DayZone], kinds: Sequence[str]) -> str:
    """'Esplanadi, where bikes may load 07:00–11:00', per kind when the kinds differ."""
    parts = []
    for z in zones:
        each = {k: z.windows_for(k) for k in kinds}
        if len({w for w in each.values()}) <= 1:
            w = next(iter(each.values()), z.windows)
            parts.append(f"{z.name}, where bikes may load {'any time' if w is None else describe(w)}")
        else:
            said = ", ".join(f"{k} {'any time' if w is None else describe(w)}" for k, w in each.items())
            parts.append(f"{z.name}, where bikes may load by kind: {said}")
    return "; and in zone ".join(parts)


def rides_through(zone: DayZone, span: Window, kind: str = DEFAULT_KIND) -> bool:
    """Whether a bike of ``kind`` may ride in the pedestrian ``zone`` for all of ``span``."""
    windows = zone.windows_for(kind)
    return windows is None or any(w.start <= span.start and span.end <= w.end for w in windows)


def walked_zones(zones: Sequence[DayZone], span: Window, kinds: Collection[str] = (DEFAULT_KIND,)) -> list[DayZone]:
    """The pedestrian zones walked in a plan of ``span`` by bikes of ``kinds``: those
    whose ride windows for some of the kinds do not cover all of it (see the module's
    docstring)."""
    return [z for z in zones if z.kind == "pedestrian" and not all(rides_through(z, span, k) for k in kinds)]


def walked_edges(network: StreetNetwork, zones: Sequence[DayZone], span: Window) -> np.ndarray:
    """Edge indices walked in a plan of ``span`` (the union of :func:`walked_zones`' streets)."""
    parts = [zone_edges(network, z.polygon) for z in walked_zones(zones, span)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.logical_or.reduce(parts))


class OsmZone(msgspec.Struct, frozen=True, kw_only=True):
    """A pedestrian area of the map (``highway=pedestrian`` + ``area=yes``, a closed way)."""

    source: str  # "osm:w123"
    name: str
    polygon: tuple[Point, ...]
    # From ``bicycle:conditional=yes @ (...)`` where the map has it: when bikes may ride.
    windows: tuple[ZoneWindow, ...] | None = None


def osm_pedestrian_zones(ways: Sequence[WayRun]) -> list[OsmZone]:
    """The pedestrian areas of an extract that make a usable polygon, with their ride
    hours where tagged (``bicycle:conditional``, the simple OSM opening-hours forms)."""
    found: list[OsmZone] = []
    for run in ways:
        tags = run.tags
        closed = len(run.node_ids) >= 4 and run.node_ids[0] == run.node_ids[-1]
        if tags.get("highway") != "pedestrian" or not closed or tags.get("area") != "yes":
            continue
        try:
            ring = check_zone(list(zip(run.lats, run.lons, strict=True)), must_close=True)
        except BadZone:
            continue  # a sliver or a self-crossing drawing: not a zone to plan with
        found.append(
            OsmZone(
                source=f"osm:w{run.way_id}",
                name=tags.get("name") or f"pedestrian area w{run.way_id}",
                polygon=ring,
                windows=_ride_hours(tags.get("bicycle:conditional", "")),
            )
        )
    return found


def _ride_hours(conditional: str) -> tuple[ZoneWindow, ...] | None:
    """'yes @ (Mo-Sa 06:00-11:00)' -> the windows; None when absent or beyond the simple forms."""
    value, _, when = conditional.partition("@")
    if value.strip() != "yes" or not when.strip():
        return None
    periods = parse_osm_opening_hours(when.strip().strip("()"))
    if periods is None:
        return None
    return tuple(ZoneWindow(days=list(p.days), start=p.opens, end=p.closes) for p in periods)
