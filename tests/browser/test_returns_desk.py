"""The returns desk at /returns-desk on a handheld (412 × 915): the demo `returns` login scans a
demo return with keyboard-wedge input, receives it, inspects the mug (a yes/no checklist and a
photo), then works its task list one step at a time: "problem", then "need help" — the
dispatcher's desk, open on another screen, shows the help call live —, done, the final check and
the mug back in a bin. Axe finds nothing serious or critical on the desk and the task screen;
every button is at least 48 px high."""

from __future__ import annotations

import io
import sqlite3
from typing import Any

import pytest
from PIL import Image

from backend.services.demo import DEMO_PASSWORD
from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious

HANDHELD = {"width": 412, "height": 915}


@pytest.fixture
def contexts(chromium: Any) -> Any:
    violations: list[str] = []
    made: list[Any] = []

    def make(locale: str = "en-GB", **options: Any) -> Any:
        context = chromium.new_context(locale=locale, **options)
        context.add_init_script(path=str(AXE))  # as an init script: the CSP allows only the page's own scripts
        context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        made.append(context)
        return context

    yield make
    for c in made:
        c.close()
    assert not violations, violations


def _small_buttons(page: Any) -> list[str]:
    return list(
        page.evaluate("""() => [...document.querySelectorAll("button, input, textarea")]
        .filter((el) => el.offsetParent !== null && el.type !== "file" && el.getBoundingClientRect().height < 47.5)
        .map((el) => `${el.tagName} ${el.id || el.textContent.trim().slice(0, 30)}`)""")
    )


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def _desk(server: Server, contexts: Any) -> Any:
    from playwright.sync_api import expect

    page = contexts(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(f"{server.base}/dispatch/")
    page.fill("#username", server.day["dispatcher"])
    page.fill("#password", server.day["dispatcherPassword"])
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-action=replan]")).to_be_visible(timeout=15_000)
    return page


def test_the_task_screen_step_by_step_with_problem_and_help(server: Server, contexts: Any) -> None:
    require_browser()
    from playwright.sync_api import expect

    desk = _desk(server, contexts)
    page = contexts(viewport=HANDHELD, device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.base}/returns-desk/")
    page.fill("#username", "returns")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#code")).to_be_visible(timeout=10_000)
    assert _serious(page, "returns desk: scan") == [] and _small_buttons(page) == []
    page.click("#code")
    page.keyboard.type("R-DEMO0001", delay=5)  # the wedge: fast keys, then Enter
    page.keyboard.press("Enter")
    page.locator("#receive").click()
    inspect = page.locator("[data-inspect]").first
    expect(inspect).to_be_visible(timeout=10_000)
    assert _serious(page, "returns desk: return") == []
    inspect.click()
    expect(page.locator("#save-inspection")).to_be_visible()
    for q in page.evaluate("window.laadbak.state.checklist.questions"):
        page.click(f'[data-q="{q["id"]}"][data-v="{str(q["good"]).lower()}"]')
    page.set_input_files("#photo", files=[{"name": "mug.png", "mimeType": "image/png", "buffer": _png()}])
    expect(page.get_by_text("Photos (1 of at least 1)")).to_be_visible(timeout=10_000)
    assert _serious(page, "returns desk: inspection") == [] and _small_buttons(page) == []
    page.click("#save-inspection")
    expect(page.locator("#insp-result")).to_contain_text("Grade A · restock · refund €14.50", timeout=10_000)
    page.get_by_role("button", name="Go to the tasks").click()

    # one step at a time: a large pictogram, its word, a timer, big buttons
    expect(page.locator("#step-word")).to_have_text("Unpack", timeout=10_000)
    expect(page.get_by_role("img", name="Unpack")).to_be_visible()
    page.click("[data-action=start]")
    expect(page.locator("[data-action=problem]")).to_be_visible(timeout=10_000)
    assert _serious(page, "task screen") == [] and _small_buttons(page) == []
    page.click("#read-aloud")
    assert page.evaluate("window.laadbak.spoken") == ["Unpack"]
    page.click("[data-action=problem]")
    expect(page.locator("[data-action=resume]")).to_be_visible(timeout=10_000)
    page.click("[data-action=help]")
    expect(page.get_by_text("Help is on the way.")).to_be_visible(timeout=10_000)
    # the dispatcher's desk shows the call live, titled by its kind
    called = desk.locator("[data-alert-id]", has_text="needs help with step 1")
    expect(called).to_be_visible(timeout=15_000)
    expect(called).to_contain_text("Help at returns")
    page.click("[data-action=done]")
    for word in ("Pack", "New label"):
        expect(page.locator("#step-word")).to_have_text(word, timeout=10_000)
        page.click("[data-action=start]")
        page.click("[data-action=done]")
    expect(page.locator("[data-action=pass]")).to_be_visible(timeout=10_000)
    assert _serious(page, "final check") == []
    page.click("[data-action=pass]")
    with sqlite3.connect(server.db_path) as db:
        (bin_code,) = db.execute(
            "SELECT code FROM warehouse_bin WHERE hub = ? ORDER BY code", (server.day["hubId"],)
        ).fetchone()
    page.fill("#bin", bin_code)
    page.click("#finish")
    expect(page.locator("#finished")).to_contain_text("Done: stock_new MUG-STON", timeout=10_000)
    assert errors == []


def test_the_task_screen_in_dutch_reads_the_step_aloud(server: Server, contexts: Any) -> None:
    """The lamp of the second demo return, in Dutch: the words, the pictogram's text and what is read aloud."""
    require_browser()
    from playwright.sync_api import expect

    page = contexts("nl-NL", viewport=HANDHELD, device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    page.goto(f"{server.base}/returns-desk/")
    page.fill("#username", "returns")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#code")).to_be_visible(timeout=10_000)
    page.fill("#code", "R-DEMO0002")
    page.keyboard.press("Enter")
    page.locator("#receive").click()
    page.locator("[data-inspect]").first.click()
    expect(page.get_by_text("Gaat het aan?")).to_be_visible(timeout=10_000)
    for q in page.evaluate("window.laadbak.state.checklist.questions"):
        page.click(f'[data-q="{q["id"]}"][data-v="{str(q["good"]).lower()}"]')
    page.set_input_files("#photo", files=[{"name": "lamp.png", "mimeType": "image/png", "buffer": _png()}])
    expect(page.get_by_text("Foto's (1 van minstens 1)")).to_be_visible(timeout=10_000)
    page.click("#save-inspection")
    expect(page.locator("#insp-result")).to_contain_text("Klasse A", timeout=10_000)
    page.get_by_role("button", name="Naar de taken").click()
    expect(page.locator("#step-word")).to_have_text("Uitpakken", timeout=10_000)
    expect(page.get_by_role("img", name="Uitpakken")).to_be_visible()
    page.click("[data-action=start]")
    expect(page.get_by_role("button", name="Hulp nodig")).to_be_visible(timeout=10_000)
    page.click("#read-aloud")
    assert page.evaluate("window.laadbak.spoken") == ["Uitpakken"]
    assert _serious(page, "taakscherm") == [] and _small_buttons(page) == []
