"""Picking a batch on the handheld: the service around ``backend/warehouse/picking.py``.

Each pick event (a scan, a short pick, a skip) carries the device's scan id. In one
transaction, holding the hub's warehouse lock: the batch's state is read, the core
applies the event, its effects go to the stock ledger, the state, the order lines and
the totes are written, and the answer is kept under (batch, scan id). The same scan id
again answers the kept answer and changes nothing; a refused event (wrong bin, wrong
product, ...) is kept too, with nothing else changed.

Two pickers taking the last unit of a bin: their picks are applied one after the other
under the lock; the second finds the ledger short and becomes a short pick (the line
moves to another bin with stock, or is reported short and dispatch gets an alert).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.tables import OrderLine, PickBatch, PickScan, Tote, User
from backend.dispatch.alerts import Raised
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.services.alerts import raise_alerts
from backend.services.scanner_settings import wedge_of
from backend.services.warehouse_events import emit_warehouse
from backend.services.warehouse_floor import walking_path
from backend.services.warehouse_stock import bins_of, full_catalogue, hold_hub, ledger_for, write_movements
from backend.services.warehouse_waves import active_units, load_state
from backend.warehouse import picking
from backend.warehouse.barcodes import BarcodeError, parse_scan
from backend.warehouse.ledger import Ledger, Place, StockError
from backend.warehouse.picking import Answer, Effect, PickState
from backend.warehouse.products import Catalogue

EventKind = Literal["scan", "tote", "short", "skip"]


class Outcome(msgspec.Struct, kw_only=True):
    """An HTTP answer: the status and the body (a problem body when 4xx)."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


# --- reading -------------------------------------------------------------------------------


def _state(row: dict[str, Any]) -> PickState:
    return load_state(row["state"])


