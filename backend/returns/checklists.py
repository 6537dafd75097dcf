"""Inspection checklists per product category, kept as data, and checking an inspection's answers.

Every question is a yes/no question with the answer that is fine (``good``): "Tags still on?"
is fine with yes, "Worn?" with no. An answer that is not fine is a *finding*; grading
(grading.py) and refund deductions (refunds.py) go by the findings' question ids, so a new
category is a new Checklist value, not new code. The text is a key the apps translate
(texts.py holds the Dutch and English of every key).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

GENERAL = "general"  # the fallback checklist, for a category without its own


class InspectionError(ValueError):
    """An inspection that cannot be recorded as it is; the message is a sentence."""


class Question(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # stable: grading and refund tables refer to it
    text_key: str  # e.g. "returns.check.tagsOn"
    good: bool = True  # the answer that is fine
    photo_if_bad: bool = False  # a finding on this question needs a photo to show it
    # Dutch and English of a question a hub added as data; the built-in ones are in texts.py
    text: Mapping[str, str] = {}


class Checklist(msgspec.Struct, frozen=True, kw_only=True):
    category: str
    questions: tuple[Question, ...]
    min_photos: int = 1  # the item as received, always
    max_photos: int = 6


class PhotoLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_bytes: int = 5_000_000
    content_types: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp"})


PHOTO_LIMITS = PhotoLimits()


class Photo(msgspec.Struct, frozen=True, kw_only=True):
    """What the core needs to know of an uploaded photo; the bytes stay with the service."""

    name: str
    content_type: str
    size_bytes: int


class Inspection(msgspec.Struct, frozen=True, kw_only=True):
    item_id: str  # the return item inspected
    category: str
    answers: Mapping[str, bool]  # question id -> the answer given
    photos: tuple[Photo, ...] = ()
    inspector: str = ""
    note: str = ""


def _q(id: str, key: str, *, good: bool = True, photo: bool = False) -> Question:
    return Question(id=id, text_key=f"returns.check.{key}", good=good, photo_if_bad=photo)


CHECKLISTS: dict[str, Checklist] = {
    "clothing": Checklist(
        category="clothing",
        questions=(
            _q("tags_on", "tagsOn"),
            _q("worn", "worn", good=False, photo=True),
            _q("stains", "stains", good=False, photo=True),
            _q("smell", "smell", good=False),
            _q("damage", "damage", good=False, photo=True),
        ),
    ),
    "electronics": Checklist(
        category="electronics",
        questions=(
            _q("powers_on", "powersOn"),
            _q("accessories_complete", "accessoriesComplete"),
            _q("screen_ok", "screenOk", photo=True),
            _q("data_wiped", "dataWiped"),
            _q("damage", "damage", good=False, photo=True),
        ),
    ),
    "furniture": Checklist(
        category="furniture",
        questions=(
            _q("parts_complete", "partsComplete"),
            _q("scratches", "scratches", good=False, photo=True),
            _q("damage", "damage", good=False, photo=True),
        ),
        min_photos=2,  # the whole piece and a close-up
    ),
    GENERAL: Checklist(
        category=GENERAL,
        questions=(
            _q("complete", "complete"),
            _q("packaging_ok", "packagingOk"),
            _q("damage", "damage", good=False, photo=True),
        ),
    ),
}


def checklist_for(category: str, checklists: Mapping[str, Checklist] = CHECKLISTS) -> Checklist:
    """The category's checklist, else the general one."""
    found = checklists.get(category) or checklists.get(GENERAL)
    if found is None:
        raise InspectionError(f"There is no checklist for {category!r} and no general one; add one to the data.")
    return found


def findings(inspection: Inspection, checklist: Checklist) -> tuple[str, ...]:
    """The ids of the questions answered the way that is not fine, in checklist order."""
    return tuple(q.id for q in checklist.questions if inspection.answers.get(q.id, q.good) != q.good)


def validate(inspection: Inspection, checklist: Checklist, limits: PhotoLimits = PHOTO_LIMITS) -> tuple[str, ...]:
    """Refuse an inspection that is incomplete or has unusable photos (all problems in one
    sentence each, joined); answers its findings."""
    problems = []
    asked = {q.id for q in checklist.questions}
    missing = [q.id for q in checklist.questions if q.id not in inspection.answers]
    if missing:
        problems.append(f"Answer every question; still open: {', '.join(missing)}.")
    unknown = sorted(set(inspection.answers) - asked)
    if unknown:
        problems.append(
            f"The {checklist.category} checklist does not ask {', '.join(unknown)}; answer its own questions."
        )
    problems += _photo_problems(inspection, checklist, limits)
    if problems:
        raise InspectionError(" ".join(problems))
    return findings(inspection, checklist)


def _photo_problems(inspection: Inspection, checklist: Checklist, limits: PhotoLimits) -> list[str]:
    out = []
    photos = inspection.photos
    needed = max(checklist.min_photos, len([q for q in checklist.questions if q.photo_if_bad and _bad(inspection, q)]))
    if len(photos) < needed:
        out.append(f"Take at least {needed} photo(s) of this item (each finding that needs one, and the item).")
    if len(photos) > checklist.max_photos:
        out.append(f"At most {checklist.max_photos} photos per item; remove {len(photos) - checklist.max_photos}.")
    for p in photos:
        if p.content_type not in limits.content_types:
            out.append(f"{p.name} is not a photo (JPEG, PNG or WebP); take it again.")
        elif p.size_bytes > limits.max_bytes:
            mb = limits.max_bytes / 1_000_000
            out.append(f"{p.name} is larger than {mb:g} MB; take it at a lower resolution.")
        elif p.size_bytes <= 0:
            out.append(f"{p.name} is empty; take it again.")
    return out


def _bad(inspection: Inspection, q: Question) -> bool:
    return q.id in inspection.answers and inspection.answers[q.id] != q.good
