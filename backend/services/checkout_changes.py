"""Which hubs changed in a way that may take check-out room, as this process saw it.

The check-out's kept views (``checkout_kept.py``) are used between options calls without
reading the database; they are made again when their hub's count here moves. It moves on
this process's own writes that can take room: an order or a plan written (their outbox
events, heard through :data:`backend.realtime.outbox.LISTENERS`), a hold, the hub's slots,
carrier rules. A courier's stop events do not move it (they only free room until the
re-plan they may cause writes routes, which does), nor does what another process wrote:
both are seen once the view is older than its longest life (``KEPT_S``).
"""

from __future__ import annotations

from backend.realtime.outbox import LISTENERS

# The outbox events of changes that may take room: a new stop, new routes, a shift moved,
# a locker door taken by a shop's drop or filled.
TAKES_ROOM = (
    "order.created",
    "order.redirected",
    "plan.finished",
    "plan.replanned",
    "shift.updated",
    "locker.drop",
    "locker.filled",
)

_counts: dict[int, int] = {}
_every = 0  # moved for every hub at once


def changed(hub_id: int | None) -> None:
    """The hub (None: every hub) may have less room than its kept view says."""
    global _every
    if hub_id is None:
        _every += 1
    else:
        _counts[hub_id] = _counts.get(hub_id, 0) + 1


def count(hub_id: int) -> tuple[int, int]:
    """The hub's change count: a kept view made at another count is made again."""
    return _every, _counts.get(hub_id, 0)


def _heard(kind: str, hub_id: int | None) -> None:
    if kind in TAKES_ROOM:
        changed(hub_id)


LISTENERS.append(_heard)