async def _batch(batch_id: int) -> dict[str, Any]:
    row = await PickBatch.select().where(PickBatch.id == batch_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no pick batch {batch_id}.")
    return row


def check_hub_of(user_role: str, user_hub: int | None, batch: dict[str, Any]) -> None:
    """Pickers and dispatchers see the batches of their own hub only (as not found: nothing to learn)."""
    if user_role != "admin" and user_hub is not None and batch["hub"] != user_hub:
        raise NotFound(f"There is no pick batch {batch['id']} at your hub.")
    if user_role == "picker" and user_hub is None:
        raise Forbidden("Your picker account belongs to no hub; ask a dispatcher to set your hub.")


async def _names(user_ids: set[int]) -> dict[int, str]:
    rows = await User.select(User.id, User.display_name, User.username).where(User.id.is_in(sorted(user_ids) or [-1]))
    return {r["id"]: r["display_name"] or r["username"] for r in rows}


def _progress(state: PickState) -> dict[str, int]:
    tasks = len(state.tasks)
    done = sum(1 for t in state.tasks if t not in state.queue)
    return {
        "tasks": tasks,
        "tasksDone": done,
        "units": sum(t.quantity for tid, t in state.tasks.items() if ">" not in tid),  # moved lines: the same units
        "unitsPicked": sum(state.picked.values()),
        "unitsShort": sum(state.short.values()),
    }


def _task_view(state: PickState, tid: str, names: dict[str, str]) -> dict[str, Any]:
    t = state.tasks[tid]
    open_ = tid in state.queue
    return {
        "id": t.id,
        "bin": t.bin,
        "sku": t.sku,
        "name": names.get(t.sku, t.sku),
        "quantity": t.quantity,
        "target": state.target[tid],
        "picked": state.picked[tid],
        "short": state.short[tid],
        "orderId": t.order_id,
        "lines": [{"lineId": int(line), "quantity": n} for line, n in t.lines],
        "tote": t.tote,
        "toteCode": state.totes.get(t.tote) if t.tote is not None else None,
        "state": "open" if open_ else ("short" if state.short[tid] else "picked"),
    }


def batch_summary(row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    state = _state(row)
    return {
        "id": row["id"],
        "hubId": row["hub"],
        "date": row["plan_date"].isoformat(),
        "cutoff": row["cutoff"],
        "number": row["number"],
        "mode": row["mode"],
        "status": row["status"],
        "picker": None if row["picker"] is None else {"id": row["picker"], "name": names.get(row["picker"], "")},
        "orderIds": row["order_ids"],
        "totes": len(state.slots),
        "version": row["version"],
        "progress": _progress(state),
    }


def batch_view(row: dict[str, Any], names: dict[int, str], products: dict[str, str]) -> dict[str, Any]:
    """The batch as the handheld shows it: the next step, the tasks in walking order (open ones
    first, in the order they come), the totes on the cart."""
    state = _state(row)
    current = picking.current(state)
    order_of_slot = {t.tote: t.order_id for t in state.tasks.values() if t.tote is not None}
    done = [tid for tid in state.tasks if tid not in state.queue]
    return {
        **batch_summary(row, names),
        "phase": picking.phase(state),
        "prompt": picking.prompt(state),
        "atBin": state.at_bin,
        "inHand": state.in_hand,
        "current": None if current is None else _task_view(state, current.id, products),
        "tasks": [_task_view(state, tid, products) for tid in [*state.queue, *done]],
        "cart": [
            {"place": slot, "code": state.totes.get(slot), "orderId": order_of_slot.get(slot)} for slot in state.slots
        ],
        "sortLines": row["sort_lines"],
    }


async def list_batches(hub_id: int, user_id: int, day: dt.date | None) -> list[dict[str, Any]]:
    """The hub's batches a picker may work: open ones and their own taken ones (of ``day``, else every day's)."""
    query = PickBatch.select().where(
        (PickBatch.hub == hub_id)
        & ((PickBatch.status == "open") | ((PickBatch.status == "taken") & (PickBatch.picker == user_id)))
    )
    if day is not None:
        query = query.where(PickBatch.plan_date == day)
    rows = (
        await query.order_by(PickBatch.plan_date)
        .order_by(PickBatch.cutoff)
        .order_by(PickBatch.id)
        .output(load_json=True)
    )
    names = await _names({r["picker"] for r in rows if r["picker"]})
    return [batch_summary(r, names) for r in rows]


async def _product_names() -> dict[str, str]:
    catalogue = await full_catalogue()
    return {sku: p.name for sku, p in catalogue.by_sku.items()}


async def view(batch_id: int, role: str, hub_id: int | None) -> dict[str, Any]:
    row = await _batch(batch_id)
    check_hub_of(role, hub_id, row)
    return await full_view(row)


async def full_view(row: dict[str, Any], products: dict[str, str] | None = None) -> dict[str, Any]:
    """The batch as GET /pick/batches/{id} answers it (also the live events' ``batch``)."""
    names = await _names({row["picker"]} if row["picker"] else set())
    return batch_view(row, names, products if products is not None else await _product_names())


# --- taking a batch ----------------------------------------------------------------------------


async def take(batch_id: int, user_id: int, role: str, hub_id: int | None, now: dt.datetime) -> dict[str, Any]:
    """The picker takes the batch (again: no change); another picker's batch is a 409."""
    row = await _batch(batch_id)
    check_hub_of(role, hub_id, row)
    async with transaction():
        await hold_hub(row["hub"])
        row = await _batch(batch_id)
        if row["status"] == "done":
            raise Conflict(f"Batch {batch_id} is already picked; take another batch.", code="batch_done")
        if row["status"] == "taken" and row["picker"] != user_id:
            who = (await _names({row["picker"]})).get(row["picker"], "another picker")
            raise Conflict(f"Batch {batch_id} is taken by {who}; take another batch.", code="batch_taken")
        if row["status"] == "open":
            await PickBatch.update(
                {PickBatch.status: "taken", PickBatch.picker: user_id, PickBatch.taken_at: now}
            ).where(PickBatch.id == batch_id)
            fresh = await full_view(await _batch(batch_id))
            payload = {"batchId": batch_id, "pickerId": user_id, "version": row["version"], "batch": fresh}
            await emit_warehouse("pick.batch.taken", payload, row["hub"])
    return await view(batch_id, role, hub_id)


# --- pick events -------------------------------------------------------------------------------


def _problem(answer: Answer, batch_id: int, scan_id: str) -> Outcome:
    status = 409 if answer.code in ("done", "totes_bound", "nothing_to_short", "nothing_to_skip", "hands_full") else 422
    title = "Conflict" if status == 409 else "Invalid input"
    return Outcome(
        status=status,
        body={
            "title": title,
            "status": status,
            "detail": answer.message,
            "code": answer.code,
            "scanId": scan_id,
            "batchId": batch_id,
        },
    )


async def pick_event(
    batch_id: int,
    kind: EventKind,
    scan_id: str,
    *,
    user_id: int,
    role: str,
    hub_id: int | None,
    now: dt.datetime,
    code: str = "",
    quantity: int = 1,
    task_id: str = "",
) -> Outcome:
    """Apply one pick event once per (batch, scan id); see the module's docstring."""
    scan_id = scan_id.strip()
    if not scan_id or len(scan_id) > 80:
        raise Invalid("Send a scanId: a new id per scan (e.g. a UUID, at most 80 characters), the same on a retry.")
    request = f"{kind}|{code}|{quantity}|{task_id}"[:200]
    row = await _batch(batch_id)
    check_hub_of(role, hub_id, row)
    key = f"{batch_id}:{scan_id}"
    async with transaction():
        await hold_hub(row["hub"])
        kept = await PickScan.select().where(PickScan.scan_key == key).first()
        if kept is not None:
            if kept["request"] != request:
                raise Invalid(
                    f"Scan id {scan_id} was already used for another scan of this batch; send a new id per scan.",
                    code="scan_id_reused",
                )
            return Outcome(status=kept["status_code"], body=json.loads(kept["body"]), replayed=True)
        row = await _batch(batch_id)
        if row["status"] == "open":
            raise Conflict(f"Take batch {batch_id} first.", code="batch_not_taken")
        if row["status"] == "taken" and row["picker"] != user_id:
            who = (await _names({row["picker"]})).get(row["picker"], "another picker")
            raise Conflict(f"Batch {batch_id} is taken by {who}; scan on your own batch.", code="batch_taken")
        outcome = await _apply(row, kind, scan_id, code, quantity, task_id, user_id, now)
        await PickScan.insert(
            PickScan(
                batch=batch_id,
                scan_key=key,
                kind=kind,
                request=request,
                status_code=outcome.status,
                body=json.dumps(outcome.body, default=str),
                by_user=user_id,
                at=now,
            )
        )
    return outcome


async def _apply(
    row: dict[str, Any],
    kind: EventKind,
    scan_id: str,
    code: str,
    quantity: int,
    task_id: str,
    user_id: int,
    now: dt.datetime,
) -> Outcome:
    batch_id, hub = int(row["id"]), int(row["hub"])
    state = _state(row)
    catalogue = await full_catalogue()
    bins = await bins_of(hub)
    path = walking_path(bins)
    if kind == "tote" and picking.phase(state) != "totes":
        why = (
            "Every tote of the cart is bound."
            if state.slots
            else "This batch is picked without totes (pick then sort)."
        )
        return _problem(
            Answer(ok=False, code="totes_bound", message=f"{why} {picking.prompt(state)}"), batch_id, scan_id
        )
    if kind in ("scan", "tote"):
        state.in_use = await _totes_in_use(hub, batch_id)
        wedge = await wedge_of(hub)
        what = parse_scan(
            code,
            prefix=wedge.prefix,
            suffix=wedge.suffix,
            location_parser=lambda t: t.upper() if t.upper() in bins else None,
        )
        if kind == "tote" and what.kind not in ("tote", "unknown"):
            return _problem(
                Answer(ok=False, code="not_a_tote", message=f"{code!r} is not a tote code (T-0042); scan a tote."),
                batch_id,
                scan_id,
            )
        answer = picking.scan(state, scan_id, what, _sku_of(catalogue), quantity)
    elif kind == "short":
        cur = picking.current(state)
        if cur is not None and task_id and task_id != cur.id:
            return _problem(
                Answer(
                    ok=False,
                    code="not_current",
                    message=f"Line {task_id} is not the one at hand; report the line at bin {cur.bin} ({cur.sku}).",
                ),
                batch_id,
                scan_id,
            )
        alternatives = await _alternatives(hub, state, path)
        answer = picking.report_short(state, scan_id, alternatives)
    else:
        answer = picking.skip(state, scan_id)
    if not answer.ok:
        return _problem(answer, batch_id, scan_id)
    ledger = await ledger_for(hub, {e.sku for e in answer.effects})
    code_out = answer.code
    message = answer.message
    try:
        effects_ok = _record_effects(ledger, answer.effects, batch_id, scan_id, user_id, now)
    except _BinEmpty as empty:
        # Another picker took what the ledger had: the pick becomes a short pick of what is left.
        state = _state(row)
        state.in_use = await _totes_in_use(hub, batch_id)
        state.in_hand = 0
        alternatives = await _alternatives(hub, state, path)
        answer = picking.report_short(state, scan_id, alternatives)
        if not answer.ok:
            return _problem(answer, batch_id, scan_id)
        effects = tuple(
            msgspec.structs.replace(e, counted=empty.available) if e.kind == "bin_short" else e for e in answer.effects
        )
        effects_ok = _record_effects(ledger, effects, batch_id, scan_id, user_id, now)
        code_out = "bin_empty"
        message = (
            f"Bin {empty.bin} has no more {empty.sku} by the stock ledger (another picker took it, or it was "
            "counted empty). Put what you hold back. " + answer.message
        )
    await write_movements(hub, effects_ok, user_id)
    if kind in ("short",) or code_out == "bin_empty":
        picking.resequence(state, path)
    await _after(row, state, now)
    if kind in ("scan", "tote") and state.totes:
        await _bind_totes(hub, batch_id, state, now)
    products = {sku: p.name for sku, p in catalogue.by_sku.items()}
    status = "done" if picking.phase(state) == "done" else row["status"]
    fresh = {**row, "state": msgspec.to_builtins(state), "version": row["version"] + 1, "status": status}
    view = await full_view(fresh, products)
    body = {
        "ok": code_out == "ok",
        "code": code_out,
        "message": message,
        "scanId": scan_id,
        "batch": {k: view[k] for k in ("id", "status", "phase", "prompt", "current", "cart", "progress", "version")},
    }
    resequenced = code_out == "bin_empty" or kind == "short"
    if resequenced:
        await _alert_short(row, state, now)
    # One event per change, for the pickers' devices and the supervisor: the batch as it now is.
    event = "pick.batch.done" if status == "done" else "pick.batch.resequenced" if resequenced else "pick.batch.changed"
    payload = {"batchId": batch_id, "pickerId": user_id, "version": view["version"], "batch": view}
    await emit_warehouse(event, payload, hub)
    return Outcome(status=200, body=body)


class _BinEmpty(Exception):
    def __init__(self, bin_code: str, sku: str, available: int) -> None:
        super().__init__(bin_code)
        self.bin, self.sku, self.available = bin_code, sku, available


def _sku_of(catalogue: Catalogue):  # type: ignore[no-untyped-def]
    def sku_of(gtin: str) -> str | None:
        try:
            p = catalogue.find_gtin(gtin)
        except BarcodeError:
            return None
        return p.sku if p is not None else None

    return sku_of


def _record_effects(
    ledger: Ledger, effects: tuple[Effect, ...], batch_id: int, scan_id: str, user_id: int, now: dt.datetime
) -> list[Any]:
    """The effects as ledger movements (checked, not written): a pick, or a count of a bin found short."""
    wanted: dict[tuple[str, str], int] = {}
    for e in effects:  # every pick checked before any is recorded: all or none
        if e.kind == "picked":
            wanted[(e.bin, e.sku)] = wanted.get((e.bin, e.sku), 0) + e.quantity
    for (bin_code, sku), n in wanted.items():
        available = ledger.stock(Place("bin", bin_code), sku)
        if available < n:
            raise _BinEmpty(bin_code, sku, available)
    before = len(ledger.movements)
    user = str(user_id)
    try:
        for i, e in enumerate(effects):
            place, key = Place("bin", e.bin), f"pick:{batch_id}:{scan_id}:{i}"
            if e.kind == "picked":
                ledger.pick(key, place, e.sku, e.quantity, user, now, f"batch {batch_id}, order {e.order_id}")
            else:
                ledger.count(key, place, e.sku, e.counted or 0, user, now, f"short pick, batch {batch_id}")
    except StockError as err:  # the transaction is rolled back: nothing of it is written
        raise Invalid(str(err), code="stock") from None
    return ledger.movements[before:]


async def _alternatives(hub: int, state: PickState, path: Any) -> list[tuple[str, int]]:
    """Other bins of the hub with stock of the current line's SKU, less what open batches
    (this one included) still mean to take there, in walking order."""
    task = picking.current(state)
    if task is None:
        return []
    ledger = await ledger_for(hub, [task.sku])
    held = await active_units(hub, exclude=int(state.batch_id))
    for key, n in picking.open_units(state).items():
        held[key] = held.get(key, 0) + n
    free: dict[str, int] = {}
    for place, n in ledger.stock_of(task.sku).items():
        if place.kind != "bin" or place.code == task.bin:
            continue
        left = n - held.get((place.code, task.sku), 0)
        if left > 0:
            free[place.code] = left
    return [(b, free[b]) for b in path(sorted(free))]


async def _totes_in_use(hub: int, batch_id: int) -> dict[str, str]:
    rows = await Tote.select(Tote.code, Tote.order_id, Tote.batch_id).where(Tote.order_id.is_not_null())
    return {r["code"]: f"order {r['order_id']}" for r in rows if r["batch_id"] != batch_id}


async def _bind_totes(hub: int, batch_id: int, state: PickState, now: dt.datetime) -> None:
    """Each tote on the cart is bound to its order (until packing empties it)."""
    order_of_slot = {t.tote: t.order_id for t in state.tasks.values() if t.tote is not None}
    for slot, code in state.totes.items():
        existing = await Tote.select(Tote.id, Tote.batch_id).where(Tote.code == code).first()
        if existing is None:
            await Tote.insert(
                Tote(code=code, hub=hub, order_id=order_of_slot.get(slot), batch_id=batch_id, bound_at=now)
            )
        elif existing["batch_id"] != batch_id:
            await Tote.update(
                {Tote.hub: hub, Tote.order_id: order_of_slot.get(slot), Tote.batch_id: batch_id, Tote.bound_at: now}
            ).where(Tote.id == existing["id"])


async def _after(row: dict[str, Any], state: PickState, now: dt.datetime) -> None:
    """Write the state; the order lines' picked and short; the batch done at the end."""
    batch_id = int(row["id"])
    done = picking.phase(state) == "done"
    changes: dict[Any, Any] = {
        PickBatch.state: msgspec.to_builtins(state),
        PickBatch.version: row["version"] + 1,
    }
    if done:
        changes[PickBatch.status] = "done"
        changes[PickBatch.done_at] = now
    await PickBatch.update(changes).where(PickBatch.id == batch_id)
    outcomes = picking.outcomes(state)
    lines = await OrderLine.select(
        OrderLine.id, OrderLine.quantity, OrderLine.picked, OrderLine.short, OrderLine.status
    ).where(OrderLine.id.is_in([int(i) for i in outcomes] or [-1]))
    for line in lines:
        picked, short = outcomes[str(line["id"])]
        released_short = line["quantity"] - sum(
            n for t in state.tasks.values() if ">" not in t.id for lid, n in t.lines if lid == str(line["id"])
        )
        total_short = short + max(0, released_short)
        status = line["status"]
        if done or picked + total_short >= line["quantity"]:
            status = "short" if total_short else "picked"
        if (picked, total_short, status) != (line["picked"], line["short"], line["status"]):
            await OrderLine.update(
                {OrderLine.picked: picked, OrderLine.short: total_short, OrderLine.status: status}
            ).where(OrderLine.id == line["id"])


async def _alert_short(row: dict[str, Any], state: PickState, now: dt.datetime) -> None:
    """Dispatch sees every short pick: one alert per short task of the batch (units no bin
    had), and one per line moved to another bin (``severity`` info in its data: nothing is
    missing, but the bin was counted empty and the picker walks elsewhere). Keys name the
    task, so a later short pick of the batch raises only what is new."""
    raised = []
    for tid, t in state.tasks.items():
        whose = f"order {t.order_id}" if t.order_id is not None else "several orders"
        base = {"batchId": row["id"], "taskId": tid, "orderId": t.order_id, "sku": t.sku}
        n = state.short.get(tid, 0)
        if n > 0:
            raised.append(
                Raised(
                    "pick_short",
                    f"batch-{row['id']}-{tid}"[:160],
                    f"{n} × {t.sku} short at bin {t.bin} ({whose}, batch {row['id']}).",
                    {**base, "bin": t.bin, "short": n},
                )
            )
        if ">" in tid:  # a task moved by a short pick: "<task>><bin>", from the bin of <task>
            came_from = state.tasks[tid.rsplit(">", 1)[0]].bin
            raised.append(
                Raised(
                    "pick_short",
                    f"batch-{row['id']}-moved-{tid}"[:160],
                    f"Bin {came_from} ran out: {t.quantity} × {t.sku} moved to bin {t.bin} "
                    f"({whose}, batch {row['id']}).",
                    {**base, "bin": came_from, "movedTo": t.bin, "moved": t.quantity, "short": 0, "severity": "info"},
                )
            )
    if raised:
        await raise_alerts(int(row["hub"]), row["plan_date"], raised, now)


async def hub_batches(hub_id: int, day: dt.date) -> list[dict[str, Any]]:
    """Every batch of the hub's day, for the supervisor."""
    rows = (
        await PickBatch.select()
        .where((PickBatch.hub == hub_id) & (PickBatch.plan_date == day))
        .order_by(PickBatch.cutoff)
        .order_by(PickBatch.id)
        .output(load_json=True)
    )
    names = await _names({r["picker"] for r in rows if r["picker"]})
    return [batch_summary(r, names) for r in rows]
