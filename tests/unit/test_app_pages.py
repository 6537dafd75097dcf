"""The apps' pages run under a CSP without 'unsafe-inline': no inline script, style or handler."""

from __future__ import annotations

import re

from backend.settings import REPO_ROOT


def test_app_pages_have_no_inline_script_style_or_handler() -> None:
    pages = sorted((REPO_ROOT / "pwa" / "static").rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html, re.I), f"{page}: an inline <script>"
        assert not re.search(r"<style\b", html, re.I), f"{page}: an inline <style> block"
        assert not re.search(r"\sstyle\s*=|\son[a-z]+\s*=|javascript:", html, re.I), f"{page}: inline style/handler"
