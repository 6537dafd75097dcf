"""Inspecting a received return item at the hub (role ``returns``, own hub): the checklist of
its product's category, photos (decoded and size-checked before they are kept), the grade, the
disposition, and the refund computed by the core and recorded once per item
(``return_refund.item`` is unique: asked again, the same record). The task list follows from
the disposition (returns_tasks.py works it through). The checklist, the dispositions, the
deductions and the templates are the hub's own tables (returns_settings.py), read in the
inspection's transaction. Everything the core decides is the core's (backend/returns/); this
module holds the rows and the transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Annotated, Any

import msgspec

from backend.db.engine import transaction
from backend.db.locks import write_guard
from backend.db.tables import OrderLine, Product, ReturnEvent, ReturnInspection, ReturnItem, ReturnRefund
from backend.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from backend.returns import checklists, dispositions, grading, refunds, templates
from backend.returns.texts import TEXTS
from backend.returns.vocabulary import Disposition, Grade, Outcome, Reason
from backend.services.images import checked_image
from backend.services.returns_assign import assign_new
from backend.services.returns_events import emit_returns
from backend.services.returns_settings import settings_of
from backend.services.sessions import Principal
from backend.structs import Body

MAX_PHOTO_BYTES = checklists.PHOTO_LIMITS.max_bytes
PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")


class InspectIn(Body, kw_only=True):
    answers: Annotated[dict[str, bool], msgspec.Meta(max_length=40)]
    photo_ids: Annotated[list[str], msgspec.Meta(max_length=20)] = []
    grade: Grade | None = None  # None: the checklist's suggestion
    disposition: Disposition | None = None  # None: the table's default for the grade
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""


def desk_hub(user: Principal) -> int:
    """The hub whose returns the user works on; an account of no hub cannot use the desk."""
    hub = user.user.hub_id
    if hub is None:
        raise Invalid("Your account belongs to no hub; ask an administrator to set your hub.")
    return hub


def check_hub(user: Principal, hub: int) -> None:
    """The desk works on its own hub's returns only (an admin on any)."""
    if user.role != "admin" and user.user.hub_id != hub:
        raise Forbidden("This return item belongs to another hub; it is handled there.")


def _folder(var_dir: Path, hub_id: int) -> Path:
    return var_dir / "uploads" / "returns" / str(hub_id)  # a photo id is only found in its own hub


