"""Bad input of every kind gets a 4xx with a sentence, and writes nothing:
the four inputs that used to be 500s, bodies of the wrong type or shape,
oversized text, impossible dates and images that are not what they say."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from PIL import Image

from backend.db.tables import Bike, Courier, Order, Photo
from tests.api.helpers import admin, login, make_user, post_ok, problem, tomorrow
from tests.api.test_orders import _addresses, _order, _setup

BIG = 2**31  # one past the largest id (ids are 32-bit SERIALs on PostgreSQL)
BIKE = {"name": "Bakfiets 1", "payloadKg": 100, "volumeL": 300, "batteryRangeKm": 60}


async def test_a_duplicate_bike_name_is_a_conflict_on_create_and_change(client) -> None:
    h = await admin(client)
    await post_ok(client, "/bikes", BIKE, h)
    other = await post_ok(client, "/bikes", {**BIKE, "name": "Bakfiets 2"}, h)
    assert "Bakfiets 1" in problem(await client.post("/bikes", json=BIKE, headers=h), 409)["detail"]
    problem(await client.patch(f"/bikes/{other['id']}", json={"name": "Bakfiets 1"}, headers=h), 409)
    assert (await client.patch(f"/bikes/{other['id']}", json={"name": "Bakfiets 2"}, headers=h)).status_code == 200
    assert await Bike.count() == 2


async def test_an_id_past_the_largest_is_a_400_on_every_kind_of_route(client) -> None:
    h = await admin(client)
    for path in ("/bikes/{n}", "/hubs/{n}", "/orders/{n}", "/routes/{n}", "/shifts/{n}"):
        body = problem(await client.get(path.format(n=BIG), headers=h), 400)
        assert str(BIG - 1) in body["detail"], path  # says the largest id there can be


async def test_ids_past_the_largest_in_queries_and_bodies_are_400s(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    problem(await client.get(f"/orders?hubId={BIG}&date={tomorrow()}", headers=h), 400)
    problem(await client.put("/couriers/1/pinned-order", json={"stopIds": [BIG]}, headers=h), 400)
    problem(await client.post("/orders", json=_order(BIG, "X-1", _addresses(geo)[20]), headers=h), 400)
    assert await Order.count() == 0


@pytest.mark.parametrize("authenticated", [False, True])
async def test_json_nested_a_thousand_deep_is_a_400_without_a_traceback(client, caplog, authenticated) -> None:
    h = await admin(client) if authenticated else {}
    deep = b'{"a": ' * 1000 + b"1" + b"}" * 1000
    path = "/orders" if authenticated else "/auth/login"
    body = problem(await client.post(path, content=deep, headers={**h, "content-type": "application/json"}), 400)
    assert "nested" in body["detail"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_json_endpoints_refuse_other_content_types(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    raw = __import__("json").dumps(_order(hub, "CT-1", _addresses(geo)[20])).encode()
    for content_type in ("text/plain", "application/xml", "application/x-www-form-urlencoded", None):
        headers = {**h, **({"content-type": content_type} if content_type else {})}
        body = problem(await client.post("/orders", content=raw, headers=headers), 415)
        assert "application/json" in body["detail"], content_type
    assert await Order.count() == 0


async def _courier(client) -> dict[str, str]:
    uid = await make_user("rider", "courier")
    await Courier.insert(Courier(name="Rider", user=uid))
    return await login(client, "rider")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_a_multipart_body_without_a_file_part_is_a_400(client) -> None:
    h = await _courier(client)
    body = problem(
        await client.post("/courier/photos", files={"file": (None, "just text")}, headers={**h, **_key()}), 400
    )
    assert "file" in body["detail"]
    a = await admin(client)
    problem(await client.post("/orders/import", files={"note": (None, "no file here")}, headers=a), 400)
    problem(await client.post("/orders/import", json={"file": "x"}, headers=a), 415)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _bomb() -> bytes:
    """A ~40 kB PNG that inflates to 40 MB: 3,650 × 3,650 black pixels."""
    side = 3650
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (3 * side)
    data = b"".join(raw.compress(row) for _ in range(side)) + raw.flush()
    return _png(side, side, data)


def _real(kind: str, size: tuple[int, int] = (32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "white").save(out, kind)
    return out.getvalue()


BAD_IMAGES = [
    ("declares 100000x100000 px", _png(100_000, 100_000, zlib.compress(b"\x00" * 1000)), 413),
    ("inflates to 40 MB", _bomb(), 413),
    ("a PNG signature only", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 422),
    ("a cut-off JPEG", _real("JPEG", (400, 300))[:600], 422),
]


async def test_images_are_decoded_safely_before_they_are_stored(client) -> None:
    h = await _courier(client)
    for name, data, status in BAD_IMAGES:
        r = await client.post("/courier/photos", files={"file": ("p.png", data, "image/png")}, headers={**h, **_key()})
        assert problem(r, status)["detail"], name
    assert await Photo.count() == 0


async def test_real_images_are_stored_and_an_oversized_file_is_a_413(client) -> None:
    h = await _courier(client)
    for kind in ("PNG", "JPEG", "WEBP"):
        r = await client.post("/courier/photos", files={"file": ("p", _real(kind), "image/x")}, headers={**h, **_key()})
        assert r.status_code == 201, (kind, r.text)
    big = b"\xff\xd8\xff" + b"0" * 5_100_000
    problem(
        await client.post("/courier/photos", files={"file": ("x.jpg", big, "image/jpeg")}, headers={**h, **_key()}), 413
    )
    assert await Photo.count() == 3


async def test_oversized_text_and_impossible_dates_are_refused(client, geo) -> None:
    h, hub, _ = await _setup(client, geo)
    for field, value, words in (
        ("notes", "x" * 1_000_000, "notes"),
        ("customerEmail", "a" * 200_000 + "@example.com", "customerEmail"),
        ("customerPhone", "0" * 200_000, "customerPhone"),
        ("address", "Fredrikinkatu " * 50_000, "address"),
        ("date", "9999-01-01", "out of range"),
        ("date", "1900-01-01", "out of range"),
    ):
        # Out of shape (too long) is a 400; a day the document allows but the service does not is a 422.
        status = 422 if field == "date" else 400
        body = problem(
            await client.post("/orders", json={**_order(hub, "T-1", _addresses(geo)[20]), field: value}, headers=h),
            status,
        )
        assert words in body["detail"], field
    assert await Order.count() == 0


async def test_impossible_days_in_queries_are_refused(client) -> None:
    courier, desk = await _courier(client), await admin(client)
    for path, h in (
        ("/courier/today?date=9999-12-31", courier),
        ("/orders?hubId=1&date=1900-01-01", desk),
        ("/routes?hubId=1&date=9999-01-01", desk),
    ):
        assert "out of range" in problem(await client.get(path, headers=h), 422)["detail"], path


async def test_opening_hours_are_bounded(client) -> None:
    h = await admin(client)
    place = {
        "name": "Hub",
        "lat": 60.1699,
        "lon": 24.9384,
        "openingHours": [{"days": ["mo"] * 100_000, "opens": "08:00", "closes": "18:00"}],
    }
    problem(await client.post("/hubs", json=place, headers=h), 400)
