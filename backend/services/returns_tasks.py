"""Reconditioning task lists at the hub (role ``returns``, own hub): the worker's queue grouped
so the same template comes in a row, one step event at a time (the core's state machine in
backend/returns/tasks.py, times from the server clock), "need help" raising a ``returns_help``
alert on the dispatcher's desk, the final quality check, and the item's end: a ledger movement
of kind "return" into a bin as its graded variant (created when missing), or outlet, supplier,
recycling — each written to the return's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import Product, ReturnEvent, ReturnInspection
from backend.dispatch.alerts import Raised
from backend.errors import Conflict, Invalid, NotFound
from backend.returns import dispositions, finishing, grading, tasks, templates
from backend.returns.texts import TEXTS
from backend.returns.vocabulary import Disposition, Grade
from backend.services.alerts import raise_alerts
from backend.services.returns_events import emit_returns
from backend.services.returns_inspection import check_hub, desk_hub
from backend.services.returns_settings import settings_of
from backend.services.scanner_settings import read_scan
from backend.services.sessions import Principal
from backend.services.warehouse_stock import bins_of, full_catalogue, ledger_for, record
from backend.structs import Body
from backend.warehouse.ledger import Place
from backend.warehouse.products import Product as CoreProduct

OPEN = "tasks"


class StepIn(Body, kw_only=True):
    kind: Literal["start", "problem", "help", "resume", "done"]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CheckIn(Body, kw_only=True):
    passed: bool
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class FinishIn(Body, kw_only=True):
    bin: Annotated[str, msgspec.Meta(max_length=16)] | None = None  # where a stocked item goes
    regrade: Grade | None = None  # a repaired item's grade after the repair


async def _row(item_id: int, user: Principal) -> dict[str, Any]:
    row = await ReturnInspection.select().where(ReturnInspection.item == item_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"Item {item_id} has no inspection yet; inspect it first.")
    check_hub(user, row["hub"])
    return row


row_of = _row  # for the hand-over (returns_handover.py)


def work_of(row: dict[str, Any]) -> tasks.Work | None:
    """The core's Work, rebuilt by replaying the stored events (the states follow from them)."""
    if not row["task"]:
        return None
    task = msgspec.convert(row["task"], templates.TaskList)
    # Replayed without the worker: each event was allowed when it was made, whoever had the
    # list then (a list handed over keeps the steps its first worker did).
    work = tasks.begin(msgspec.structs.replace(task, worker=None))
    for e in msgspec.convert(row["events"], list[tasks.Event]):
        work = tasks.apply(work, e)
    work = msgspec.structs.replace(work, task=task)
    if row["checked"]:
        work = msgspec.structs.replace(work, check=msgspec.convert(row["checked"], tasks.Check))
    return work


def _step(step: templates.Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "n": step.n,
        "kind": step.kind.value,
        "pictogram": step.pictogram,
        "textKey": step.text_key,
        "text": TEXTS.get(step.text_key, {}),
    }


def work_view(row: dict[str, Any], now: dt.datetime, table_ends: Mapping[Disposition, str]) -> dict[str, Any]:
    """One item's list as the task screen shows it: the current step, its state and when it started
    (``table_ends``: where each disposition ends, from the hub's disposition table)."""
    work = work_of(row)
    out: dict[str, Any] = {"itemId": row["item"], "sku": row["sku"], "grade": row["grade"], "status": row["status"]}
    ends = table_ends.get(Disposition(row["disposition"]))
    out.update(disposition=row["disposition"], ends=ends, regrade=row["disposition"] == Disposition.REPAIR.value)
    out.update(now=now.isoformat())
    if work is None:
        return {**out, "steps": [], "current": None}
    out["template"] = work.task.template
    out["worker"] = work.task.worker
    out["steps"] = [{**_step(s), "state": st.value} for s, st in zip(work.task.steps, work.states, strict=True)]
    cur = work.current
    started = next((e.at for e in work.events if cur is not None and e.step_id == cur.id and e.kind == "start"), None)
    out["current"] = None if cur is None else {**_step(cur), "state": work.states[cur.n - 1].value}
    out["startedAt"] = started.isoformat() if started else None
    out["check"] = msgspec.to_builtins(work.check) if work.check else None
    out["qualityCheck"] = {
        "pictogram": templates.QUALITY_CHECK.pictogram,
        "text": TEXTS[templates.QUALITY_CHECK.text_key],
    }
    out["labourMinutes"] = round(tasks.labour_minutes(work), 2)
    return out


