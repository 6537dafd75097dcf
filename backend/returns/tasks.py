"""Working through one item's task list: the step state machine, a timer per step, the final check.

A step goes  pending --start--> active --done--> done,  and while active it may be flagged:
active --problem--> problem, active|problem --help--> help (a supervisor is called),
problem|help --resume--> active, and problem|help --done--> done (solved on the spot or with help).
Steps are done in order, one at a time. Every event carries an id: the same event again (a
replayed tap) changes nothing; a *new* "done" on a step that is already done is refused with a
sentence, since it means the screen showed an old step.

Times come with the events (no clock here); an event earlier than the list's last event is
refused. A step's time runs from its start to its done; the time spent waiting for help is
counted as well (the worker was there) and also reported apart. After the last step the final
quality check passes or fails the list; a failed check needs a note and ends the list (re-grade
the item and generate a new list).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

import msgspec

from backend.returns.templates import Step, TaskError, TaskList

EventKind = Literal["start", "problem", "help", "resume", "done"]


class State(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PROBLEM = "problem"
    HELP = "help"
    DONE = "done"


# (from, event) -> to
MOVES: dict[tuple[State, str], State] = {
    (State.PENDING, "start"): State.ACTIVE,
    (State.ACTIVE, "problem"): State.PROBLEM,
    (State.ACTIVE, "help"): State.HELP,
    (State.PROBLEM, "help"): State.HELP,
    (State.PROBLEM, "resume"): State.ACTIVE,
    (State.HELP, "resume"): State.ACTIVE,
    (State.ACTIVE, "done"): State.DONE,
    (State.PROBLEM, "done"): State.DONE,
    (State.HELP, "done"): State.DONE,
}
_BY_WORKER = frozenset({"start", "problem", "help", "done"})  # a supervisor may resume


class Event(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # unique per tap; the same id again is a replay
    step_id: str
    kind: EventKind
    at: dt.datetime
    by: str
    note: str = ""


class Check(msgspec.Struct, frozen=True, kw_only=True):
    passed: bool
    by: str
    at: dt.datetime
    note: str = ""


class Work(msgspec.Struct, frozen=True, kw_only=True):
    task: TaskList
    states: tuple[State, ...]
    events: tuple[Event, ...] = ()
    check: Check | None = None

    @property
    def current(self) -> Step | None:
        """The step to show: the first one not done; None when all are."""
        return next((s for s, st in zip(self.task.steps, self.states, strict=True) if st is not State.DONE), None)

    @property
    def finished(self) -> bool:
        return all(st is State.DONE for st in self.states)


def begin(task: TaskList) -> Work:
    return Work(task=task, states=tuple(State.PENDING for _ in task.steps))


def apply(work: Work, event: Event) -> Work:
    """``work`` after ``event``; a replay of a recorded event answers ``work`` unchanged."""
    for seen in work.events:
        if seen.id == event.id:
            if seen != event:
                raise TaskError(f"Event {event.id} was already recorded with other values; give it a new id.")
            return work
    if work.check is not None:
        raise TaskError("This item's final check is done; its steps cannot change any more.")
    index = _index(work.task, event.step_id)
    step, state = work.task.steps[index], work.states[index]
    _check_who_and_when(work, event)
    if state is State.DONE:
        raise TaskError(f"Step {step.n} ({step.kind.value}) is already done; go on with the step on the screen.")
    current = work.current
    if current is not None and current.id != step.id:
        raise TaskError(f"Step {current.n} ({current.kind.value}) comes first; finish it before step {step.n}.")
    to = MOVES.get((state, event.kind))
    if to is None:
        raise TaskError(f"Step {step.n} is {state.value}; it cannot take '{event.kind}' now.")
    states = work.states[:index] + (to,) + work.states[index + 1 :]
    return msgspec.structs.replace(work, states=states, events=(*work.events, event))


def _index(task: TaskList, step_id: str) -> int:
    for i, s in enumerate(task.steps):
        if s.id == step_id:
            return i
    raise TaskError(f"Step {step_id} is not on the task list of item {task.item_id}.")


def _check_who_and_when(work: Work, event: Event) -> None:
    if not event.by.strip():
        raise TaskError("Say who did the step.")
    if work.task.worker and event.kind in _BY_WORKER and event.by != work.task.worker:
        raise TaskError(
            f"This task list is {work.task.worker}'s; take it over first, or ask a supervisor to hand it over."
        )
    if work.events and event.at < work.events[-1].at:
        raise TaskError("This event is older than the last one on the list; check the device's clock.")


def final_check(work: Work, passed: bool, by: str, at: dt.datetime, note: str = "", *, four_eyes: bool = False) -> Work:
    """Record the final quality check once; the same check again answers ``work`` unchanged.
    ``four_eyes``: someone other than the list's worker must check (a hub's choice)."""
    check = Check(passed=passed, by=by, at=at, note=note)
    if work.check is not None:
        if work.check == check:
            return work
        raise TaskError(f"Item {work.task.item_id} was already checked by {work.check.by}; a check is recorded once.")
    if not work.finished:
        step = work.current
        assert step is not None
        raise TaskError(f"Step {step.n} ({step.kind.value}) is not done yet; the check comes after the last step.")
    if not by.strip():
        raise TaskError("Say who did the check.")
    if four_eyes and by == work.task.worker:
        raise TaskError("The final check is done by someone other than the worker who did the steps.")
    if not passed and not note.strip():
        raise TaskError("Say what is wrong when the check fails, so the item can be graded again.")
    if work.events and at < work.events[-1].at:
        raise TaskError("The check is older than the last step; check the device's clock.")
    return msgspec.structs.replace(work, check=check)


class StepTime(msgspec.Struct, frozen=True, kw_only=True):
    step_id: str
    seconds: float  # from start to done, help included
    help_seconds: float  # of which waiting for help


def step_times(work: Work) -> list[StepTime]:
    """The time of every step that is done."""
    out = []
    for step, state in zip(work.task.steps, work.states, strict=True):
        if state is not State.DONE:
            continue
        evs = [e for e in work.events if e.step_id == step.id]
        start, done = evs[0].at, evs[-1].at
        helped, since = 0.0, None
        for e in evs:
            if e.kind == "help" and since is None:
                since = e.at
            elif e.kind in ("resume", "done") and since is not None:
                helped += (e.at - since).total_seconds()
                since = None
        out.append(StepTime(step_id=step.id, seconds=(done - start).total_seconds(), help_seconds=helped))
    return out


def labour_minutes(work: Work) -> float:
    return sum(t.seconds for t in step_times(work)) / 60
