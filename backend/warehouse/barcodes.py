"""Barcodes a picker's scanner sends: GTINs (EAN-13, EAN-8, UPC-A, GTIN-14) with their
check digit, GS1-128 element strings (Application Identifiers), and what a scan is.

A keyboard-wedge scanner types the code then Enter, maybe with a configured prefix or
suffix and a symbology identifier ("]C1" GS1-128, "]E0" EAN-13). In GS1-128 the FNC1
character arrives as ASCII GS (0x1d) and ends a variable-length field early; without it a
variable-length field runs to the end of the scan. The human-readable form with the AIs in
brackets ("(01)08712345678906(10)LOT7") is read too.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

import msgspec

GS = "\x1d"  # FNC1 as a keyboard-wedge scanner sends it
# Symbology identifiers (ISO/IEC 15424) a scanner may put first; only the GS1 ones say "AIs follow".
GS1_SYMBOLOGIES = ("]C1", "]e0", "]d2", "]Q3")
OTHER_SYMBOLOGIES = ("]E0", "]E1", "]E2", "]E3", "]E4", "]C0", "]A0", "]d1", "]Q1")
GTIN_LENGTHS = (8, 12, 13, 14)

LOCATION_RE = re.compile(
    r"^[A-Z]{1,2}\d{1,3}-\d{1,3}-\d{1,2}$"
)  # "A03-12-2": aisle, bay, level (layout.py formats them)
TOTE_RE = re.compile(r"^T-\d{4}$")


class BarcodeError(ValueError):
    """A code that cannot be right; the message is a sentence for the picker."""


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (the digits before the check digit)."""
    if not body.isdigit():
        raise BarcodeError(f"{body!r} has characters other than digits; scan again.")
    # weights 3, 1, 3, ... from the rightmost digit of the body
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(code: str) -> str:
    """``code`` as a GTIN-14 (zero-padded: UPC-A and EAN-13 of the same item agree), or BarcodeError."""
    if not code.isdigit() or len(code) not in GTIN_LENGTHS:
        raise BarcodeError(f"{code!r} is not a product barcode (8, 12, 13 or 14 digits); scan again.")
    expected = check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise BarcodeError(f"The check digit of {code} is wrong (expected {expected}); scan again.")
    return code.zfill(14)


def validate_sscc(code: str) -> str:
    if not code.isdigit() or len(code) != 18:
        raise BarcodeError(f"{code!r} is not a pallet code (SSCC, 18 digits); scan again.")
    expected = check_digit(code[:-1])
    if int(code[-1]) != expected:
        raise BarcodeError(f"The check digit of {code} is wrong (expected {expected}); scan again.")
    return code


def with_check_digit(body: str) -> str:
    return body + str(check_digit(body))


class AI(msgspec.Struct, frozen=True):
    name: str
    length: int  # fixed length, or the maximum when variable
    variable: bool = False
    numeric: bool = True


# The Application Identifiers a hub meets on cases and items; 310n is handled apart (n decimals).
AIS: dict[str, AI] = {
    "00": AI("sscc", 18),
    "01": AI("gtin", 14),
    "02": AI("content_gtin", 14),
    "10": AI("batch", 20, variable=True, numeric=False),
    "11": AI("produced", 6),
    "15": AI("best_before", 6),
    "17": AI("expiry", 6),
    "21": AI("serial", 20, variable=True, numeric=False),
    "30": AI("count", 8, variable=True),
    "37": AI("count", 8, variable=True),
}


