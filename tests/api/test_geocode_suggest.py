"""Address suggestions while a dispatcher types (GET /geocode/suggest): street prefix,
optional house number, best first, each label an address the order form accepts."""

from __future__ import annotations

from tests.api.helpers import admin, login, make_user, problem


async def _dispatcher(client) -> dict[str, str]:
    await make_user("desk", "dispatcher", hub_id=1)
    return await login(client, "desk")


async def test_a_street_prefix_offers_its_addresses_each_geocoding_back_to_its_place(client, geo) -> None:
    h = await _dispatcher(client)
    r = await client.get("/geocode/suggest", params={"q": "mannerheimint", "limit": 4}, headers=h)
    assert r.status_code == 200, r.text
    found = r.json()
    assert [s["label"] for s in found] == [
        "Mannerheimintie 1",
        "Mannerheimintie 2",
        "Mannerheimintie 3",
        "Mannerheimintie 3 B",
    ]
    for s in found:
        assert set(s) == {"label", "lat", "lon"}
        place = geo.geocoder.parse_and_lookup(s["label"])
        assert (place.lat, place.lon) == (s["lat"], s["lon"]), s


async def test_case_accents_and_a_house_number_narrow_it_down(client, geo) -> None:
    h = await _dispatcher(client)
    exact = (await client.get("/geocode/suggest", params={"q": "  BULEVARDI   16 "}, headers=h)).json()
    assert [s["label"] for s in exact] == ["Bulevardi 16", "Bulevardi 16b"]  # the number first, then 16b...
    ones = (await client.get("/geocode/suggest", params={"q": "mannerheimintie 1", "limit": 3}, headers=h)).json()
    assert [s["label"] for s in ones] == ["Mannerheimintie 1", "Mannerheimintie 10", "Mannerheimintie 12"]
    accented = (await client.get("/geocode/suggest", params={"q": "etelainen makasiini", "limit": 1}, headers=h)).json()
    assert [s["label"] for s in accented] == ["Eteläinen Makasiinikatu 1"]


async def test_several_streets_each_get_their_first_address_before_any_second(client) -> None:
    h = await _dispatcher(client)
    found = (await client.get("/geocode/suggest", params={"q": "Makasiini", "limit": 4}, headers=h)).json()
    assert [s["label"] for s in found] == [
        "Eteläinen Makasiinikatu 1",
        "Pohjoinen Makasiinikatu 2",
        "Eteläinen Makasiinikatu 3",
        "Pohjoinen Makasiinikatu 3-5",
    ]


async def test_short_unknown_and_too_long_queries(client) -> None:
    h = await _dispatcher(client)
    for q in ("", "m", " m "):
        r = await client.get("/geocode/suggest", params={"q": q}, headers=h)
        assert r.status_code == 200 and r.json() == [], q
    assert (await client.get("/geocode/suggest", params={"q": "xyzzy street 1"}, headers=h)).json() == []
    many = (await client.get("/geocode/suggest", params={"q": "ma", "limit": 10}, headers=h)).json()
    assert len(many) == 10
    default = (await client.get("/geocode/suggest", params={"q": "ma"}, headers=h)).json()
    assert len(default) == 5
    body = problem(await client.get("/geocode/suggest", params={"q": "m" * 101}, headers=h), 422)
    assert "at most 100" in body["detail"]
    r = await client.get("/geocode/suggest", params={"q": "m" * 100}, headers=h)
    assert r.status_code == 200
    assert (
        "1 to 10"
        in problem(await client.get("/geocode/suggest", params={"q": "ma", "limit": 11}, headers=h), 422)["detail"]
    )
    problem(await client.get("/geocode/suggest", params={"q": "ma", "limit": 0}, headers=h), 422)
    problem(await client.get("/geocode/suggest", params={"q": "ma", "limit": "many"}, headers=h), 400)
    problem(await client.get("/geocode/suggest", headers=h), 400)


async def test_only_dispatchers_and_admins_ask(client) -> None:
    problem(await client.get("/geocode/suggest", params={"q": "manner"}), 401)
    await make_user("rider", "courier", hub_id=1)
    problem(await client.get("/geocode/suggest", params={"q": "manner"}, headers=await login(client, "rider")), 403)
    r = await client.get("/geocode/suggest", params={"q": "manner"}, headers=await admin(client))
    assert r.status_code == 200 and r.json()
