"""Sorting at the hub: the service around ``backend/warehouse/sorting.py``.

A pick-then-sort batch is picked without totes; once it is done, the sort station sorts
its units to orders: each order gets a tote bound, each scanned item is told the order
(and tote) it goes to. When an order is complete its tote is bound to it in the ``tote``
table, so ``POST /pack/start`` with that tote opens its packing (the packing flow as is).

Every change runs in one transaction holding the hub's warehouse lock. A refusal is a 4xx
with a sentence and a code, nothing written; the API applies each POST once per
Idempotency-Key, and a scan id counts its unit once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from backend.db.engine import transaction
from backend.db.tables import OrderLine, PickBatch, SortJob, Tote
from backend.errors import Conflict, Invalid, NotFound
from backend.services.scanner_settings import wedge_of
from backend.services.warehouse_packing import packer_hub
from backend.services.warehouse_picking import check_hub_of
from backend.services.warehouse_stock import full_catalogue, hold_hub, scanned_product
from backend.warehouse import sorting
from backend.warehouse.barcodes import parse_scan
from backend.warehouse.sorting import SortError, SortState, ToSort


def _refused(e: SortError) -> Invalid:
    return Invalid(e.message, code=e.code, **e.extra)


def _state(row: dict[str, Any]) -> SortState:
    return msgspec.convert(row["state"], SortState, strict=False)  # JSON keys are strings


async def _job(job_id: int, hub: int | None) -> dict[str, Any]:
    row = await SortJob.select().where(SortJob.id == job_id).output(load_json=True).first()
    if row is None or (hub is not None and row["hub"] != hub):
        raise NotFound(f"There is no sorting {job_id} at your hub.")
    return row


async def _view(row: dict[str, Any]) -> dict[str, Any]:
    state = _state(row)
    catalogue = await full_catalogue()
    done = state.sorted_units()

    def line(x: ToSort) -> dict[str, Any]:
        p = catalogue.by_sku.get(x.sku)
        gtin = p.barcodes[0] if p is not None and p.barcodes else ""
        name = p.name if p is not None else x.sku
        return {
            "lineId": x.line_id,
            "sku": x.sku,
            "name": name,
            "gtin": gtin,
            "units": x.units,
            "sorted": done[x.line_id],
        }

    orders = [
        {
            "orderId": o,
            "tote": state.totes.get(o),
            "left": sorting.left(state, o),
            "complete": sorting.complete(state, o),
            "lines": [line(x) for x in state.lines if x.order_id == o],
        }
        for o in state.orders()
    ]
    return {
        "id": row["id"],
        "batchId": row["batch_id"],
        "hubId": row["hub"],
        "status": row["status"],
        "left": sum(o["left"] for o in orders),
        "orders": orders,
    }


async def view(job_id: int, role: str, hub_id: int | None) -> dict[str, Any]:
    return await _view(await _job(job_id, packer_hub(role, hub_id)))


async def to_sort(role: str, hub_id: int | None) -> list[dict[str, Any]]:
    """The hub's picked pick-then-sort batches whose sorting is not done, oldest first."""
    hub = packer_hub(role, hub_id)
    query = PickBatch.select(
        PickBatch.id, PickBatch.number, PickBatch.plan_date, PickBatch.cutoff, PickBatch.order_ids
    ).where((PickBatch.mode == "pick_then_sort") & (PickBatch.status == "done"))
    if hub is not None:
        query = query.where(PickBatch.hub == hub)
    rows = (
        await query.order_by(PickBatch.plan_date)
        .order_by(PickBatch.cutoff)
        .order_by(PickBatch.id)
        .output(load_json=True)
    )
    jobs = {
        j["batch_id"]: j
        for j in await SortJob.select(SortJob.id, SortJob.batch_id, SortJob.status).where(
            SortJob.batch_id.is_in([r["id"] for r in rows] or [-1])
        )
    }
    return [
        {
            "batchId": r["id"],
            "number": r["number"],
            "date": r["plan_date"].isoformat(),
            "cutoff": r["cutoff"],
            "orders": len(r["order_ids"]),
            "sortId": jobs[r["id"]]["id"] if r["id"] in jobs else None,
        }
        for r in rows
        if jobs.get(r["id"], {}).get("status") != "done"
    ]


async def _lines(batch: dict[str, Any]) -> list[ToSort]:
    """The batch's order lines in its order, each expecting the units picked for it."""
    ids = [int(s["lineId"]) for s in batch["sort_lines"]]
    picked = {
        r["id"]: r["picked"]
        for r in await OrderLine.select(OrderLine.id, OrderLine.picked).where(OrderLine.id.is_in(ids or [-1]))
    }
    rank = {o: i for i, o in enumerate(batch["order_ids"])}
    lines = [
        ToSort(order_id=s["orderId"], line_id=int(s["lineId"]), sku=s["sku"], units=picked.get(int(s["lineId"]), 0))
        for s in batch["sort_lines"]
    ]
    return sorted(lines, key=lambda x: (rank.get(x.order_id, len(rank)), x.line_id))


