"""Camera scanning in the picker app: the button shows only where the browser has
BarcodeDetector (headless Chromium on Linux has none: hidden), and with a stubbed
BarcodeDetector and camera the code it reads is sent as a scan, like a wedge scan."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Server, require_browser
from tests.browser.test_a11y_i18n import AXE, _serious
from tests.browser.test_pick import answered, batch, handheld, released  # noqa: F401 (fixtures)

# A camera that sees what the test puts in window.__cameraCodes (init scripts run before the
# page's own, outside its Content-Security-Policy).
STUB_CAMERA = """
window.__cameraCodes = [];
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["code_128", "ean_13", "qr_code"]; }
  async detect() { return window.__cameraCodes.length ? [{ rawValue: window.__cameraCodes.shift() }] : []; }
};
const fakeCamera = async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  canvas.getContext("2d").fillRect(0, 0, 64, 48);
  return canvas.captureStream(5);
};
if (navigator.mediaDevices) navigator.mediaDevices.getUserMedia = fakeCamera;
else Object.defineProperty(navigator, "mediaDevices", { value: { getUserMedia: fakeCamera } });
HTMLMediaElement.prototype.play = function () { return Promise.resolve(); };
"""


def _open_a_batch(server: Server, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.base}/pick/")
    page.fill("#username", "picker")
    page.fill("#password", server.day["password"])
    page.click("#login-form button[type=submit]")
    takes = page.locator("[data-batch]")
    expect(takes.first).to_be_visible(timeout=10_000)
    takes.first.click()
    expect(page.locator("#instruction")).to_contain_text("Scan an empty tote")


def test_without_barcode_detector_there_is_no_camera_button(server: Server, released: int, handheld: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    page = handheld.new_page()
    assert page.evaluate("typeof window.BarcodeDetector") == "undefined"
    _open_a_batch(server, page)
    expect(page.locator("#camera-scan")).to_have_count(0)
    expect(page.locator("#camera")).to_be_hidden()


def test_a_code_the_camera_reads_is_sent_as_a_scan(server: Server, released: int, handheld: Any) -> None:  # noqa: F811
    require_browser()
    from playwright.sync_api import expect

    handheld.add_init_script(STUB_CAMERA)
    page = handheld.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open_a_batch(server, page)
    button = page.locator("#camera-scan")
    expect(button).to_have_text("Scan with camera")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 48  # a touch target
    # Nothing in sight: the camera runs until a second tap stops it; nothing was sent.
    before = page.evaluate("window.laadbak.state.answered")
    button.click()
    expect(button).to_have_text("Stop camera")
    expect(page.locator("#camera")).to_be_visible()
    page.evaluate(AXE.read_text())
    assert _serious(page, "picker, camera on") == []
    button.click()
    expect(button).to_have_text("Scan with camera")
    expect(page.locator("#camera")).to_be_hidden()
    assert page.evaluate("window.laadbak.state.answered") == before
    # A tote in sight: bound to the cart's first place, as a wedge scan would have been.
    place = batch(page)["cart"][0]["place"]
    page.evaluate("window.__cameraCodes.push('T-8001')")
    button.click()
    answered(page, before)
    cart = batch(page)["cart"]
    assert [c["code"] for c in cart if c["place"] == place] == ["T-8001"], cart
    expect(page.locator("#camera")).to_be_hidden()
    assert not errors, errors
