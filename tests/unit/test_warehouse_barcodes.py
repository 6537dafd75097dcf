"""Barcodes: GTIN check digits, GS1-128 element strings, and what a scan is."""

import datetime as dt

import pytest

from backend.warehouse.barcodes import (
    GS,
    BarcodeError,
    Scan,
    affix_problem,
    check_digit,
    parse_gs1,
    parse_scan,
    validate_gtin,
    with_check_digit,
)
from backend.warehouse.products import Catalogue, Product, ProductError, graded, split_sku

EAN13 = "8712345678906"  # check digit 6
EAN8 = "96385074"  # check digit 4
UPC_A = "036000291452"  # check digit 2
SSCC = with_check_digit("00871234500000001")  # 18 digits


def test_check_digits_of_each_length() -> None:
    assert check_digit(EAN13[:-1]) == 6
    assert check_digit(EAN8[:-1]) == 4
    assert check_digit(UPC_A[:-1]) == 2
    assert check_digit("1234567890123") == 1  # a GTIN-14 body
    assert len(SSCC) == 18 and SSCC.startswith("00871234500000001")


def test_a_gtin_becomes_gtin14_and_upc_a_equals_its_ean13() -> None:
    assert validate_gtin(EAN13) == "0" + EAN13
    assert validate_gtin(EAN8) == "000000" + EAN8
    assert validate_gtin(UPC_A) == validate_gtin("0" + UPC_A) == "00" + UPC_A


def test_a_wrong_check_digit_is_refused_with_the_expected_one() -> None:
    with pytest.raises(BarcodeError, match=r"^The check digit of 8712345678905 is wrong \(expected 6\); scan again\.$"):
        validate_gtin("8712345678905")
    with pytest.raises(BarcodeError, match="8, 12, 13 or 14 digits"):
        validate_gtin("12345")


def test_gs1_128_with_fnc1_between_variable_fields() -> None:
    text = "]C1" + "01" + "0" + EAN13 + "10" + "LOT7" + GS + "17" + "270430" + "21" + "SN42" + GS + "37" + "12"
    gs1 = parse_gs1(text)
    assert gs1.gtin == "0" + EAN13
    assert gs1.batch == "LOT7"
    assert gs1.expiry == dt.date(2027, 4, 30)
    assert gs1.serial == "SN42"
    assert gs1.count == 12


def test_gs1_128_without_fnc1_when_the_variable_field_comes_last() -> None:
    gs1 = parse_gs1("01" + "0" + EAN13 + "3103" + "001250" + "17" + "270400" + "10" + "ABC-1")
    assert gs1.gtin == "0" + EAN13
    assert gs1.net_weight_kg == 1.25
    assert gs1.expiry == dt.date(2027, 4, 30)  # day 00: the month's last day
    assert gs1.batch == "ABC-1"
    assert [ai for ai, _ in gs1.raw] == ["01", "3103", "17", "10"]


def test_gs1_in_brackets_and_the_sscc() -> None:
    gs1 = parse_gs1(f"(00){SSCC}(30)5")
    assert gs1.sscc == SSCC and gs1.count == 5


def test_gs1_errors_are_sentences() -> None:
    with pytest.raises(BarcodeError, match=r"wrong \(expected 6\)"):
        parse_gs1("01" + "08712345678905")
    with pytest.raises(BarcodeError, match=r"Application Identifier we do not read \(99\)"):
        parse_gs1("99ABC")
    with pytest.raises(BarcodeError, match=r"\(17\) field of the barcode is cut short"):
        parse_gs1("01" + "0" + EAN13 + "17" + "2704")
    with pytest.raises(BarcodeError, match="not a date"):
        parse_gs1("17" + "271340")
    # without FNC1 a variable field swallows what follows: a batch longer than 20 is refused
    with pytest.raises(BarcodeError, match=r"\(10\) field of the barcode is longer than 20"):
        parse_gs1("10" + "LOT7" + "17270430" + "21SERIAL00001")


def test_parse_scan_tells_what_each_scan_is() -> None:
    assert parse_scan(EAN13) == Scan(kind="product", code="0" + EAN13, text=EAN13)
    assert parse_scan(f"]E0{UPC_A}\r\n").code == "00" + UPC_A
    assert parse_scan(" a03-12-2 ") == Scan(kind="location", code="A03-12-2", text="a03-12-2")
    assert parse_scan("T-0042") == Scan(kind="tote", code="T-0042", text="T-0042")
    assert parse_scan(SSCC).kind == "sscc"
    case = parse_scan("]C101" + "0" + EAN13 + "30" + "6")
    assert (case.kind, case.code, case.quantity) == ("product", "0" + EAN13, 6)


