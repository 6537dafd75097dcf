"""One stop as the dispatcher's desk shows it: the stop with its live ETA and
courier, its order, its parcels, its history (oldest first, with who) and the
proof of delivery (name, photo, signature, when and where).

The caller has checked the stop's hub against the dispatcher's
(:func:`backend.services.hub_scope.hub_of_stop`); proofs are shown to those
dispatchers (and admins) only, and their images are loaded through
``GET /photos/{photoId}`` (:func:`backend.services.photos.photo_for`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.db.engine import reading
from backend.db.tables import Order, Parcel, Route, Stop, StopEvent
from backend.errors import NotFound


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def photo_url(photo_id: str | None) -> str | None:
    """Where the desk loads a proof image (same origin, the dispatcher's session)."""
    return f"/photos/{photo_id}" if photo_id else None


async def stop_detail(stop_id: int) -> dict[str, Any]:
    """The stop's detail; NotFound when there is no such stop."""
    async with reading():
        stop = (
            await Stop.select(*Stop.all_columns(), Stop.shop.name)
            .where(Stop.id == stop_id)
            .output(load_json=True)
            .first()
        )
        if stop is None:
            raise NotFound(f"There is no stop with id {stop_id}.")
        order = await Order.select().where(Order.id == stop["order"]).first()
        parcels = await Parcel.select().where(Parcel.order == stop["order"]).order_by(Parcel.id)
        routes = (
            await Route.select(Route.id, Route.courier, Route.version, Route.stops)
            .where((Route.hub == stop["hub"]) & (Route.plan_date == stop["plan_date"]) & Route.current.eq(True))
            .output(load_json=True)
        )
        history = await (
            StopEvent.select(
                StopEvent.at,
                StopEvent.state,
                StopEvent.detail,
                StopEvent.by_user,
                StopEvent.by_user.display_name,
                StopEvent.by_user.username,
                StopEvent.by_user.role,
            )
            .where(StopEvent.stop == stop_id)
            .order_by(StopEvent.at, StopEvent.id)
        )
    assert order is not None  # a stop's order is deleted with it (cascade)
    if stop["kind"] == "pickup":
        parcels = [p for p in parcels if p["shop"] == stop["shop"]]
    return {
        "stop": _stop(stop, routes),
        "order": {
            "id": order["id"],
            "reference": order["reference"],
            "customerName": order["customer_name"],
            "address": order["address"],
            "status": order["status"],
            "windowStart": order["window_start"].isoformat(),
            "windowEnd": order["window_end"].isoformat(),
        },
        "parcels": [
            {
                "id": p["id"],
                "barcode": p["barcode"],
                "weightKg": p["weight_kg"],
                "volumeL": p["volume_l"],
                "status": p["status"],
                "shopId": p["shop"],
            }
            for p in parcels
        ],
        "history": [_event(e) for e in history],
        "proof": _proof(stop),
    }


def _stop(row: dict[str, Any], routes: list[dict[str, Any]]) -> dict[str, Any]:
    """The stop's own fields, with its place on the route in force (if any)."""
    route: dict[str, Any] | None = None
    planned: dict[str, Any] = {}
    for r in routes:
        planned = next((s for s in r["stops"] if s["stop_id"] == row["id"]), {})
        if planned:
            route = r
            break
    return {
        "stopId": row["id"],
        "orderId": row["order"],
        "hubId": row["hub"],
        "date": row["plan_date"].isoformat(),
        "kind": row["kind"],
        "status": row["status"],
        "address": row["address"],
        "lat": row["lat"],
        "lon": row["lon"],
        "shopId": row["shop"],
        "shopName": row["shop.name"],
        "pickupPointId": row["pickup_point"],
        "windowStart": row["window_start"].isoformat(),
        "windowEnd": row["window_end"].isoformat(),
        "serviceS": row["service_s"],
        "weightKg": row["weight_kg"],
        "volumeL": row["volume_l"],
        "courierId": route["courier"] if route else None,
        "routeId": route["id"] if route else None,
        "routeVersion": route["version"] if route else None,
        "eta": planned.get("eta"),
        "plannedEta": planned.get("planned_eta"),
        "plannedServiceStart": planned.get("planned_service_start"),
        "serviceStart": planned.get("service_start"),
        "departure": planned.get("departure"),
        "late": bool(planned.get("late", False)),
        "arrivedAt": _iso(row["arrived_at"]),
        "completedAt": _iso(row["completed_at"]),
        "failReason": row["fail_reason"] or None,
        "failNote": row["fail_note"] or None,
    }


def _event(e: dict[str, Any]) -> dict[str, Any]:
    by = None
    if e["by_user"] is not None:
        by = {
            "id": e["by_user"],
            "name": e["by_user.display_name"] or e["by_user.username"],
            "role": e["by_user.role"],
        }
    return {"at": e["at"].isoformat(), "state": e["state"], "by": by, "detail": e["detail"]}


def _proof(row: dict[str, Any]) -> dict[str, Any] | None:
    """The proof of a delivered stop: who took it, the photo or signature to load, when and where."""
    proof = row["proof"] or {}
    if row["status"] != "delivered" or not proof:
        return None
    kind = proof.get("kind")
    return {
        "kind": kind,
        "name": proof.get("recipientName") or None,
        "photoUrl": photo_url(proof.get("photoId")) if kind == "photo" else None,
        "signature": photo_url(proof.get("photoId")) if kind == "signature" else None,
        "at": _iso(row["completed_at"]),
        "lat": proof.get("lat"),
        "lon": proof.get("lon"),
    }
