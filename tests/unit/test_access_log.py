"""The access log leaves out the check-out's answered options calls, and only those."""

from __future__ import annotations

import logging

from backend.app import _quiet_options


def _line(method: str, path: str, status: int) -> logging.LogRecord:
    # As uvicorn logs a request: client, method, path with query, HTTP version, status.
    args = ("127.0.0.1:5000", method, path, "1.1", status)
    return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)


def test_answered_options_calls_are_left_out_and_everything_else_is_logged() -> None:
    assert not _quiet_options(_line("POST", "/checkout/options", 200))
    assert _quiet_options(_line("POST", "/checkout/options", 401))  # a refusal is still logged
    assert _quiet_options(_line("POST", "/checkout/options", 500))
    assert _quiet_options(_line("POST", "/checkout/holds", 201))
    assert _quiet_options(_line("GET", "/checkout/options?x=1", 200))
    assert _quiet_options(_line("POST", "/orders", 201))
    assert _quiet_options(logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "plain", None, None))
    assert _quiet_options in logging.getLogger("uvicorn.access").filters
