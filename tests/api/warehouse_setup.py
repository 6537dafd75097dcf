"""A tiny warehouse for the API tests: one hub, two aisles of bins, a few products,
orders with lines, a dispatcher and pickers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from backend.db.tables import Hub, Order, OrderLine, Shop, Stop
from backend.db.tables import Product as ProductRow
from backend.services.warehouse_stock import add_bins, add_products
from backend.warehouse.barcodes import with_check_digit
from backend.warehouse.products import Product
from tests.api.helpers import login, make_user

SODA = Product(sku="SODA", name="Soda 33 cl", barcodes=(with_check_digit("871234500001"),), weight_g=350, volume_ml=400)
CHIPS = Product(sku="CHIPS", name="Chips", barcodes=(with_check_digit("871234500002"),), weight_g=150, volume_ml=2000)
SOAP = Product(sku="SOAP", name="Soap", barcodes=(with_check_digit("871234500003"),), weight_g=200, volume_ml=300)
VASE = Product(sku="VASE", name="Vase", barcodes=(with_check_digit("871234500004"),), weight_g=900, volume_ml=3000)
UNKNOWN_GTIN = with_check_digit("871234599999")  # a valid barcode of no product we stock


def gtin(p: Product) -> str:
    return p.barcodes[0]


def bad_check_digit(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


@dataclasses.dataclass
class House:
    hub: int
    day: dt.date
    dispatcher: dict[str, str]
    pickers: list[dict[str, str]]
    shop: int
    orders: list[int] = dataclasses.field(default_factory=list)


def now_of(client) -> dt.datetime:
    now: dt.datetime = client.app.state.context.now()
    return now


async def house(client, pickers: int = 2) -> House:
    day = now_of(client).date()
    hub = (await Hub.insert(Hub(name=f"Hub {uuid.uuid4().hex[:6]}", lat=60.17, lon=24.94)))[0]["id"]
    shop = (await Shop.insert(Shop(name="Vase shop", address="Shop street 1", lat=60.171, lon=24.941, hub=hub)))[0][
        "id"
    ]
    await add_bins(hub, aisles=2, bays=5, levels=1)
    if not await ProductRow.exists().where(ProductRow.sku == "SODA"):  # one catalogue for every hub
        await add_products([SODA, CHIPS, SOAP, VASE], shops={"VASE": shop})
    await make_user(f"boss{hub}", "dispatcher", hub)
    names = [f"picker{hub}-{i}" for i in range(1, pickers + 1)]
    for name in names:
        await make_user(name, "picker", hub)
    return House(
        hub=hub,
        day=day,
        dispatcher=await login(client, f"boss{hub}"),
        pickers=[await login(client, n) for n in names],
        shop=shop,
    )


async def order(h: House, lines: list[tuple[str, int]], slot: str = "evening") -> int:
    """An evening order of the house's hub with a delivery stop at an address, and its lines."""
    n = len(h.orders) + 1
    address = f"Fixture street {n}, 00100 Helsinki"  # the label prints it a part per line
    start = dt.datetime.combine(h.day, dt.time(18))
    end = dt.datetime.combine(h.day, dt.time(22))
    oid = (
        await Order.insert(
            Order(
                reference=f"W-{h.hub}-{n}",
                hub=h.hub,
                customer_name=f"Customer {n}",
                address=address,
                lat=60.18,
                lon=24.95,
                delivery_date=h.day,
                window_start=start,
                window_end=end,
                slot=slot,
            )
        )
    )[0]["id"]
    await Stop.insert(
        Stop(
            order=oid,
            hub=h.hub,
            kind="delivery",
            address=address,
            lat=60.18,
            lon=24.95,
            plan_date=h.day,
            window_start=start,
            window_end=end,
        )
    )
    await OrderLine.insert(*(OrderLine(order=oid, sku=sku, quantity=q) for sku, q in lines))
    h.orders.append(oid)
    return oid


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def stock_in(client, h: House, sku: str, qty: int, bin_code: str | None = None, shop: int | None = None) -> None:
    body: dict[str, Any] = {"kind": "receipt", "sku": sku, "quantity": qty}
    if bin_code:
        body["bin"] = bin_code
    if shop:
        body["shopId"] = shop
    r = await client.post(f"/hubs/{h.hub}/stock/movements", json=body, headers={**h.dispatcher, **key()})
    assert r.status_code == 201, r.text


async def stock(client, h: House) -> dict[tuple[str, str], int]:
    r = await client.get(f"/hubs/{h.hub}/stock", headers=h.dispatcher)
    assert r.status_code == 200, r.text
    where = {"bin": lambda s: s["bin"], "shop": lambda s: f"shop {s['shopId']}", "dock": lambda s: "dock"}
    return {(where[s["place"]](s), s["sku"]): s["quantity"] for s in r.json()}