class GS1(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a GS1 element string; ``raw`` keeps every AI and its text."""

    sscc: str | None = None
    gtin: str | None = None  # GTIN-14
    content_gtin: str | None = None
    batch: str | None = None
    serial: str | None = None
    expiry: dt.date | None = None
    best_before: dt.date | None = None
    produced: dt.date | None = None
    count: int | None = None
    net_weight_kg: float | None = None
    raw: tuple[tuple[str, str], ...] = ()


def gs1_date(text: str) -> dt.date:
    """YYMMDD; day 00 means the last day of the month (GS1 general specifications 7.12).
    Years are read as 20YY: a pure core has no clock for the sliding century window."""
    try:
        year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6])
        if day == 0:
            day = calendar.monthrange(year, month)[1]
        return dt.date(year, month, day)
    except ValueError:
        raise BarcodeError(f"{text} is not a date (YYMMDD) in the barcode; scan again.") from None


def _split_human_readable(text: str) -> list[tuple[str, str]]:
    parts = re.findall(r"\((\d{2,4})\)([^()]*)", text)
    if not parts or "".join(f"({a}){v}" for a, v in parts) != text:
        raise BarcodeError(f"{text!r} is not a GS1 code with brackets like (01)…(10)…; scan again.")
    return [(ai, value) for ai, value in parts]


def _split_element_string(text: str) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if text[i] == GS:
            i += 1
            continue
        if text.startswith("31", i) and text[i : i + 3] == "310":
            ai, spec = text[i : i + 4], AI("net_weight", 6)
        else:
            ai = text[i : i + 2]
            if ai not in AIS:
                raise BarcodeError(f"The barcode has an Application Identifier we do not read ({ai}); scan again.")
            spec = AIS[ai]
        start = i + len(ai)
        if spec.variable:
            end = text.find(GS, start)
            end = len(text) if end < 0 else end
            if end - start > spec.length:
                raise BarcodeError(f"The ({ai}) field of the barcode is longer than {spec.length}; scan again.")
        else:
            end = start + spec.length
            if end > len(text):
                raise BarcodeError(f"The ({ai}) field of the barcode is cut short; scan again.")
        fields.append((ai, text[start:end]))
        i = end
    return fields


def parse_gs1(text: str) -> GS1:
    """A GS1-128 (or GS1 DataMatrix) element string: with or without the "]C1" prefix,
    with FNC1 as GS between variable fields, or in brackets. Check digits are verified."""
    for prefix in GS1_SYMBOLOGIES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    fields = _split_human_readable(text) if text.startswith("(") else _split_element_string(text)
    values: dict[str, object] = {}
    for ai, value in fields:
        spec = AI("net_weight", 6) if ai.startswith("310") and len(ai) == 4 else AIS.get(ai)
        if spec is None:
            raise BarcodeError(f"The barcode has an Application Identifier we do not read ({ai}); scan again.")
        if spec.numeric and not value.isdigit():
            raise BarcodeError(f"The ({ai}) field of the barcode must be digits, not {value!r}; scan again.")
        if not spec.variable and len(value) != spec.length:
            raise BarcodeError(f"The ({ai}) field of the barcode must have {spec.length} digits; scan again.")
        if not value:
            raise BarcodeError(f"The ({ai}) field of the barcode is empty; scan again.")
        if spec.name == "sscc":
            values["sscc"] = validate_sscc(value)
        elif spec.name in ("gtin", "content_gtin"):
            values[spec.name] = validate_gtin(value)
        elif spec.name in ("expiry", "best_before", "produced"):
            values[spec.name] = gs1_date(value)
        elif spec.name == "count":
            values["count"] = int(value)
        elif spec.name == "net_weight":
            values["net_weight_kg"] = int(value) / 10 ** int(ai[3])
        else:
            values[spec.name] = value
    return msgspec.convert({**values, "raw": [list(f) for f in fields]}, GS1, strict=False)


ScanKind = Literal["product", "location", "tote", "sscc", "unknown"]


class Scan(msgspec.Struct, frozen=True, kw_only=True):
    """What a scan is. ``code``: the GTIN-14, location, tote or SSCC; ``error``: why it is
    unknown, as a sentence (a wrong check digit, a code we do not know)."""

    kind: ScanKind
    code: str = ""
    text: str = ""  # the scan as typed, prefix and suffix stripped
    quantity: int | None = None  # from (30)/(37) on a case label
    batch: str | None = None
    expiry: dt.date | None = None
    serial: str | None = None
    error: str | None = None


def plain_location(text: str) -> str | None:
    """The default location reader: "A03-12-2" as is, upper-cased; the layout supplies a stricter one."""
    code = text.upper()
    return code if LOCATION_RE.match(code) else None


CONTROL_RE = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")  # every control character but GS
BLANKS = " \t\r\n\v\f\xa0"


def strip_wedge(text: str, prefix: str = "", suffix: str = "") -> str:
    """The scan without control characters (GS kept: in GS1 it separates fields), blanks at
    the ends, and the scanner's configured prefix/suffix, as the apps' kit (cleanScan) does.
    Python's strip() alone would take GS too: it counts it as whitespace."""
    text = CONTROL_RE.sub("", text).strip(BLANKS)
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text.strip(BLANKS)


def _is_gs1(text: str) -> bool:
    if text.startswith(GS1_SYMBOLOGIES) or text.startswith("(") or GS in text:
        return True
    if text.isdigit():  # a bare GTIN or SSCC has its own lengths; longer digit runs are AIs (00)/(01)/(02)
        return len(text) not in (*GTIN_LENGTHS, 18) and text[:2] in ("00", "01", "02")
    return text[:2] in ("01", "02") and len(text) > 16 and text[2:16].isdigit()


AFFIX_MAX = 8  # a scanner's prefix or suffix is a few characters; longer is a typo or a code


def affix_problem(text: str) -> str | None:
    """Why ``text`` cannot be a scanner's prefix or suffix (a sentence), or None when it can.
    Empty is allowed (none). The scan is trimmed and its control characters dropped before
    the prefix is taken off, so blanks at its ends or control characters would never match;
    digits alone could not be told from the code's own digits."""
    if len(text) > AFFIX_MAX:
        return f"{text!r} is longer than {AFFIX_MAX} characters; a scanner's prefix or suffix is a few signs."
    if not text.isprintable():
        return f"{text!r} holds a control character; use printable signs such as $, # or ]."
    if text != text.strip(BLANKS):
        return f"{text!r} starts or ends with a space; a scan is trimmed before the prefix is taken off."
    if text.isdigit():
        return f"{text!r} is only digits, which a barcode's own digits could be; add a sign such as $ or #."
    return None


def parse_scan(
    text: str,
    *,
    prefix: str = "",
    suffix: str = "",
    location_parser: Callable[[str], str | None] = plain_location,
) -> Scan:
    """Tell what a scan is: a product (GTIN, alone or in a GS1 code), a bin location, a tote
    ("T-0042"), a pallet (SSCC), or unknown with the reason. ``location_parser`` gives the
    canonical code of a location, or None when ``text`` is not one. ``prefix``/``suffix``:
    the hub's scanner's, taken off when there."""
    scan = _read(strip_wedge(text, prefix, suffix), location_parser)
    if scan.kind == "unknown" and (prefix or suffix):
        # The apps' kit takes them off before sending: a code that begins with the prefix
        # itself (prefix "A", bin "A01-02-1") lost it once already and reads as sent.
        as_sent = _read(strip_wedge(text), location_parser)
        if as_sent.kind != "unknown":
            return as_sent
    return scan


def _read(text: str, location_parser: Callable[[str], str | None]) -> Scan:
    text = text.strip(GS)  # a leading GS is the start FNC1; a trailing one ends nothing
    if not text:
        return Scan(kind="unknown", error="The scan was empty; scan again.")
    for symbology in OTHER_SYMBOLOGIES:
        if text.startswith(symbology):
            text = text[len(symbology) :]
            break
    try:
        if _is_gs1(text):
            gs1 = parse_gs1(text)
            if gs1.gtin is not None or gs1.content_gtin is not None:
                gtin = gs1.gtin or gs1.content_gtin or ""
                return Scan(
                    kind="product",
                    code=gtin,
                    text=text,
                    quantity=gs1.count,
                    batch=gs1.batch,
                    expiry=gs1.expiry,
                    serial=gs1.serial,
                )
            if gs1.sscc is not None:
                return Scan(kind="sscc", code=gs1.sscc, text=text)
            return Scan(kind="unknown", text=text, error="The barcode names no product or pallet; scan again.")
        if text.isdigit() and len(text) in GTIN_LENGTHS:
            return Scan(kind="product", code=validate_gtin(text), text=text)
        if text.isdigit() and len(text) == 18:
            return Scan(kind="sscc", code=validate_sscc(text), text=text)
    except BarcodeError as e:
        return Scan(kind="unknown", text=text, error=str(e))
    if TOTE_RE.match(text.upper()):
        return Scan(kind="tote", code=text.upper(), text=text)
    location = location_parser(text)
    if location is not None:
        return Scan(kind="location", code=location, text=text)
    return Scan(kind="unknown", text=text, error=f"{text!r} is not a product, bin, tote or pallet code; scan again.")
