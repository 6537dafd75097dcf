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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
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


class ZoneWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A weekly access window: on ``days``, from ``start`` to ``end`` (HH:MM, same day)."""

    start: HHMM
    end: HHMM
    days: list[Day] = msgspec.field(default_factory=lambda: list(DAYS))


def window_problem(w: ZoneWindow) -> str | None:
    """What is wrong with a window, in a sentence; None when it is usable."""
    if not w.days:
        return "give at least one day (mo, tu, we, th, fr, sa, su), or leave days out for every day"
    if parse_hhmm(w.end) <= parse_hhmm(w.start):
        return f"it ends ({w.end}) before it starts ({w.start}); windows past midnight are given as two"
    return None


def windows_of(rules: Sequence[ZoneWindow], day: dt.date) -> tuple[Window, ...]:
    """The windows of these weekly rules on ``day`` (() when none applies that day)."""
    periods = [OpeningPeriod(days=list(r.days), opens=r.start, closes=r.end) for r in rules]
    return windows_on(periods, day) or ()


class DayZone(msgspec.Struct, frozen=True, kw_only=True):
    """One zone on one day: ``windows`` are when bikes may load (loading) or ride
    (pedestrian) inside it that day; () means not at all that day."""

    id: str
    name: str
    kind: ZoneKind
    polygon: tuple[Point, ...]
    windows: tuple[Window, ...]


def describe(windows: Sequence[Window]) -> str:
    """'07:00–11:00, 18:00–20:00', or 'never' for no window."""
    return ", ".join(f"{format_hhmm(w.start)}–{format_hhmm(w.end)}" for w in windows) or "never"


def restrict_stops(
    stops: Sequence[Stop], where: Mapping[str, Point], zones: Sequence[DayZone]
) -> tuple[list[Stop], list[Unplanned]]:
    """The stops with their windows narrowed to the loading zones they are in, and
    those no window is left for (``zone_window``), with the zone and its windows.

    ``where``: stop id -> (lat, lon). A stop with no windows (any time in the shift)
    gets the zone's windows. Pedestrian zones do not narrow windows: a stop inside
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
        windows = stop.windows
        for z in loading:
            if not inside[z.id][i]:
                continue
            narrowed = intersect(windows, z.windows) if windows else z.windows
            if not narrowed:
                own = describe(windows) if windows else "any time"
                dropped.append(
                    Unplanned(
                        stop_id=stop.id,
                        reason="zone_window",
                        detail=(
                            f"The stop is in zone {z.name}, where bikes may load {describe(z.windows)} only; "
                            f"its window is {own}."
                        ),
                    )
                )
                break
            windows = narrowed
        else:
            kept.append(stop if windows == stop.windows else msgspec.structs.replace(stop, windows=windows))
    return kept, dropped


def rides_through(zone: DayZone, span: Window) -> bool:
    """Whether bikes may ride in the pedestrian ``zone`` for all of ``span``."""
    return any(w.start <= span.start and span.end <= w.end for w in zone.windows)


def walked_zones(zones: Sequence[DayZone], span: Window) -> list[DayZone]:
    """The pedestrian zones walked in a plan of ``span``: those whose ride windows do
    not cover all of it (see the module's docstring)."""
    return [z for z in zones if z.kind == "pedestrian" and not rides_through(z, span)]


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
