"""Each courier's colour on the dispatcher's desk (map lines, markers, timeline rows).

A fixed palette of distinguishable colours, each with a contrast of at least
3:1 on white (WCAG 2.1, non-text contrast), handed out by the couriers' order
(by id) among the hub's shifts of the day: the same courier keeps the same
colour all day, on every screen, in the desk and in the route lines alike.
More couriers than colours: the palette starts again.
"""

from __future__ import annotations

import datetime as dt

from backend.db.tables import Shift

PALETTE: tuple[str, ...] = (
    "#2962ff",  # blue
    "#f4511e",  # orange
    "#33691e",  # green
    "#aa00ff",  # violet
    "#880e4f",  # wine
    "#00796b",  # teal
    "#827717",  # olive
    "#d81b60",  # pink
    "#6d4c41",  # brown
    "#5c6bc0",  # indigo
    "#a0522d",  # sienna
    "#6a1b9a",  # purple
)


def colour_of(rank: int) -> str:
    return PALETTE[rank % len(PALETTE)]


def colours_by_rank(courier_ids: list[int]) -> dict[int, str]:
    """Courier id -> colour, by the couriers' order (by id)."""
    return {cid: colour_of(i) for i, cid in enumerate(sorted(set(courier_ids)))}


async def hub_colours(hub_id: int, day: dt.date) -> dict[int, str]:
    """Courier id -> colour for the couriers with a shift at the hub on ``day``."""
    start = dt.datetime.combine(day, dt.time())
    rows = await Shift.select(Shift.courier).where(
        (Shift.hub == hub_id) & (Shift.start >= start) & (Shift.start < start + dt.timedelta(days=1))
    )
    return colours_by_rank([r["courier"] for r in rows])
