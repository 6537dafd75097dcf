"""Copies of PyVRP clients and shipments with some fields changed (PyVRP's have no ``replace``)."""

from __future__ import annotations

from typing import Any

__all__ = ["client", "shipment"]


def client(c: Any, **changes: Any) -> Any:
    """PyVRP client ``c`` with ``changes`` (``location``, ``delivery``, ``pickup``...)."""
    import pyvrp

    fields = {
        "location": c.location,
        "delivery": list(c.delivery),
        "pickup": list(c.pickup),
        "service_duration": c.service_duration,
        "tw_early": c.tw_early,
        "tw_late": c.tw_late,
        "release_time": c.release_time,
        "prize": c.prize,
        "required": c.required,
        "group": c.group,
        "name": c.name,
    }
    return pyvrp.Client(**{**fields, **changes})


def shipment(sh: Any, **changes: Any) -> Any:
    """PyVRP shipment ``sh`` with ``changes`` (``delivery_location``, ``amount``...)."""
    import pyvrp

    p, d = sh.pickup, sh.delivery
    fields = {
        "pickup_location": p.location,
        "delivery_location": d.location,
        "pickup_tw_early": p.tw_early,
        "pickup_tw_late": p.tw_late,
        "pickup_service_duration": p.service_duration,
        "delivery_tw_early": d.tw_early,
        "delivery_tw_late": d.tw_late,
        "delivery_service_duration": d.service_duration,
        "amount": list(sh.amount),
        "prize": sh.prize,
        "required": sh.required,
        "name": sh.name,
    }
    return pyvrp.Shipment(**{**fields, **changes})
