"""Several loops a shift on the dispatcher's desk (/dispatch/), in a real Chromium: the courier's
timeline row shows the hub visit between the loops (its times and the load leaving the hub) and
names each stop's loop; the map draws each loop's line apart; in Dutch too; axe-core finds
nothing serious or critical."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.browser.seed_day import seed_small_day
from tests.browser.test_a11y_i18n import _serious
from tests.browser.test_dispatch_desk import desk, save_map

__all__ = ["desk"]  # the desk page fixture, shared with the desk's other browser tests


async def _seed_in_loops(db_path: Path, day: dt.date) -> dict[str, Any]:
    """The small day with windows from now, the test courier's route in two loops."""
    from backend.db.tables import Route

    info = await seed_small_day(db_path, day, open_now=True)
    route = (
        await Route.select()
        .where((Route.courier == info["courierId"]) & Route.current.eq(True))
        .output(load_json=True)
        .first()
    )
    stops = route["stops"]
    half = len(stops) // 2
    for i, s in enumerate(stops):
        s["loop"] = 1 if i < half else 2
    back = stops[half - 1]["departure"]
    out = (dt.datetime.fromisoformat(back) + dt.timedelta(minutes=12)).isoformat()
    reloads = [{"loop": 2, "arrival": back, "departure": out, "load_kg": 23.4, "load_l": 61.0, "distance_m": 900}]
    await Route.update({Route.stops: stops, Route.reloads: reloads}).where(Route.id == route["id"])
    return {
        **info,
        "loop1": [s["stop_id"] for s in stops[:half]],
        "loop2": [s["stop_id"] for s in stops[half:]],
        "back": back[11:16],
        "out": out[11:16],
    }


SEED_DAY = _seed_in_loops


def test_the_desk_draws_the_loops(desk: Any, server: Any) -> None:
    from playwright.sync_api import expect

    day = server.day
    row = desk.locator(f'[data-courier-row="{day["courierId"]}"]')
    reload = row.locator('.tl-reload[data-reload-loop="2"]')
    expect(reload).to_have_count(1, timeout=10_000)
    when = f"{day['back']}–{day['out']}"
    expect(reload).to_contain_text(f"Back at the hub {when} to reload; loop 2 leaves with 23 kg, 61 L")
    for sid in day["loop2"]:
        chip = row.locator(f'[data-stop-id="{sid}"]')
        expect(chip).to_have_attribute("data-loop", "2")
        expect(chip.locator(".chip-loop")).to_have_text("L2")
        assert chip.get_attribute("aria-label").endswith(", loop 2")
    first = row.locator(f'[data-stop-id="{day["loop1"][0]}"]')
    expect(first.locator(".chip-loop")).to_have_text("L1")

    # the reload sits between the loops on the track
    def x(loc: Any) -> float:
        return float(loc.get_attribute("data-x"))

    last1, first2 = (row.locator(f'[data-stop-id="{sid}"]') for sid in (day["loop1"][-1], day["loop2"][0]))
    assert x(last1) < x(reload) < x(first2)
    # the other courier rides one loop: no reload, no loop labels
    other = desk.locator("[data-courier-row]").filter(has_not=desk.locator(".tl-reload")).first
    expect(other.locator(".chip-loop")).to_have_count(0)

    # the map: the route's line in two parts, one per loop
    expect(desk.locator("#map[data-routes-ready], [data-routes-ready]").first).to_be_attached(timeout=20_000)
    loops = f"window.laadbakDesk.map.routes.lines.get({day['courierId']})?.loops"
    desk.wait_for_function(f"{loops} === 2", timeout=20_000)
    save_map(desk, "loops")

    desk.click("#top-lang [data-lang=nl]")
    expect(reload).to_contain_text(f"Terug in de hub {when} om te laden; ronde 2 vertrekt met 23 kg")
    expect(row.locator(f'[data-stop-id="{day["loop2"][0]}"] .chip-loop')).to_have_text("R2")
    desk.click("#top-lang [data-lang=en]")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_axe_finds_nothing_serious_on_the_desk_with_loops(desk: Any, lang: str) -> None:
    from playwright.sync_api import expect

    expect(desk.locator(".tl-reload")).to_have_count(1, timeout=10_000)
    desk.click(f"#top-lang [data-lang={lang}]")
    expect(desk.locator("html")).to_have_attribute("lang", lang)
    findings = _serious(desk, f"dispatch desk with loops ({lang})")
    assert findings == [], "\n".join(findings)