async def queue(user: Principal, now: dt.datetime) -> list[dict[str, Any]]:
    """The open lists of the user's hub in batches by worker and template: the user's own first,
    then those nobody has, then the others' (to take over); each batch's steps step-major, so
    the same step comes in a row."""
    hub = desk_hub(user)
    rows = await (
        ReturnInspection.select()
        .where((ReturnInspection.hub == hub) & (ReturnInspection.status == OPEN))
        .order_by(ReturnInspection.id)
        .output(load_json=True)
    )
    me = user.user.username
    table_ends = (await settings_of(hub)).dispositions.ends
    with_list = [r for r in rows if r["task"]]
    owners = {r["task"].get("worker") for r in with_list}
    out = []
    for who in sorted(owners, key=lambda w: (0 if w == me else 1 if w is None else 2, w or "")):
        theirs = {r["item"]: r for r in with_list if r["task"].get("worker") == who}
        for b in templates.group(msgspec.convert(r["task"], templates.TaskList) for r in theirs.values()):
            out.append(
                {
                    "template": b.template,
                    "worker": who,
                    "mine": who == me,
                    "items": [work_view(theirs[int(t.item_id)], now, table_ends) for t in b.lists],
                    "order": [s.id for s in templates.work_order(b)],
                }
            )
    return out


async def one(item_id: int, user: Principal, now: dt.datetime) -> dict[str, Any]:
    return await view_of(await _row(item_id, user), now)


