"""The apps' pages run under a CSP with style-src 'self' (no 'unsafe-inline'): no
inline <style> block may style them (inline scripts and attributes are checked
in tests/api/test_web_security.py)."""

from __future__ import annotations

import re

from backend.settings import REPO_ROOT


def test_app_pages_have_no_inline_style_block() -> None:
    pages = sorted((REPO_ROOT / "pwa" / "static").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        assert not re.search(r"<style\b", page.read_text(), re.I), f"{page}: an inline <style> block"
