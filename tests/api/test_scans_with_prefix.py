"""Every scan endpoint reads a code sent with the hub's scanner prefix and suffix (the
warehouse's are in test_scanner_settings.py): the pickup point's scan-in, hand-out,
send-back and returns, the returns desk's receiving scan, received items and bin, the
carrier's handover and the locker drop. A code that itself begins with the prefix, which
the apps' kit took off once already, still reads as sent."""

from __future__ import annotations

import uuid

import time_machine

from backend.security import pickup_code
from backend.services.warehouse_stock import add_bins
from tests.api.helpers import login, make_user, post_ok, problem
from tests.api.test_handover import _hub as carrier_hub
from tests.api.test_handover import _order as carrier_order
from tests.api.test_lockers import _bank, at, drop_body
from tests.api.test_point import SECRET, _desk, _hand, _scan, key
from tests.api.test_point_returns import _return
from tests.api.test_returns_desk import inspect_b, work_through
from tests.api.test_returns_portal import _body, delivered_order


async def _wedge(client, admin: dict, hub: int, prefix: str, suffix: str = "") -> None:
    r = await client.put(f"/hubs/{hub}/scanner", json={"prefix": prefix, "suffix": suffix}, headers=admin)
    assert r.status_code == 200, r.text


async def test_the_points_scans_read_the_hubs_prefix_and_suffix(client, geo) -> None:
    d = await _desk(client, geo)
    await _wedge(client, d["h"], d["hub"], "$", "*")
    r = await _scan(client, d["a"], "$PA-1*\r")
    assert r.status_code == 200 and r.json()["result"] == "scanned_in", r.text
    assert r.json()["parcel"]["barcode"] == "PA-1"
    r = await _hand(client, d["a"], "$PA-1*", pickup_code(SECRET, d["orders"]["A1"]))
    assert r.status_code == 200 and r.json()["barcode"] == "PA-1", r.text
    assert (await _scan(client, d["a"], "$PA-2*")).status_code == 200
    early = problem(await client.post("/point/send-back", json={"barcode": "$PA-2*"}, headers={**d["a"], **key()}), 409)
    assert "PA-2 may still be collected" in early["detail"]  # found: only too early
    await _return(d, "A1", "R-AAAA1111")
    shown = await client.get("/point/returns/$r-aaaa1111*", headers=d["a"])
    assert shown.status_code == 200 and shown.json()["code"] == "R-AAAA1111", shown.text
    r = await client.post("/point/returns/hand-in", json={"code": "$R-AAAA1111*"}, headers={**d["a"], **key()})
    assert r.status_code == 200 and r.json()["return"]["status"] == "at_point", r.text
    # A prefix the labels begin with: the kit sends "PA-3" for "PPA-3"; a raw scan reads too.
    await _wedge(client, d["h"], d["hub"], "P")
    assert (await _scan(client, d["a"], "PA-3")).json()["result"] == "scanned_in"
    assert (await _scan(client, d["a"], "PPA-3")).json()["result"] == "already_in"
    unknown = problem(await _scan(client, d["a"], "PNOBODY-42"), 409)
    assert "Parcel NOBODY-42 is not announced" in unknown["detail"]


async def test_the_returns_desk_reads_the_return_the_items_and_the_bin_with_the_hubs_wedge(client) -> None:
    order, lines = await delivered_order(client)
    made = (await client.post("/portal/returns/", json=_body(order, lines["jas"]), headers=key())).json()
    await make_user("root", "admin")
    await _wedge(client, await login(client, "root"), order["hub"], "$", "*")
    await make_user("wedgedesk", "returns", order["hub"])
    desk = await login(client, "wedgedesk")
    found = await client.get(f"/receiving/returns/scan/${made['code']}*", headers=desk)
    assert found.status_code == 200 and found.json()["id"] == made["id"], found.text
    url = f"/receiving/returns/{made['id']}/receive"
    r = await client.post(url, json={"items": [{"code": "$JAS-42*"}]}, headers={**desk, **key()})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]  # the jacket received, not an unexpected "$JAS-42*"
    assert (item["sku"], item["status"]) == ("JAS-42", "received"), r.json()
    await add_bins(order["hub"], aisles=1, bays=1, levels=1)
    await inspect_b(client, desk, item["id"])
    await work_through(client, desk, item["id"])
    r = await client.post(
        f"/returns-desk/items/{item['id']}/finish", json={"bin": "$A01-01-1*"}, headers={**desk, **key()}
    )
    assert r.status_code == 200 and r.json()["end"] == "stock_graded", r.text


async def test_the_carriers_handover_scan_reads_the_hubs_wedge(client, geo) -> None:
    h, hub, a = await carrier_hub(client, geo)
    assert (await client.put(f"/hubs/{hub}/carrier-rules", json={}, headers=h)).status_code == 200
    await post_ok(client, "/orders", carrier_order(hub, a, 3, 180), h)  # no bike carries it: the carrier's
    await _wedge(client, h, hub, "$", "*")
    body = {"carrier": "postnl", "code": "$PCL-3*"}
    r = await client.post(f"/hubs/{hub}/handover/scan", json=body, headers={**h, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["barcode"] == "PCL-3", r.text


async def test_the_locker_drop_scan_reads_the_hubs_wedge(client, geo) -> None:
    b = await _bank(client, geo)
    url = f"/lockers/{b['point']}"
    with time_machine.travel(at("09:45"), tick=True):
        body = {**drop_body("P-1", b["a"], "P-1-A"), "shopId": b["shop"]}
        assert (await client.post(f"{url}/drops", json=body, headers={**b["terminal"], **key()})).status_code == 201
        await _wedge(client, b["disp"], b["hub"], "$", "*")
        scan = await client.post(f"{url}/drops/scan", json={"barcode": "$P-1-A*"}, headers={**b["terminal"], **key()})
        assert scan.status_code == 200 and scan.json()["result"] == "filled", scan.text
