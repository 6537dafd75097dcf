"""Details of the contract the live Schemathesis run (tests/live/test_api_contract.py)
relies on, each checked fast and on its own."""

from __future__ import annotations

from tests.api.helpers import admin, make_user, problem


async def test_a_number_is_not_a_boolean_in_a_json_body(client) -> None:
    headers = await admin(client)
    user_id = await make_user("somebody", "dispatcher")
    r = await client.patch(f"/users/{user_id}", json={"active": 0}, headers=headers)
    body = problem(r, 400)
    assert "bool" in body["detail"]


async def test_405_names_the_allowed_methods_in_words_and_header(client) -> None:
    r = await client.put("/health")
    body = problem(r, 405)
    assert r.headers["allow"] == "GET, OPTIONS"
    assert body["detail"] == "PUT is not allowed on /health; use GET or OPTIONS."


async def test_malformed_json_gets_a_sentence_not_litestar_wording(client) -> None:
    r = await client.post("/auth/login", content=b"{bad", headers={"content-type": "application/json"})
    body = problem(r, 400)
    assert body["title"] == "Invalid request" and "not valid JSON" in body["detail"]


async def test_options_lists_every_method_of_a_path_served_by_two_handlers(client) -> None:
    r = await client.options("/bikes")
    assert r.headers["allow"] == "GET, OPTIONS, POST"
    r = await client.options("/bikes/1")
    assert r.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"


async def test_query_errors_name_the_parameter_as_the_api_spells_it(client) -> None:
    headers = await admin(client)
    r = await client.get("/orders", params={"hubId": "x", "date": "2026-12-01"}, headers=headers)
    body = problem(r, 400)
    assert "hubId" in body["detail"] and "hub_id" not in body["detail"], body


async def test_the_document_declares_errors_security_and_what_is_sent(client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    fail = doc["paths"]["/courier/stops/{stop_id}/fail"]["post"]
    assert "200" in fail["responses"] and "201" not in fail["responses"]
    for status in ("400", "401", "403", "404", "409", "422"):
        assert "application/problem+json" in fail["responses"][status]["content"], status
    assert fail["security"] and doc["paths"]["/health"]["get"]["security"] == []
    assert doc["components"]["schemas"]["LoginOut"]["properties"]["expiresAt"].get("format") != "date-time"
    streets = doc["paths"]["/map/streets.geojson"]["get"]["responses"]["200"]["content"]
    assert streets["application/geo+json"]["schema"]["$ref"].endswith("StreetsGeoJSON")