async def start(batch_id: int, user_id: int, role: str, hub_id: int | None, now: dt.datetime) -> dict[str, Any]:
    """Open (or resume) the sorting of a picked pick-then-sort batch."""
    hub = packer_hub(role, hub_id)
    batch = await PickBatch.select().where(PickBatch.id == batch_id).output(load_json=True).first()
    if batch is None:
        raise NotFound(f"There is no pick batch {batch_id}.")
    check_hub_of(role, hub, batch)
    if batch["mode"] != "pick_then_sort":
        raise Invalid(
            f"Batch {batch_id} was sorted while picking; pack its orders from their totes.", code="not_pick_then_sort"
        )
    async with transaction():
        await hold_hub(batch["hub"])
        batch = await PickBatch.select().where(PickBatch.id == batch_id).output(load_json=True).first()
        if batch is None or batch["status"] != "done":
            raise Conflict(f"Batch {batch_id} is still being picked; sort it when it is done.", code="batch_not_picked")
        existing = await SortJob.select(SortJob.id).where(SortJob.batch_id == batch_id).first()
        if existing is not None:
            job_id = existing["id"]
        else:
            state = sorting.start(await _lines(batch))
            job_id = (
                await SortJob.insert(
                    SortJob(
                        hub=batch["hub"],
                        batch_id=batch_id,
                        status="done" if sorting.finished(state) else "open",
                        state=msgspec.to_builtins(state, str_keys=True),
                        sorter=user_id,
                        started_at=now,
                    )
                )
            )[0]["id"]
    return await _view(await _job(job_id, hub))


async def _open_job(job_id: int, hub: int | None) -> dict[str, Any]:
    """The job, fresh under its hub's lock (call inside a transaction)."""
    row = await _job(job_id, hub)
    await hold_hub(row["hub"])
    row = await _job(job_id, hub)
    if row["status"] != "open":
        raise Conflict(f"Sorting {job_id} is done; pack its orders from their totes.", code="sorted")
    return row


async def _totes_in_use(job_id: int) -> dict[str, int]:
    """Tote code -> the order it holds elsewhere: bound in the tote table or by another open sorting."""
    out = {
        r["code"]: r["order_id"] for r in await Tote.select(Tote.code, Tote.order_id).where(Tote.order_id.is_not_null())
    }
    for other in (
        await SortJob.select(SortJob.state)
        .where((SortJob.status == "open") & (SortJob.id != job_id))
        .output(load_json=True)
    ):
        out.update({code: order for order, code in _state(other).totes.items()})
    return out


async def bind_tote(job_id: int, order_id: int, code: str, role: str, hub_id: int | None) -> dict[str, Any]:
    """The order's units go into this tote (one tote per order; never another order's)."""
    hub = packer_hub(role, hub_id)
    wedge = await wedge_of(hub_id)
    scan = parse_scan(code, prefix=wedge.prefix, suffix=wedge.suffix)
    if scan.kind != "tote":
        raise Invalid(f"{scan.text or code!r} is not a tote; scan the label of a tote (T-0042).", code="not_a_tote")
    async with transaction():
        row = await _open_job(job_id, hub)
        try:
            state = sorting.bind_tote(_state(row), order_id, scan.code, await _totes_in_use(job_id))
        except SortError as e:
            raise _refused(e) from None
        await SortJob.update({SortJob.state: msgspec.to_builtins(state, str_keys=True)}).where(SortJob.id == job_id)
    return await _view(await _job(job_id, hub))


async def scan_item(
    job_id: int, scan_id: str, code: str, role: str, hub_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    """One unit scanned: the order (and tote) it goes to; a complete order's tote is bound to it."""
    hub = packer_hub(role, hub_id)
    product = await scanned_product(code, hub_id)
    async with transaction():
        row = await _job(job_id, hub)
        await hold_hub(row["hub"])
        row = await _job(job_id, hub)
        state = _state(row)
        if scan_id not in state.scans and row["status"] != "open":
            raise Conflict(f"Sorting {job_id} is done; pack its orders from their totes.", code="sorted")
        try:
            placed = sorting.scan_item(state, scan_id, product.sku, product.name)
        except SortError as e:
            raise _refused(e) from None
        if not placed.replayed:
            changes: dict[Any, Any] = {SortJob.state: msgspec.to_builtins(placed.state, str_keys=True)}
            if sorting.finished(placed.state):
                changes.update({SortJob.status: "done", SortJob.done_at: now})
            await SortJob.update(changes).where(SortJob.id == job_id)
            if placed.left == 0:
                await _bind_for_packing(row["hub"], row["batch_id"], placed.order_id, placed.tote, now)
    return {
        "orderId": placed.order_id,
        "tote": placed.tote,
        "left": placed.left,
        "sku": product.sku,
        "name": product.name,
        "replayed": placed.replayed,
        "job": await _view(await _job(job_id, hub)),
    }


async def _bind_for_packing(hub: int, batch_id: int, order_id: int, code: str, now: dt.datetime) -> None:
    """The complete order's tote holds it now: packing starts from it."""
    existing = await Tote.select(Tote.id).where(Tote.code == code).first()
    if existing is None:
        await Tote.insert(Tote(code=code, hub=hub, order_id=order_id, batch_id=batch_id, bound_at=now))
    else:
        await Tote.update({Tote.hub: hub, Tote.order_id: order_id, Tote.batch_id: batch_id, Tote.bound_at: now}).where(
            Tote.id == existing["id"]
        )