async def release(client, h: House, **extra: Any) -> dict[str, Any]:
    body = {"date": h.day.isoformat(), "cutoff": "15:00", **extra}
    r = await client.post(f"/hubs/{h.hub}/waves/release", json=body, headers={**h.dispatcher, **key()})
    assert r.status_code == 201, r.text
    return r.json()


async def take(client, who: dict[str, str], batch: int) -> dict[str, Any]:
    r = await client.post(f"/pick/batches/{batch}/take", json={}, headers={**who, **key()})
    assert r.status_code == 200, r.text
    return r.json()


async def batch(client, who: dict[str, str], batch_id: int) -> dict[str, Any]:
    r = await client.get(f"/pick/batches/{batch_id}", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


async def scan(client, who: dict[str, str], batch_id: int, code: str, quantity: int = 1, scan_id: str | None = None):
    body = {"scanId": scan_id or uuid.uuid4().hex, "code": code, "quantity": quantity}
    return await client.post(f"/pick/batches/{batch_id}/scans", json=body, headers=who)


async def ok(r) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["ok"], body
    return body


async def bind_totes(client, who: dict[str, str], batch_id: int, first: int) -> list[str]:
    view = await batch(client, who, batch_id)
    codes = []
    for i, _ in enumerate(view["cart"]):
        code = f"T-{first + i:04d}"
        r = await client.post(
            f"/pick/batches/{batch_id}/totes", json={"scanId": uuid.uuid4().hex, "code": code}, headers=who
        )
        await ok(r)
        codes.append(code)
    return codes


async def pick_through(client, who: dict[str, str], batch_id: int, gtins: dict[str, str]) -> dict[str, Any]:
    """Work the batch's lines as the handheld says: bin, product (all at once), tote. A pick
    the ledger finds no stock for (``bin_empty``: it became a short pick) goes on too."""
    view = await batch(client, who, batch_id)
    for _ in range(100):
        if view["phase"] == "done":
            return view
        cur = view["current"]
        if view["phase"] == "bin":
            body = await ok(await scan(client, who, batch_id, cur["bin"]))
        elif view["phase"] == "product":
            left = cur["target"] - cur["picked"] - view["inHand"]
            r = await scan(client, who, batch_id, gtins[cur["sku"]], quantity=left)
            body = r.json() if r.status_code == 200 and r.json()["code"] == "bin_empty" else await ok(r)
        else:
            r = await scan(client, who, batch_id, cur["toteCode"])
            body = r.json() if r.status_code == 200 and r.json()["code"] == "bin_empty" else await ok(r)
        assert body["batch"]["phase"] is not None
        view = await batch(client, who, batch_id)
    raise AssertionError("the batch did not end")


GTINS = {p.sku: gtin(p) for p in (SODA, CHIPS, SOAP, VASE)}
SHELVES = (("SODA", 10, "A01-02-1"), ("CHIPS", 10, "A02-03-1"), ("VASE", 5, "A01-04-1"))


async def picked(client, h: House, *orders: list[tuple[str, int]], mode: str = "") -> tuple[int, list[int]]:
    """The packing and sorting tests' start: SHELVES stocked, ``orders`` placed, released in one
    batch (``mode``: the hub's way of picking unless given) and picked through by the house's
    first picker (pick and pack: totes bound first). Answers (the batch, the orders' ids)."""
    for sku, qty, bin_code in SHELVES:
        await stock_in(client, h, sku, qty, bin_code)
    ids = [await order(h, lines) for lines in orders]
    (batch_id,) = (await release(client, h, **({"mode": mode} if mode else {})))["released"][0]["batchIds"]
    await take(client, h.pickers[0], batch_id)
    if mode != "pick_then_sort":
        await bind_totes(client, h.pickers[0], batch_id, h.hub * 10)
    assert (await pick_through(client, h.pickers[0], batch_id, GTINS))["status"] == "done"
    return batch_id, ids


async def post(client, who: dict[str, str], path: str, body: dict[str, Any], idem: dict[str, str] | None = None):
    """A POST with a fresh Idempotency-Key, or ``idem``'s."""
    return await client.post(path, json=body, headers={**who, **(idem or key())})


async def answered(r) -> dict[str, Any]:
    """The body of a 200."""
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def scan_item(client, who, path: str, code: str, scan_id: str | None = None, idem: dict[str, str] | None = None):
    """An item scanned at a packing or sorting station (``path``: its items endpoint)."""
    return await post(client, who, path, {"scanId": scan_id or uuid.uuid4().hex, "code": code}, idem)
