"""Reconditioning task lists: templates as data, one list per item, the same template grouped for
one worker, one step at a time with done / problem / need help, a timer per step, a final check."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from backend.returns.checklists import CHECKLISTS, Checklist
from backend.returns.dispositions import DISPOSITIONS, DispositionTable
from backend.returns.refunds import REFUNDS, RefundTable
from backend.returns.tasks import (
    MOVES,
    Event,
    EventKind,
    State,
    Work,
    apply,
    begin,
    final_check,
    labour_minutes,
    step_times,
)
from backend.returns.templates import (
    TEMPLATES,
    StepKind,
    TaskError,
    TaskList,
    assign,
    generate,
    group,
    template_for,
    work_order,
)
from backend.returns.vocabulary import Disposition, Grade

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def shirt(item: str = "r1", disposition: Disposition = Disposition.OUTLET, category: str = "clothing") -> TaskList:
    t = generate(item, "JAS-42", category, Grade.B, disposition)
    assert t is not None
    return t


def ev(work: Work, n: int, kind: EventKind, minute: float, by: str = "sam", note: str = "", id: str = "") -> Event:
    step = work.task.steps[n - 1]
    at = T0 + dt.timedelta(minutes=minute)
    return Event(id=id or f"{step.id}:{kind}:{minute}", step_id=step.id, kind=kind, at=at, by=by, note=note)


def test_templates_per_category_and_disposition_with_pictograms_and_text_keys() -> None:
    t = shirt()
    assert t.template == "clothing/outlet"
    assert [s.kind for s in t.steps] == [
        StepKind.UNPACK,
        StepKind.WASH,
        StepKind.IRON,
        StepKind.PHOTOGRAPH,
        StepKind.RELABEL,
        StepKind.REPACKAGE,
    ]
    assert (t.steps[1].id, t.steps[1].n, t.steps[1].pictogram, t.steps[1].text_key) == (
        "r1/2",
        2,
        "washing-machine",
        "returns.step.wash",
    )
    assert shirt(category="garden").template == "general/outlet"  # the general template
    assert StepKind.TEST in [s.kind for s in shirt(category="electronics").steps]
    assert generate("r9", "X", "clothing", Grade.SCRAP, Disposition.RECYCLE) is None  # no reconditioning
    assert template_for("clothing", Disposition.SUPPLIER) == (
        "general/supplier",
        (StepKind.REPACKAGE, StepKind.RELABEL),
    )


def test_furniture_has_a_list_of_its_own_for_every_disposition_and_none_tests_a_plug() -> None:
    for d in (
        Disposition.RESTOCK,
        Disposition.OUTLET,
        Disposition.SECOND_HAND,
        Disposition.REPAIR,
        Disposition.SUPPLIER,
    ):
        found = template_for("furniture", d)
        assert found is not None and found[0] == f"furniture/{d.value}", d
        assert StepKind.TEST not in found[1] and StepKind.WASH not in found[1], d
    sofa = generate("s1", "SOFA-3", "furniture", Grade.C, Disposition.SECOND_HAND)
    assert sofa is not None and [s.kind for s in sofa.steps] == [
        StepKind.UNPACK,
        StepKind.CLEAN,
        StepKind.PHOTOGRAPH,
        StepKind.RELABEL,
        StepKind.REPACKAGE,
    ]


def test_changing_the_template_data_changes_the_list() -> None:
    quick = {**TEMPLATES, "clothing/outlet": (StepKind.UNPACK, StepKind.RELABEL)}
    t = generate("r1", "JAS-42", "clothing", Grade.B, Disposition.OUTLET, quick)
    assert t is not None and [s.kind for s in t.steps] == [StepKind.UNPACK, StepKind.RELABEL]


def test_same_templates_are_grouped_and_each_batch_goes_whole_to_the_least_loaded_worker() -> None:
    lists = [shirt("a"), shirt("b", category="electronics"), shirt("c"), shirt("d"), shirt("e", Disposition.RESTOCK)]
    batches = group(lists, batch_size=2)
    assert [(b.template, [t.item_id for t in b.lists]) for b in batches] == [
        ("clothing/outlet", ["a", "c"]),
        ("clothing/outlet", ["d"]),
        ("electronics/outlet", ["b"]),
        ("clothing/restock", ["e"]),
    ]
    given = assign(batches, ["sam", "noor"], load={"noor": 3})
    assert [(b.worker, b.steps) for b in given] == [("sam", 12), ("noor", 6), ("noor", 6), ("sam", 3)]
    assert all(t.worker == b.worker for b in given for t in b.lists)
    with pytest.raises(TaskError, match="No worker"):
        assign(batches, [])
    with pytest.raises(TaskError, match="at least one item"):
        group(lists, batch_size=0)


def test_a_batch_is_worked_step_by_step_across_its_items() -> None:
    (batch,) = group([shirt("a"), shirt("b")])
    order = [s.id for s in work_order(batch)]
    assert order[:4] == ["a/1", "b/1", "a/2", "b/2"] and len(order) == 12


def test_steps_go_in_order_with_problem_and_help_and_a_timer() -> None:
    w = begin(assigned_to(shirt(), "sam"))
    w = apply(w, ev(w, 1, "start", 0))
    w = apply(w, ev(w, 1, "done", 2))
    w = apply(w, ev(w, 2, "start", 2))
    w = apply(w, ev(w, 2, "problem", 5, note="stain stays"))
    assert w.states[1] is State.PROBLEM and w.current is not None and w.current.n == 2
    w = apply(w, ev(w, 2, "help", 6))
    w = apply(w, ev(w, 2, "resume", 10, by="supervisor"))
    w = apply(w, ev(w, 2, "done", 20))
    assert w.states[:3] == (State.DONE, State.DONE, State.PENDING)
    times = step_times(w)
    assert [(t.step_id, t.seconds, t.help_seconds) for t in times] == [("r1/1", 120.0, 0.0), ("r1/2", 1080.0, 240.0)]
    assert labour_minutes(w) == 20.0


def test_a_step_done_twice_is_refused_but_the_same_tap_replayed_changes_nothing() -> None:
    w = begin(shirt())
    w = apply(w, ev(w, 1, "start", 0))
    done = ev(w, 1, "done", 1)
    w = apply(w, done)
    assert apply(w, done) is w  # the replay
    with pytest.raises(TaskError, match=r"Step 1 \(unpack\) is already done"):
        apply(w, ev(w, 1, "done", 2, id="another-tap"))
    with pytest.raises(TaskError, match="already recorded with other values"):
        apply(w, Event(id=done.id, step_id=done.step_id, kind="done", at=done.at, by="noor"))


def test_bad_moves_are_refused_with_sentences() -> None:
    w = begin(assigned_to(shirt(), "sam"))
    with pytest.raises(TaskError, match=r"Step 1 \(unpack\) comes first"):
        apply(w, ev(w, 2, "start", 0))
    with pytest.raises(TaskError, match="Step 1 is pending; it cannot take 'done' now"):
        apply(w, ev(w, 1, "done", 0))
    with pytest.raises(TaskError, match="is sam's"):
        apply(w, ev(w, 1, "start", 0, by="noor"))
    with pytest.raises(TaskError, match="not on the task list"):
        apply(w, Event(id="x", step_id="zz/1", kind="start", at=T0, by="sam"))
    w = apply(w, ev(w, 1, "start", 5))
    with pytest.raises(TaskError, match="older than the last one"):
        apply(w, ev(w, 1, "done", 4))
    with pytest.raises(TaskError, match="Say who"):
        apply(w, ev(w, 1, "done", 6, by=" "))
    with pytest.raises(TaskError, match="Step 1 is active; it cannot take 'resume'"):
        apply(w, ev(w, 1, "resume", 6))


def work_through(w: Work, start: float = 0) -> Work:
    for n in range(1, len(w.task.steps) + 1):
        w = apply(w, ev(w, n, "start", start + n))
        w = apply(w, ev(w, n, "done", start + n + 0.5))
    return w


def test_the_final_check_comes_after_the_last_step_once() -> None:
    w = begin(assigned_to(shirt(), "sam"))
    with pytest.raises(TaskError, match=r"Step 1 \(unpack\) is not done yet"):
        final_check(w, True, "kim", T0)
    w = work_through(w)
    with pytest.raises(TaskError, match="someone other than the worker"):
        final_check(w, True, "sam", T0 + dt.timedelta(hours=1), four_eyes=True)
    with pytest.raises(TaskError, match="Say what is wrong"):
        final_check(w, False, "kim", T0 + dt.timedelta(hours=1))
    with pytest.raises(TaskError, match="older than the last step"):
        final_check(w, True, "kim", T0)
    at = T0 + dt.timedelta(hours=1)
    checked = final_check(w, True, "kim", at)
    assert checked.check is not None and checked.check.passed
    assert final_check(checked, True, "kim", at) is checked
    with pytest.raises(TaskError, match="already checked by kim"):
        final_check(checked, False, "kim", at, note="stain")
    with pytest.raises(TaskError, match="final check is done"):
        apply(checked, ev(checked, 1, "start", 90, id="late"))


def assigned_to(t: TaskList, worker: str) -> TaskList:
    (batch,) = assign(group([t]), [worker])
    return batch.lists[0]


def test_the_data_and_the_work_can_be_stored_as_json() -> None:
    for value, kind in ((DISPOSITIONS, DispositionTable), (REFUNDS, RefundTable), (CHECKLISTS["clothing"], Checklist)):
        assert msgspec.json.decode(msgspec.json.encode(value), type=kind) == value
    templates = msgspec.json.decode(msgspec.json.encode(TEMPLATES), type=dict[str, tuple[StepKind, ...]])
    assert templates == TEMPLATES
    w = begin(shirt())
    w = apply(w, ev(w, 1, "start", 0))
    assert msgspec.json.decode(msgspec.json.encode(w), type=Work) == w


def test_every_move_outside_the_table_is_refused() -> None:
    kinds: tuple[EventKind, ...] = ("start", "problem", "help", "resume", "done")
    paths: dict[State, tuple[EventKind, ...]] = {
        State.PENDING: (),
        State.ACTIVE: ("start",),
        State.PROBLEM: ("start", "problem"),
        State.HELP: ("start", "help"),
    }
    for state, path in paths.items():
        for kind in kinds:
            w = begin(shirt())
            for k, step in enumerate(path):
                w = apply(w, ev(w, 1, step, k))
            assert w.states[0] is state
            if (state, kind) in MOVES:
                assert apply(w, ev(w, 1, kind, 9)).states[0] is MOVES[(state, kind)]
            else:
                with pytest.raises(TaskError, match=f"cannot take '{kind}' now"):
                    apply(w, ev(w, 1, kind, 9))
