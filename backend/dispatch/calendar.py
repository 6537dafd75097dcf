"""Opening hours, delivery slots and times of day, as plan-ready windows.

Weekly opening hours are a list of periods (days, opens, closes). Parsing the
common subset of OSM ``opening_hours`` ("Mo-Fr 10:00-19:00; Sa 10:00-16:00")
lets the demo city use the shops' real hours.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated, Literal

import msgspec

from backend.dispatch.model import Window
from backend.errors import Invalid

DAYS: tuple[Day, ...] = ("mo", "tu", "we", "th", "fr", "sa", "su")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


Day = Literal["mo", "tu", "we", "th", "fr", "sa", "su"]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]


class OpeningPeriod(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    days: Annotated[list[Day], msgspec.Meta(min_length=1, max_length=7)]
    opens: HHMM
    closes: HHMM

    def __post_init__(self) -> None:
        bad = [d for d in self.days if d not in DAYS]
        if bad or not self.days:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAYS)}; got {self.days}")
        if parse_hhmm(self.closes) <= parse_hhmm(self.opens):
            # A rule of the domain, not of the type: 422 at the API.
            raise Invalid(
                f"An opening period closes ({self.closes}) before it opens ({self.opens}); "
                "give closes after opens (periods past midnight are not supported)."
            )


# Named delivery slots customers can choose instead of an explicit window.
SLOTS: dict[str, tuple[str, str]] = {
    "morning": ("08:00", "12:00"),
    "afternoon": ("12:00", "17:00"),
    "evening": ("18:00", "22:00"),
    "day": ("08:00", "18:00"),
}


def parse_hhmm(text: str) -> int:
    """'18:30' -> seconds since midnight; raises ValueError with a clear message."""
    m = _HHMM.match(text.strip())
    if not m:
        raise ValueError(f"time must look like HH:MM (e.g. 18:30), got {text!r}")
    seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60
    if seconds > 24 * 3600:
        raise ValueError(f"time must be at most 24:00, got {text!r}")
    return seconds


@functools.lru_cache(maxsize=4096)  # a few hundred times in each check-out answer
def format_hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def seconds_of(t: dt.datetime, day: dt.date) -> int:
    """Seconds of ``t`` since midnight of ``day`` (may exceed a day or be negative)."""
    return int((t - dt.datetime.combine(day, dt.time())).total_seconds())


def at(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)


def windows_on(periods: list[OpeningPeriod], day: dt.date) -> tuple[Window, ...] | None:
    """The opening windows on ``day``; None when there are no hours (always open).

    An empty tuple means closed all day.
    """
    if not periods:
        return None
    key = DAYS[day.weekday()]
    spans = sorted((parse_hhmm(p.opens), parse_hhmm(p.closes)) for p in periods if key in p.days)
    return tuple(Window(a, b) for a, b in _merge(spans))


def intersect(a: tuple[Window, ...], b: tuple[Window, ...]) -> tuple[Window, ...]:
    out = []
    for x in a:
        for y in b:
            lo, hi = max(x.start, y.start), min(x.end, y.end)
            if lo <= hi:
                out.append(Window(lo, hi))
    return tuple(Window(s, e) for s, e in _merge(sorted((w.start, w.end) for w in out)))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


_OSM_RULE = re.compile(
    r"^(?P<days>[A-Za-z,\- ]+)\s+(?P<times>\d\d:\d\d\s*-\s*\d\d:\d\d(\s*,\s*\d\d:\d\d\s*-\s*\d\d:\d\d)*)$"
)


def parse_osm_opening_hours(text: str) -> list[OpeningPeriod] | None:
    """Parse the simple, common OSM forms; None when the text is beyond that subset."""
    text = text.strip()
    if text == "24/7":
        return [OpeningPeriod(days=list(DAYS), opens="00:00", closes="24:00")]
    periods: list[OpeningPeriod] = []
    for rule in filter(None, (r.strip() for r in text.split(";"))):
        if re.search(r"\b(off|closed)\b", rule, re.I) or re.match(r"^PH\b", rule):
            continue
        m = _OSM_RULE.match(rule)
        if not m:
            return None
        days = _osm_days(m.group("days"))
        if days is None:
            return None
        for span in m.group("times").split(","):
            opens, closes = (s.strip() for s in span.split("-"))
            try:
                periods.append(OpeningPeriod(days=days, opens=opens, closes=closes))
            except (ValueError, Invalid):
                return None  # e.g. past midnight: beyond the subset we plan with
    return periods or None


def _osm_days(text: str) -> list[Day] | None:
    days: list[Day] = []
    for part in text.replace(" ", "").split(","):
        if not part or part == "PH":
            continue
        ends = part.lower().split("-")
        if any(e not in DAYS for e in ends) or len(ends) > 2:
            return None
        i, j = DAYS.index(ends[0]), DAYS.index(ends[-1])
        rng = range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)]
        days.extend(DAYS[k] for k in rng if DAYS[k] not in days)
    return days or None


# A same-day order must reach the hub, be packed and ridden out: it is taken
# only while at least this much of its window is still ahead.
SAME_DAY_LEAD_S = 60 * 60


def same_day_open(window_end_s: int, now_s: int, lead_s: int = SAME_DAY_LEAD_S) -> bool:
    """Whether an order for today with a window ending at ``window_end_s`` can still be taken."""
    return now_s + lead_s <= window_end_s


def next_slot(now_s: int, lead_s: int = SAME_DAY_LEAD_S) -> tuple[int, str]:
    """The first named slot still open for a new order: (days from today, slot name)."""
    for name in ("morning", "afternoon", "evening"):
        end = SLOTS[name][1]
        if same_day_open(int(end[:2]) * 3600 + int(end[3:]) * 60, now_s, lead_s):
            return 0, name
    return 1, "morning"
