"""The handover to an external carrier: per carrier and day, the manifest of the parcels
its driver takes (JSON, CSV, PDF with each parcel's Code 128) and the scan of each parcel
as it is handed over. No carrier's API is called: the handover is a file and a scan."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from backend.db.carrier_tables import CarrierOrder, HandoverScan
from backend.db.engine import transaction
from backend.db.tables import Order, Parcel
from backend.errors import Invalid
from backend.services.hub_scope import require_hub
from backend.services.parcel_label import barcode_of
from backend.services.scanner_settings import is_label, read_scan

CSV_COLUMNS = ("barcode", "reference", "customer", "address", "postcode", "country", "weightKg", "duties", "scanned")


async def manifest(hub_id: int, day: dt.date, carrier: str) -> dict[str, Any]:
    """The parcels of ``carrier`` at the hub on ``day``, scanned or not."""
    await require_hub(hub_id)
    orders = {
        r["order"]: r
        for r in await CarrierOrder.select().where(
            (CarrierOrder.hub == hub_id) & (CarrierOrder.plan_date == day) & (CarrierOrder.carrier == carrier)
        )
    }
    info = {r["id"]: r for r in await Order.select().where(Order.id.is_in(sorted(orders) or [-1]))}
    parcels = await Parcel.select().where(Parcel.order.is_in(sorted(orders) or [-1])).order_by(Parcel.id)
    scans = {
        r["parcel"]: r
        for r in await HandoverScan.select().where(HandoverScan.parcel.is_in([p["id"] for p in parcels] or [-1]))
    }
    rows = []
    for p in parcels:
        o, c = info[p["order"]], orders[p["order"]]
        scan = scans.get(p["id"])
        rows.append(
            {
                "parcelId": p["id"],
                "barcode": p["barcode"],
                "reference": o["reference"],
                "customer": o["customer_name"],
                "address": o["address"],
                "postcode": o["postcode"],
                "country": c["country"],
                "weightKg": p["weight_kg"],
                "volumeL": p["volume_l"],
                "duties": c["duties"] or None,
                "reason": c["reason"],
                "scannedAt": scan["at"].isoformat() if scan else None,
            }
        )
    return {
        "hubId": hub_id,
        "date": day.isoformat(),
        "carrier": carrier,
        "parcels": rows,
        "count": len(rows),
        "scanned": sum(1 for r in rows if r["scannedAt"]),
        "weightKg": round(sum(r["weightKg"] for r in rows), 3),
    }


def manifest_csv(m: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in m["parcels"]:
        w.writerow(
            (r["barcode"], r["reference"], r["customer"], r["address"], r["postcode"], r["country"],
             f"{r['weightKg']:.2f}", r["duties"] or "", "yes" if r["scannedAt"] else "")
        )  # fmt: skip
    return out.getvalue()


def manifest_pdf(m: dict[str, Any]) -> bytes:
    """An A4 manifest: a header, then one block a parcel with its Code 128 (the driver scans it)."""
    out = io.BytesIO()
    c = Canvas(out, pagesize=A4, pageCompression=0)
    c.setTitle(f"Handover {m['carrier']} {m['date']}")
    width, height = A4

    def header() -> float:
        c.setFont("Helvetica-Bold", 14)
        c.drawString(15 * mm, height - 18 * mm, f"Handover to {m['carrier']} - {m['date']} - hub {m['hubId']}")
        c.setFont("Helvetica", 10)
        c.drawString(15 * mm, height - 24 * mm, f"{m['count']} parcel(s), {m['weightKg']:.2f} kg")
        return height - 34 * mm

    y = header()
    for r in m["parcels"]:
        if y < 40 * mm:
            c.showPage()
            y = header()
        c.setFont("Helvetica-Bold", 10)
        c.drawString(15 * mm, y, f"{r['barcode']}  {r['reference']}  {r['weightKg']:.2f} kg")
        c.setFont("Helvetica", 9)
        duties = f"  duties {r['duties']}" if r["duties"] else ""
        where = f"{r['customer']}, {r['address']} {r['postcode']} {r['country']}".strip()
        c.drawString(15 * mm, y - 5 * mm, f"{where[:90]}{duties}")
        barcode_of(r["barcode"]).drawOn(c, 120 * mm, y - 22 * mm)
        y -= 30 * mm
    c.showPage()
    c.save()
    return out.getvalue()


async def scan(hub_id: int, carrier: str, code: str, user_id: int, now: dt.datetime) -> dict[str, Any]:
    """Scan a parcel into the carrier's hands; a second scan of it answers the first."""
    await require_hub(hub_id)
    code = await read_scan(code, hub_id, is_label)
    parcel = await Parcel.select(Parcel.id, Parcel.order, Parcel.barcode).where(Parcel.barcode == code).first()
    listed = None
    if parcel is not None:
        listed = (
            await CarrierOrder.select()
            .where((CarrierOrder.order == parcel["order"]) & (CarrierOrder.hub == hub_id))
            .first()
        )
    if parcel is None or listed is None or listed["carrier"] != carrier:
        other = f" It is on {listed['carrier']}'s list." if listed is not None else ""
        raise Invalid(f"Parcel {code} is not on {carrier}'s handover list at this hub; keep it at the hub.{other}")
    async with transaction():
        first = await HandoverScan.select().where(HandoverScan.parcel == parcel["id"]).first()
        if first is None:
            await HandoverScan.insert(
                HandoverScan(parcel=parcel["id"], hub=hub_id, carrier=carrier, by_user=user_id, at=now)
            )
            await Parcel.update({Parcel.status: "handed_over"}).where(Parcel.id == parcel["id"])
            at, again = now, False
        else:
            at, again = first["at"], True
    return {
        "parcelId": parcel["id"],
        "barcode": parcel["barcode"],
        "carrier": carrier,
        "date": listed["plan_date"].isoformat(),
        "duties": listed["duties"] or None,
        "scannedAt": at.isoformat(),
        "already": again,
    }
