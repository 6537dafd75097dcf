"""The OpenAPI pages load only from hosts their Content-Security-Policy allows."""

from __future__ import annotations

import re

import pytest


def _allowed(policy: str, directive: str) -> list[str]:
    rules = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
    return (rules.get(directive) or rules.get("default-src", "")).split()


@pytest.mark.parametrize("path", ["/schema", "/schema/redoc", "/schema/swagger"])
async def test_every_script_and_stylesheet_of_a_docs_page_is_allowed(client, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"], path
    policy = r.headers["content-security-policy"]
    scripts = re.findall(r"<script[^>]*\bsrc=[\"'](https://[^/\"']+)", r.text)
    styles = re.findall(r"<link[^>]*\bhref=[\"'](https://[^/\"']+)[^>]*>", r.text)
    assert scripts, f"{path} loads its UI from a CDN"
    for host in scripts:
        assert host in _allowed(policy, "script-src"), (path, host, policy)
    for host in styles:
        assert host in _allowed(policy, "style-src") + _allowed(policy, "img-src"), (path, host, policy)
    for name in ("openapi.json",):
        assert (await client.get(f"/schema/{name}")).status_code == 200, name