async def view_of(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return work_view(row, now, (await settings_of(row["hub"])).dispositions.ends)


async def _history(row: dict[str, Any], state: str, user: Principal, now: dt.datetime, detail: str) -> None:
    await ReturnEvent.insert(ReturnEvent(request=row["request"], at=now, state=state, by_user=user.id, detail=detail))


async def step_event(
    item_id: int, n: int, data: StepIn, event_id: str, user: Principal, now: dt.datetime
) -> dict[str, Any]:
    """Step ``n`` of the item's list moves by ``data.kind``; the core refuses what may not happen
    (a new "done" on a step already done, a step out of order, another worker's list)."""
    async with transaction():
        await write_guard("return_item", item_id)
        row = await _row(item_id, user)
        work = work_of(row)
        if work is None:
            raise Conflict(f"Item {item_id} needs no reconditioning; finish it.")
        by = user.user.username
        if work.task.worker is None and data.kind == "start":  # the first tap takes the list
            work = msgspec.structs.replace(work, task=msgspec.structs.replace(work.task, worker=by))
        event = tasks.Event(id=event_id, step_id=f"{item_id}/{n}", kind=data.kind, at=now, by=by, note=data.note)
        try:
            after = tasks.apply(work, event)
        except templates.TaskError as e:
            raise Conflict(str(e)) from None
        if after is not work or after.task != work.task:
            step = work.task.steps[n - 1]
            await ReturnInspection.update(
                {
                    ReturnInspection.task: msgspec.to_builtins(after.task),
                    ReturnInspection.events: msgspec.to_builtins(after.events),
                    ReturnInspection.worker: user.id if after.task.worker == by else row["worker"],
                }
            ).where(ReturnInspection.id == row["id"])
            detail = f"item {item_id} step {n} {step.kind.value}: {data.kind}" + (
                f" ({data.note})" if data.note else ""
            )
            await _history(row, "step", user, now, detail)
            if data.kind == "help":
                await _call_help(row, step, user, now, event_id)
            await emit_returns("return.step", {"itemId": item_id, "step": n, "kind": data.kind}, hub_id=row["hub"])
        row = await _row(item_id, user)
    return await view_of(row, now)


async def _call_help(row: dict[str, Any], step: templates.Step, user: Principal, now: dt.datetime, eid: str) -> None:
    """The dispatcher's desk sees the call live (an ``alert.raised`` on the hub stream)."""
    who = user.user.display_name or user.user.username
    detail = f"{who} needs help with step {step.n} ({step.kind.value}) of return item {row['item']} ({row['sku']})."
    data = {"itemId": row["item"], "step": step.n, "stepKind": step.kind.value, "worker": who, "sku": row["sku"]}
    await raise_alerts(row["hub"], now.date(), [Raised("returns_help", f"{step.id}:{eid}"[:160], detail, data)], now)


async def check(item_id: int, data: CheckIn, user: Principal, now: dt.datetime) -> dict[str, Any]:
    """The final quality check, once; a failed one needs a note and ends the list (inspect again)."""
    async with transaction():
        await write_guard("return_item", item_id)
        row = await _row(item_id, user)
        work = work_of(row)
        if work is None:
            raise Conflict(f"Item {item_id} has no task list to check; finish it.")
        try:
            after = tasks.final_check(work, data.passed, user.user.username, now, data.note)
        except templates.TaskError as e:
            raise Conflict(str(e)) from None
        if after is not work:
            status = "checked" if data.passed else "failed"
            await ReturnInspection.update(
                {ReturnInspection.checked: msgspec.to_builtins(after.check), ReturnInspection.status: status}
            ).where(ReturnInspection.id == row["id"])
            detail = f"item {item_id}: " + ("passed" if data.passed else f"failed: {data.note}")
            await _history(row, "checked", user, now, detail)
        row = await _row(item_id, user)
    return await view_of(row, now)


def _core_grading(
    row: dict[str, Any], ends: Mapping[Disposition, dispositions.End]
) -> tuple[grading.Grading, dispositions.Decision]:
    """The grade and disposition the inspection gave: a table changed since does not undo them;
    where the disposition ends is the hub's table's word now (the built-in one if it dropped it)."""
    by = str(row["by_user"])
    g = grading.Grading(
        item_id=str(row["item"]),
        suggested=Grade(row["suggested"]),
        grade=Grade(row["grade"]),
        findings=tuple(row["findings"]),
        inspector=by,
        at=row["at"],
        note=row["note"],
    )
    disposition = Disposition(row["disposition"])
    end = ends.get(disposition) or dispositions.ENDS[disposition]
    d = dispositions.Decision(
        item_id=str(row["item"]), grade=g.grade, disposition=disposition, end=end, by=by, at=row["at"]
    )
    return g, d


async def finish(item_id: int, data: FinishIn, user: Principal, now: dt.datetime) -> dict[str, Any]:
    """The item's end: into a bin as new or as its graded variant (a ``return`` movement, once),
    to the supplier or recycled; the history answers with it."""
    async with transaction():
        await write_guard("return_item", item_id)
        row = await _row(item_id, user)
        if row["status"] == "finished":
            raise Conflict(f"Item {item_id} has left the returns desk already ({row['ends_as']}); scan the next one.")
        hub = row["hub"]
        catalogue = await full_catalogue()
        product = catalogue.by_sku.get(row["sku"])
        if product is None:
            raise Invalid(f"{row['sku']} is not in the catalogue; add the product before stocking it.")
        place = None
        if data.bin:
            bins = await bins_of(hub)

            async def known(text: str) -> bool:
                return text.upper() in bins

            code = (await read_scan(data.bin, hub, known)).upper()
            if code not in bins:
                raise Invalid(f"Hub {hub} has no bin {data.bin!r}; scan a bin of this warehouse (e.g. A01-01-1).")
            place = Place("bin", code)
        g, d = _core_grading(row, (await settings_of(hub)).dispositions.ends)
        try:
            done = finishing.finish(
                grading=g,
                decision=d,
                product=product,
                work=work_of(row),
                place=place,
                movement_id=f"return:{item_id}",
                by=user.user.username,
                at=now,
                regrade=data.regrade,
            )
        except finishing.FinishInputError as e:
            raise Invalid(str(e)) from None
        except ValueError as e:
            raise Conflict(str(e)) from None
        if done.product is not None and done.product.sku not in catalogue.by_sku:
            await _add_variant(done.product, row["sku"])
        if done.movement is not None:
            await record(hub, await ledger_for(hub, [done.movement.sku]), [done.movement], user.id)
        await ReturnInspection.update(
            {
                ReturnInspection.status: "finished",
                ReturnInspection.ends_as: done.end,
                ReturnInspection.stocked_sku: done.product.sku if done.product else "",
                ReturnInspection.finished_at: now,
            }
        ).where(ReturnInspection.id == row["id"])
        last = done.history[-1]
        await _history(row, "finished", user, now, f"item {item_id}: {last.what} {last.detail}")
        await emit_returns("return.finished", {"itemId": item_id, "end": done.end}, hub_id=hub)
    return {
        "itemId": item_id,
        "end": done.end,
        "grade": done.grade.value,
        "sku": done.product.sku if done.product else None,
        "history": [msgspec.to_builtins(e) for e in done.history],
    }


async def _add_variant(p: CoreProduct, base_sku: str) -> None:
    """The graded variant into the catalogue (the core made it from its base), sold by the base's shop."""
    base = await Product.select(Product.shop).where(Product.sku == base_sku).first()
    await Product.insert(
        Product(
            sku=p.sku,
            name=p.name,
            gtins=list(p.barcodes),
            weight_g=p.weight_g,
            volume_ml=p.volume_ml,
            shop=base["shop"] if base else None,
            category=p.category,
            grade=p.grade,
            base_sku=p.base_sku,
        )
    )