def test_parse_scan_strips_the_wedge_prefix_and_suffix_but_not_gs() -> None:
    scan = parse_scan("@@01" + "0" + EAN13 + "10LOT" + GS + "#\n", prefix="@@", suffix="#")
    assert (scan.kind, scan.code, scan.batch) == ("product", "0" + EAN13, "LOT")
    assert parse_scan("@@T-0007#", prefix="@@", suffix="#").code == "T-0007"
    assert parse_scan(GS + "0108712345678906" + GS).code == "0" + EAN13  # FNC1 first, a stray GS last
    assert parse_scan("]C0T-0042").code == "T-0042"  # a tote label in plain Code 128
    assert parse_scan("\x02T-0042\x04\r").code == "T-0042"  # STX/EOT framing some scanners add


def test_parse_scan_with_the_hubs_configured_prefix_and_suffix() -> None:
    # A scanner set to send "$" before and "*" after each code, as a native client sends it.
    product = parse_scan("$" + EAN13 + "*\r", prefix="$", suffix="*")
    assert (product.kind, product.code, product.text) == ("product", "0" + EAN13, EAN13)
    assert parse_scan("$A01-02-1*", prefix="$", suffix="*").code == "A01-02-1"
    assert parse_scan("]X9T-0042", prefix="]X9").code == "T-0042"
    # Without the setting the same scan is not read: the prefix is part of the text.
    assert parse_scan("$" + EAN13 + "*").kind == "unknown"
    # The app's kit took them off already; codes without them read as they are.
    assert parse_scan(EAN13, prefix="$", suffix="*").code == "0" + EAN13
    # A bin that starts with the prefix lost it in the app once: it reads as sent, not twice stripped.
    assert parse_scan("A01-02-1", prefix="A").code == "A01-02-1"
    assert parse_scan("AA01-02-1", prefix="A").code == "A01-02-1"
    # A wrong check digit behind the prefix is still refused with its reason.
    wrong = parse_scan("$8712345678905*", prefix="$", suffix="*")
    assert wrong.kind == "unknown" and wrong.error is not None and "check digit" in wrong.error


def test_a_scanner_prefix_or_suffix_is_a_few_printable_signs() -> None:
    for fine in ("", "$", "]C1", "SCAN:", "~~#"):
        assert affix_problem(fine) is None, fine
    for bad, why in (
        ("123456789", "longer than 8"),
        ("\x02", "control character"),
        (" $", "space"),
        ("$ ", "space"),
        ("42", "only digits"),
    ):
        problem = affix_problem(bad)
        assert problem is not None and why in problem, (bad, problem)


def test_parse_scan_answers_unknown_with_the_reason() -> None:
    wrong = parse_scan("8712345678905")
    assert wrong.kind == "unknown"
    assert wrong.error == "The check digit of 8712345678905 is wrong (expected 6); scan again."
    assert parse_scan("hello").error == "'hello' is not a product, bin, tote or pallet code; scan again."
    assert parse_scan("  \r\n").error == "The scan was empty; scan again."


def test_parse_scan_takes_the_layouts_location_parser() -> None:
    def layout(text: str) -> str | None:  # a layout whose codes are "Z1/A3/B12/L2"
        return text if text.startswith("Z1/") else None

    assert parse_scan("Z1/A3/B12/L2", location_parser=layout).kind == "location"
    assert parse_scan("A03-12-2", location_parser=layout).kind == "unknown"


def test_products_by_gtin_and_the_graded_variant() -> None:
    jas = Product(sku="JAS-42", name="Rain jacket", barcodes=(EAN13,), weight_g=600, volume_ml=3000)
    soda = Product(sku="SODA", name="Soda", barcodes=(UPC_A,), weight_g=350, volume_ml=400)
    b = graded(jas, "B", barcodes=(EAN8,))
    cat = Catalogue([jas, soda, b])
    assert b.sku == "JAS-42/B" and b.base_sku == "JAS-42" and b.weight_g == 600
    assert split_sku("JAS-42/B") == ("JAS-42", "B") and split_sku("JAS-42") == ("JAS-42", None)
    assert cat.find_gtin(EAN13) == jas
    assert cat.find_gtin("0" + UPC_A) == soda  # the EAN-13 spelling of the UPC-A
    assert cat.find_gtin(EAN8) == b
    assert cat.find_gtin(with_check_digit("400638133393")) is None
    assert cat.variants("JAS-42") == [b]
    with pytest.raises(BarcodeError, match="expected 6"):
        cat.find_gtin("8712345678905")
    with pytest.raises(ProductError, match="Barcode 8712345678906 is on both JAS-42 and COPY"):
        Catalogue([jas, Product(sku="COPY", name="x", barcodes=(EAN13,), weight_g=1, volume_ml=1)])
    with pytest.raises(ProductError, match="JAS-42/B is already a graded item"):
        graded(b, "C")
