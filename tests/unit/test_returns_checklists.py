"""Inspection checklists are data per category; an inspection is complete, with usable photos, or refused."""

from __future__ import annotations

import pytest

from backend.returns.checklists import (
    CHECKLISTS,
    GENERAL,
    Checklist,
    Inspection,
    InspectionError,
    Photo,
    PhotoLimits,
    Question,
    checklist_for,
    findings,
    validate,
)
from backend.returns.templates import QUALITY_CHECK, STEPS
from backend.returns.texts import LANGUAGES, TEXTS

JPEG = Photo(name="front.jpg", content_type="image/jpeg", size_bytes=200_000)
CLEAN_SHIRT = {"tags_on": True, "worn": False, "stains": False, "smell": False, "damage": False}


def inspect(answers: dict[str, bool], photos: tuple[Photo, ...] = (JPEG,), category: str = "clothing") -> Inspection:
    return Inspection(item_id="r1-1", category=category, answers=answers, photos=photos, inspector="ines")


def test_each_category_has_its_own_questions_and_others_fall_back_to_general() -> None:
    assert [q.id for q in checklist_for("clothing").questions] == ["tags_on", "worn", "stains", "smell", "damage"]
    assert {"powers_on", "accessories_complete", "screen_ok", "data_wiped"} <= {
        q.id for q in checklist_for("electronics").questions
    }
    assert {"parts_complete", "scratches"} <= {q.id for q in checklist_for("furniture").questions}
    assert checklist_for("garden").category == GENERAL
    with pytest.raises(InspectionError, match="no general one"):
        checklist_for("garden", {"clothing": CHECKLISTS["clothing"]})


def test_a_new_category_is_a_new_value_not_new_code() -> None:
    books = Checklist(category="books", questions=(Question(id="pages_marked", text_key="x", good=False),))
    table = {**CHECKLISTS, "books": books}
    item = Inspection(item_id="b", category="books", answers={"pages_marked": True}, photos=(JPEG,))
    assert validate(item, checklist_for("books", table)) == ("pages_marked",)


def test_a_complete_inspection_answers_its_findings_in_checklist_order() -> None:
    clothing = checklist_for("clothing")
    assert validate(inspect(CLEAN_SHIRT), clothing) == ()
    worn = {**CLEAN_SHIRT, "worn": True, "tags_on": False}
    assert validate(inspect(worn), clothing) == ("tags_on", "worn")
    assert findings(inspect(worn), clothing) == ("tags_on", "worn")


def test_every_question_must_be_answered_and_only_the_checklists_own() -> None:
    clothing = checklist_for("clothing")
    with pytest.raises(InspectionError, match=r"still open: stains, smell\."):
        validate(inspect({"tags_on": True, "worn": False, "damage": False}), clothing)
    with pytest.raises(InspectionError, match="does not ask powers_on"):
        validate(inspect({**CLEAN_SHIRT, "powers_on": True}), clothing)


def test_photo_counts_follow_the_checklist_and_the_findings_that_need_a_photo() -> None:
    clothing = checklist_for("clothing")
    with pytest.raises(InspectionError, match="at least 1 photo"):
        validate(inspect(CLEAN_SHIRT, photos=()), clothing)
    stained_and_worn = {**CLEAN_SHIRT, "worn": True, "stains": True}
    with pytest.raises(InspectionError, match="at least 2 photo"):
        validate(inspect(stained_and_worn), clothing)
    assert validate(inspect(stained_and_worn, photos=(JPEG, JPEG)), clothing) == ("worn", "stains")
    with pytest.raises(InspectionError, match="At most 6 photos per item; remove 1"):
        validate(inspect(CLEAN_SHIRT, photos=(JPEG,) * 7), clothing)
    sofa = {"parts_complete": True, "scratches": False, "damage": False}
    with pytest.raises(InspectionError, match="at least 2 photo"):
        validate(inspect(sofa, category="furniture"), checklist_for("furniture"))


def test_a_photo_too_big_or_not_an_image_is_refused_with_its_name() -> None:
    clothing = checklist_for("clothing")
    pdf = Photo(name="bon.pdf", content_type="application/pdf", size_bytes=1000)
    huge = Photo(name="big.jpg", content_type="image/jpeg", size_bytes=6_000_000)
    empty = Photo(name="zero.png", content_type="image/png", size_bytes=0)
    with pytest.raises(InspectionError) as e:
        validate(inspect(CLEAN_SHIRT, photos=(pdf, huge, empty)), clothing)
    assert "bon.pdf is not a photo" in str(e.value)
    assert "big.jpg is larger than 5 MB" in str(e.value)
    assert "zero.png is empty" in str(e.value)
    assert validate(inspect(CLEAN_SHIRT, photos=(huge,)), clothing, PhotoLimits(max_bytes=10_000_000)) == ()


def test_every_text_key_has_dutch_and_english() -> None:
    keys = {q.text_key for c in CHECKLISTS.values() for q in c.questions}
    keys |= {look.text_key for look in STEPS.values()} | {QUALITY_CHECK.text_key}
    missing = sorted(k for k in keys if set(TEXTS.get(k, {})) != set(LANGUAGES))
    assert missing == []
    assert all(TEXTS[k]["en"] != TEXTS[k]["nl"] for k in keys)
