"""The read map extract is kept beside the street network: a start decodes it instead of parsing the PBF."""

from __future__ import annotations

from pathlib import Path

from backend.dispatch.osm_extract import read_extract
from backend.services.geo import cached_extract
from backend.settings import DEFAULT_MAP


def test_the_cached_extract_is_the_extract_and_a_broken_cache_is_read_anew(tmp_path: Path) -> None:
    fresh = read_extract(DEFAULT_MAP)
    assert cached_extract(DEFAULT_MAP, tmp_path) == fresh  # read and written
    [kept] = tmp_path.glob("extract-*.msgpack")
    assert cached_extract(DEFAULT_MAP, tmp_path) == fresh  # decoded from the cache
    kept.write_bytes(b"\x93 not an extract")
    assert cached_extract(DEFAULT_MAP, tmp_path) == fresh  # unreadable: parsed again, and rewritten
    assert cached_extract(DEFAULT_MAP, tmp_path) == fresh
    assert kept.read_bytes()[:4] != b"\x93 no"