async def store_photo(hub_id: int, data: bytes, var_dir: Path) -> dict[str, Any]:
    """Keep an inspection photo once it decoded whole within the limits; too big or not an image: 422."""
    try:
        kind = await asyncio.to_thread(checked_image, data, MAX_PHOTO_BYTES)
    except TooLarge as e:
        raise Invalid(str(e), code="photo_too_large") from None
    name = secrets.token_hex(16)
    folder = _folder(var_dir, hub_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.{kind}").write_bytes(data)
    return {"photoId": name, "contentType": f"image/{kind}", "sizeBytes": len(data)}


def _photos(hub_id: int, ids: list[str], var_dir: Path) -> tuple[checklists.Photo, ...]:
    out = []
    for pid in ids:
        found = list(_folder(var_dir, hub_id).glob(f"{pid}.*")) if PHOTO_ID.match(pid) else []
        if not found:
            raise Invalid(
                f"Photo {pid[:40]} was not uploaded at this hub; upload it first (POST /returns-desk/photos)."
            )
        path = found[0]
        out.append(checklists.Photo(name=pid, content_type=f"image/{path.suffix[1:]}", size_bytes=path.stat().st_size))
    return tuple(out)


async def item_of(item_id: int, user: Principal) -> dict[str, Any]:
    """The return item with its request, product and order line; another hub's: 403."""
    row = await (
        ReturnItem.select(*ReturnItem.all_columns(), ReturnItem.request.hub, ReturnItem.request.outcome)
        .where(ReturnItem.id == item_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no return item {item_id}; scan the return again.")
    check_hub(user, row["request.hub"])
    product = await Product.select().where(Product.sku == row["sku"]).first()
    row["product"] = product
    row["category"] = product["category"] if product else checklists.GENERAL
    return row


def _texts(key: str) -> dict[str, str]:
    return TEXTS.get(key, {"en": key, "nl": key})


async def checklist_of(item_id: int, user: Principal) -> dict[str, Any]:
    """What the inspector answers for this item, with the grades and where each goes."""
    item = await item_of(item_id, user)
    tables = await settings_of(item["request.hub"])
    cl = checklists.checklist_for(item["category"], tables.checklists)
    return {
        "itemId": item_id,
        "sku": item["sku"],
        "category": item["category"],
        "status": item["status"],
        "questions": [
            {
                "id": q.id,
                "textKey": q.text_key,
                "text": dict(q.text) or _texts(q.text_key),
                "good": q.good,
                "photoIfBad": q.photo_if_bad,
            }
            for q in cl.questions
        ],
        "minPhotos": cl.min_photos,
        "maxPhotos": cl.max_photos,
        "grades": [
            {
                "grade": g.value,
                "dispositions": [d.value for d in tables.dispositions.allowed(g, item["category"])],
            }
            for g in grading.ORDER
        ],
    }


def refund_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "itemId": row["item"],
        "outcome": row["outcome"],
        "totalCents": row["total_cents"],
        "lines": row["lines"],
        "byUser": row["by_user"],
        "at": row["at"].isoformat(),
    }


async def _price(item: dict[str, Any]) -> int:
    if item["order_line"] is None:
        return 0  # an unexpected item was never paid for in this order
    line = await OrderLine.select(OrderLine.price_cents).where(OrderLine.id == item["order_line"]).first()
    return int(line["price_cents"]) if line else 0


class _Decided(msgspec.Struct, frozen=True, kw_only=True):
    """What the core made of one inspection, before any row is written."""

    photos: tuple[checklists.Photo, ...]
    found: tuple[str, ...]
    graded: grading.Grading
    decision: dispositions.Decision
    refund: refunds.Refund
    task: templates.TaskList | None


async def _decide(item: dict[str, Any], data: InspectIn, by: str, var_dir: Path, now: dt.datetime) -> _Decided:
    """The core's decisions with the hub's own tables (read in the caller's transaction)."""
    item_id, hub, cat = item["id"], item["request.hub"], item["category"]
    tables = await settings_of(hub)
    try:
        core = checklists.Inspection(
            item_id=str(item_id),
            category=cat,
            answers=data.answers,
            photos=_photos(hub, data.photo_ids, var_dir),
            inspector=by,
            note=data.note,
        )
        found = checklists.validate(core, checklists.checklist_for(cat, tables.checklists))
        graded = grading.decide(str(item_id), cat, found, data.grade, by, now, data.note, tables.grading)
        decision = dispositions.decide(
            str(item_id), graded.grade, cat, by, now, data.disposition, table=tables.dispositions
        )
        refund = refunds.compute(
            str(item_id),
            price_cents=await _price(item),
            reason=Reason(item["reason"]) if item["reason"] else Reason.OTHER,
            outcome=Outcome(item["request.outcome"]),
            grade=graded.grade,
            findings=found,
            fee_cents=item["fee_cents"],  # the unit's share of what the request agreed, not today's policy
            bonus_cents=item["bonus_cents"],
            table=tables.refunds,
        )
    except ValueError as e:  # the core's sentence
        raise Invalid(str(e)) from None
    task = templates.generate(str(item_id), item["sku"], cat, graded.grade, decision.disposition, tables.templates)
    return _Decided(photos=core.photos, found=found, graded=graded, decision=decision, refund=refund, task=task)


async def inspect(item_id: int, data: InspectIn, user: Principal, var_dir: Path, now: dt.datetime) -> dict[str, Any]:
    """Record the inspection once: findings, grade, disposition, the refund and the task list,
    decided with the hub's tables as they are in this transaction."""
    item = await item_of(item_id, user)
    hub = item["request.hub"]
    async with transaction():
        await write_guard("return_item", item_id)
        now_item = await ReturnItem.select(ReturnItem.status).where(ReturnItem.id == item_id).first()
        if now_item is None or now_item["status"] not in ("received", "unexpected"):
            raise Conflict(f"Item {item_id} has not been received; receive the parcel first.")
        if await ReturnInspection.exists().where(ReturnInspection.item == item_id):
            raise Conflict(f"Item {item_id} is inspected already; go on with its task list.")
        d = await _decide(item, data, user.user.username, var_dir, now)
        task, worker_id = d.task, None
        if task is not None:
            task, worker_id = await assign_new(hub, task, now)
        await ReturnInspection.insert(
            ReturnInspection(
                item=item_id,
                request=item["request"],
                hub=hub,
                sku=item["sku"],
                category=item["category"],
                answers=dict(data.answers),
                findings=list(d.found),
                photos=[msgspec.to_builtins(p) for p in d.photos],
                suggested=d.graded.suggested.value,
                grade=d.graded.grade.value,
                disposition=d.decision.disposition.value,
                note=data.note,
                by_user=user.id,
                at=now,
                task=msgspec.to_builtins(task) if task else {},
                worker=worker_id,
                status="tasks" if task else "checked",
            )
        )
        detail = (
            f"item {item_id} ({item['sku']}): grade {d.graded.grade.value} (suggested {d.graded.suggested.value}; "
            f"findings: {', '.join(d.found) or 'none'}), {d.decision.disposition.value}"
            + (f"; task list for {task.worker}" if task and task.worker else "")
        )
        await ReturnEvent.insert(
            ReturnEvent(request=item["request"], at=now, state="inspected", by_user=user.id, detail=detail)
        )
        record = await record_refund(item, d.refund, user, now)
        await emit_returns("return.inspected", {"itemId": item_id, "grade": d.graded.grade.value}, hub_id=hub)
    return {
        "itemId": item_id,
        "findings": list(d.found),
        "suggested": d.graded.suggested.value,
        "grade": d.graded.grade.value,
        "disposition": d.decision.disposition.value,
        "ends": d.decision.end,
        "refund": record,
        "steps": len(task.steps) if task else 0,
        "worker": task.worker if task else None,
    }


async def record_refund(
    item: dict[str, Any], refund: refunds.Refund, user: Principal, now: dt.datetime
) -> dict[str, Any]:
    """The item's refund recorded once (in the caller's transaction): the same again answers the
    first record; another amount is refused with the core's sentence."""
    rows = await ReturnRefund.select().where(ReturnRefund.item == item["id"]).output(load_json=True)
    ledger = refunds.RefundLedger()
    for r in rows:  # at most one: the item is unique
        before = refunds.Refund(
            item_id=str(item["id"]),
            outcome=Outcome(r["outcome"]),
            lines=tuple(msgspec.convert(r["lines"], list[refunds.Line])),
            total_cents=r["total_cents"],
        )
        ledger.records[before.item_id] = refunds.RefundRecord(
            id=f"refund:{item['id']}", refund=before, by=str(r["by_user"]), at=r["at"]
        )
    try:
        ledger.record(refund, user.user.username, now)
    except refunds.RefundError as e:
        raise Conflict(str(e)) from None
    if not rows:
        await ReturnRefund.insert(
            ReturnRefund(
                item=item["id"],
                request=item["request"],
                hub=item["request.hub"],
                outcome=refund.outcome.value,
                total_cents=refund.total_cents,
                lines=[msgspec.to_builtins(line) for line in refund.lines],
                by_user=user.id,
                at=now,
            )
        )
        detail = f"item {item['id']}: {refunds.euro(refund.total_cents)} ({refund.outcome.value})"
        await ReturnEvent.insert(
            ReturnEvent(request=item["request"], at=now, state="refund", by_user=user.id, detail=detail)
        )
    row = await ReturnRefund.select().where(ReturnRefund.item == item["id"]).output(load_json=True).first()
    assert row is not None
    return refund_view(row)


async def refund_of(item_id: int, user: Principal) -> dict[str, Any]:
    """The item's refund as recorded: asking again never pays twice, it answers the same record."""
    item = await item_of(item_id, user)
    row = await ReturnRefund.select().where(ReturnRefund.item == item["id"]).output(load_json=True).first()
    if row is None:
        raise Conflict(f"Item {item_id} is not inspected yet; its refund follows from the inspection.")
    return refund_view(row)
