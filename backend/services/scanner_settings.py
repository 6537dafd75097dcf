"""A hub's keyboard-wedge scanners: the prefix and suffix they are configured to send around
a code. Set by the hub's dispatcher; the worker apps that scan (picker, pickup point, returns
desk) read it at login and take them off (kit/scanner.js). The server reads every scan through
the same ``strip_wedge`` too (a client that did not take them off, an app before its setting
loaded): the warehouse's services through ``parse_scan``, every other scan endpoint (the
point's desk, the returns desk, the carrier's handover, the locker drops) through
``read_scan``. A hub nobody has set: neither."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec

from backend.db.engine import transaction
from backend.db.scanner_tables import ScannerSetting
from backend.db.tables import Parcel, PointOperator, ReturnRequest
from backend.errors import Invalid
from backend.services.hub_scope import require_hub
from backend.services.sessions import Principal
from backend.structs import Body, Out
from backend.warehouse.barcodes import affix_problem, strip_wedge

# Long enough that a too-long prefix gets the 422 naming it, not the 400 of the shape.
Affix = Annotated[str, msgspec.Meta(max_length=64)]


class ScannerIn(Body):
    prefix: Affix = ""
    suffix: Affix = ""


class ScannerOut(Out):
    hub_id: int | None
    prefix: str
    suffix: str


class Wedge(msgspec.Struct, frozen=True):
    """What ``parse_scan`` takes off a scan."""

    prefix: str = ""
    suffix: str = ""


async def wedge_of(hub_id: int | None) -> Wedge:
    """The hub's prefix and suffix (none for no hub, or a hub that set none)."""
    if hub_id is None:
        return Wedge()
    row = await ScannerSetting.select().where(ScannerSetting.hub == hub_id).first()
    return Wedge() if row is None else Wedge(row["prefix"], row["suffix"])


async def read_scan(
    raw: str, hub_id: int | None, known: Callable[[str], Awaitable[bool]], *, wedge: Wedge | None = None
) -> str:
    """The code in a scan from a scanner of ``hub_id``: control characters, blanks and the hub's
    prefix/suffix taken off (``strip_wedge``, as ``parse_scan`` and the apps' kit do). The apps
    take them off before sending, so a code that itself begins with the prefix (prefix "LB",
    label "LB0001") lost it once already: when only the scan as sent is a ``known`` code, that
    is the one. Neither known: the stripped code, for the caller's "not found" sentence.
    ``wedge``: the hub's, read once by a caller reading many scans."""
    wedge = wedge if wedge is not None else await wedge_of(hub_id)
    as_sent = strip_wedge(raw)
    code = strip_wedge(raw, wedge.prefix, wedge.suffix)
    if code == as_sent or await known(code) or not await known(as_sent):
        return code or as_sent
    return as_sent


async def is_label(code: str) -> bool:
    """A parcel's label (``read_scan``'s ``known`` for parcel scans)."""
    return bool(await Parcel.exists().where(Parcel.barcode == code))


async def is_label_or_return(code: str) -> bool:
    """A parcel's label or a return's code (R-..., written upper-case)."""
    return await is_label(code) or bool(await ReturnRequest.exists().where(ReturnRequest.code == code.upper()))


async def read(hub_id: int) -> ScannerOut:
    await require_hub(hub_id)
    wedge = await wedge_of(hub_id)
    return ScannerOut(hub_id=hub_id, prefix=wedge.prefix, suffix=wedge.suffix)


async def write(hub_id: int, data: ScannerIn) -> ScannerOut:
    """Set both (what is left out is none); a bad one is a 422 naming its field, nothing kept."""
    await require_hub(hub_id)
    for field, value in (("prefix", data.prefix), ("suffix", data.suffix)):
        problem = affix_problem(value)
        if problem is not None:
            raise Invalid(f"The scanner's {field}: {problem}", field=field)
    async with transaction():
        if await ScannerSetting.exists().where(ScannerSetting.hub == hub_id):
            await ScannerSetting.update({ScannerSetting.prefix: data.prefix, ScannerSetting.suffix: data.suffix}).where(
                ScannerSetting.hub == hub_id
            )
        else:
            await ScannerSetting.insert(ScannerSetting(hub=hub_id, prefix=data.prefix, suffix=data.suffix))
    return ScannerOut(hub_id=hub_id, prefix=data.prefix, suffix=data.suffix)


async def worker_hub(user: Principal) -> int | None:
    """The hub whose scanners a worker uses: their own, or, at a pickup point, the point's hub."""
    if user.hub_id is not None or user.role != "point":
        return user.hub_id
    row = await PointOperator.select(PointOperator.point.hub).where(PointOperator.user == user.id).first()
    return None if row is None else row["point.hub"]


async def for_worker(user: Principal) -> ScannerOut:
    """The worker's hub's setting; none for an account of no hub (an admin trying an app)."""
    hub_id = await worker_hub(user)
    wedge = await wedge_of(hub_id)
    return ScannerOut(hub_id=hub_id, prefix=wedge.prefix, suffix=wedge.suffix)
