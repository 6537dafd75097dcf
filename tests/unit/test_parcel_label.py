"""The parcel label's Code 128 reads back as the parcel's code, whatever digits it holds
(backend/services/parcel_label.py, read by tests/api/code128_reader.py)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from backend.services.parcel_label import render
from tests.api.code128_reader import read_code128

FACTS = {
    "name": "Customer 1",
    "address": ["Fixture street 1", "00100 Helsinki"],
    "date": "2026-12-06",
    "slot": "evening 18:00-22:00",
    "details": ["Hub 1"],
    "reference": "R-1",
    "parcelId": 1,
}


@pytest.mark.parametrize(
    "code",
    [
        "LB55809982FD94",  # the digit pair 99 in code C (read as a switch to code C, it was dropped)
        "LB0099009900AB",
        "PCL-3",
        "99",
        "A1",
    ],
)
def test_the_labels_barcode_reads_back_as_the_parcels_code(code: str) -> None:
    pdf = render({**FACTS, "barcode": code})
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert read_code128(page.get_contents().get_data()) == code
