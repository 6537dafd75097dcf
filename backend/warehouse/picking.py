"""Picking one batch, pure: the state machine behind the picker's scanner.

The picker scans the cart's totes (each bound to its place on the cart; a tote in use
for another order is refused), then per pick line, in walking order: the bin, the
product (with a quantity), and the tote the line says. A wrong bin, a wrong product, a
product of another order's line, too many, the wrong tote: an answer with a sentence and
nothing changed. A short pick (the bin is empty) moves what is missing to other bins
with stock, given by the caller, or reports it short. A line may be skipped and comes back
after the others. An event carries an id: the same id again answers the first answer and
changes nothing. Every line ends picked exactly once or reported short (``outcomes``).

The machine never reads the ledger: its answers carry ``effects`` (a pick from a bin, a
bin found short) that the service writes to the stock ledger in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

from backend.warehouse.barcodes import Scan
from backend.warehouse.waves import PickTask

Phase = Literal["totes", "bin", "product", "tote", "done"]


class Effect(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["picked", "bin_short"]
    task_id: str
    bin: str
    sku: str
    quantity: int  # picked: units into the tote; bin_short: units of the line the bin did not have
    # bin_short: what the bin holds now by the picker's eye, for the ledger's count: the units in
    # hand, not yet posted as picked (their "picked" effect follows), so the bin ends at 0
    counted: int | None = None
    order_id: int | None = None
    tote: int | None = None


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    code: str  # for the app's sound and translation: "ok", "wrong_bin", "wrong_product", ...
    message: str
    effects: tuple[Effect, ...] = ()


class PickState(msgspec.Struct, kw_only=True):
    """Everything of one batch's picking; a msgspec Struct so the service can keep it as JSON."""

    batch_id: str
    tasks: dict[str, PickTask]
    queue: list[str]  # open tasks, the current first; a skipped one goes to the end
    target: dict[str, int]  # units a task is to pick now (its quantity, less what a short pick moved)
    picked: dict[str, int]
    short: dict[str, int]
    slots: list[int]  # the cart's tote places the batch uses
    totes: dict[int, str] = {}  # place on the cart -> tote code
    in_use: dict[str, str] = {}  # tote code -> what holds it elsewhere ("order 17")
    in_hand: int = 0
    at_bin: bool = False
    answers: dict[str, Answer] = {}


def start(batch_id: str, tasks: Sequence[PickTask], in_use: dict[str, str] | None = None) -> PickState:
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("Two pick tasks share one id.")
    return PickState(
        batch_id=batch_id,
        tasks={t.id: t for t in tasks},
        queue=ids,
        target={t.id: t.quantity for t in tasks},
        picked={t.id: 0 for t in tasks},
        short={t.id: 0 for t in tasks},
        slots=sorted({t.tote for t in tasks if t.tote is not None}),
        in_use=dict(in_use or {}),
    )


def phase(state: PickState) -> Phase:
    if len(state.totes) < len(state.slots):
        return "totes"
    if not state.queue:
        return "done"
    task = state.tasks[state.queue[0]]
    if not state.at_bin:
        return "bin"
    if task.tote is not None and state.in_hand and state.picked[task.id] + state.in_hand >= state.target[task.id]:
        return "tote"
    return "product"


def current(state: PickState) -> PickTask | None:
    return state.tasks[state.queue[0]] if state.queue and phase(state) != "totes" else None


def prompt(state: PickState) -> str:
    """What the picker does next, as a sentence."""
    p, task = phase(state), current(state)
    if p == "totes":
        return f"Scan an empty tote for place {state.slots[len(state.totes)]} on the cart."
    if p == "done" or task is None:
        return "The batch is done."
    left = state.target[task.id] - state.picked[task.id] - state.in_hand
    if p == "bin":
        return f"Go to bin {task.bin} and scan it."
    if p == "product":
        return f"Take {left} × {task.sku} from bin {task.bin} and scan it."
    return f"Put the {state.in_hand} × {task.sku} into tote {task.tote} ({state.totes[task.tote or 0]}) and scan it."


def _answer(
    state: PickState, event_id: str, ok: bool, code: str, message: str, effects: Sequence[Effect] = ()
) -> Answer:
    answer = Answer(
        ok=ok, code=code, message=message if not ok else f"{message} {prompt(state)}", effects=tuple(effects)
    )
    state.answers[event_id] = answer
    return answer


def _order_of(task: PickTask) -> str:
    return f"order {task.order_id}" if task.order_id is not None else "another line"


def _complete(state: PickState, task: PickTask) -> Effect:
    n = state.in_hand
    state.picked[task.id] += n
    state.in_hand = 0
    if state.picked[task.id] >= state.target[task.id]:
        state.queue.pop(0)
        # the next line in the same bin needs no second bin scan
        state.at_bin = bool(state.queue) and state.tasks[state.queue[0]].bin == task.bin
    return Effect(
        kind="picked", task_id=task.id, bin=task.bin, sku=task.sku, quantity=n, order_id=task.order_id, tote=task.tote
    )


def scan(state: PickState, event_id: str, what: Scan, sku_of: Callable[[str], str | None], quantity: int = 1) -> Answer:
    """Apply one scan; ``sku_of`` gives the SKU of a GTIN (None: not a product we stock)."""
    if event_id in state.answers:
        return state.answers[event_id]
    if what.kind == "unknown":
        return _answer(
            state, event_id, False, "unreadable", what.error or "That scan is not a code we know; scan again."
        )
    p = phase(state)
    if p == "done":
        return _answer(state, event_id, False, "done", "The batch is done; take the cart to the packing station.")
    if p == "totes":
        return _bind_tote(state, event_id, what)
    task = state.tasks[state.queue[0]]
    if what.kind == "location":
        if what.code != task.bin:
            if p == "bin":
                return _answer(
                    state, event_id, False, "wrong_bin", f"Wrong bin: this is {what.code}; go to {task.bin}."
                )
            return _answer(
                state,
                event_id,
                False,
                "wrong_bin",
                f"Finish bin {task.bin} first ({task.sku}), skip the line, or report it short.",
            )
        state.at_bin = True
        return _answer(state, event_id, True, "ok", f"Bin {task.bin}.")
    if what.kind == "product":
        if p == "bin":
            return _answer(state, event_id, False, "scan_bin_first", f"Scan bin {task.bin} first.")
        return _take(state, event_id, task, what, sku_of, quantity)
    if what.kind == "tote":
        if p != "tote":
            return _answer(state, event_id, False, "tote_too_early", f"Take the {task.sku} first. {prompt(state)}")
        return _put(state, event_id, task, what.code)
    return _answer(
        state, event_id, False, "not_here", f"A pallet code ({what.code}) is not part of picking. {prompt(state)}"
    )


def _bind_tote(state: PickState, event_id: str, what: Scan) -> Answer:
    if what.kind != "tote":
        return _answer(state, event_id, False, "scan_totes_first", f"Scan the cart's totes first. {prompt(state)}")
    if what.code in state.in_use:
        return _answer(
            state,
            event_id,
            False,
            "tote_in_use",
            f"Tote {what.code} is already used for {state.in_use[what.code]}; take an empty tote.",
        )
    taken = next((slot for slot, code in state.totes.items() if code == what.code), None)
    if taken is not None:
        return _answer(
            state, event_id, False, "tote_in_use", f"Tote {what.code} is already on place {taken}; take another."
        )
    slot = state.slots[len(state.totes)]
    state.totes[slot] = what.code
    return _answer(state, event_id, True, "ok", f"Tote {what.code} on place {slot}.")


def _take(
    state: PickState, event_id: str, task: PickTask, what: Scan, sku_of: Callable[[str], str | None], quantity: int
) -> Answer:
    sku = sku_of(what.code)
    if sku is None:
        return _answer(
            state,
            event_id,
            False,
            "unknown_product",
            f"Barcode {what.text or what.code} is not a product we stock; put it aside.",
        )
    if sku != task.sku:
        other = next(
            (t for i in state.queue[1:] if (t := state.tasks[i]).sku == sku and t.order_id != task.order_id), None
        )
        if other is not None and task.order_id is not None:
            return _answer(
                state,
                event_id,
                False,
                "other_order",
                f"{sku} is for {_order_of(other)}, not this line: put it back and take {task.sku}.",
            )
        return _answer(
            state,
            event_id,
            False,
            "wrong_product",
            f"Wrong product: this is {sku}; take {task.sku} from bin {task.bin}.",
        )
    n = what.quantity if what.quantity is not None else quantity
    left = state.target[task.id] - state.picked[task.id] - state.in_hand
    if n <= 0:
        return _answer(state, event_id, False, "bad_quantity", f"A quantity must be at least 1, not {n}.")
    if n > left:
        return _answer(
            state,
            event_id,
            False,
            "too_many",
            f"Too many: the line needs {left} more {task.sku}; you scanned {n}. Put {n - left} back.",
        )
    state.in_hand += n
    if task.tote is None:  # no tote to confirm: the scan is the pick
        effect = _complete(state, task)
        return _answer(state, event_id, True, "ok", f"{effect.quantity} × {task.sku} picked.", [effect])
    return _answer(state, event_id, True, "ok", f"{n} × {task.sku}.")


def _put(state: PickState, event_id: str, task: PickTask, tote_code: str) -> Answer:
    slot = task.tote or 0
    if state.totes.get(slot) != tote_code:
        owner = next((s for s, c in state.totes.items() if c == tote_code), None)
        if owner is not None:
            holder = next((t for t in state.tasks.values() if t.tote == owner), None)
            whose = _order_of(holder) if holder is not None else f"place {owner}"
            msg = f"Tote {tote_code} is for {whose}; put it in tote {slot} ({state.totes[slot]})."
        else:
            msg = f"Tote {tote_code} is not on this cart; put it in tote {slot} ({state.totes[slot]})."
        return _answer(state, event_id, False, "wrong_tote", msg)
    effect = _complete(state, task)
    return _answer(state, event_id, True, "ok", f"{effect.quantity} × {task.sku} in tote {slot}.", [effect])


def _split(
    lines: tuple[tuple[str, int], ...], first: int
) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """The task's lines cut after ``first`` units: (what stays, what moves)."""
    head, tail = [], []
    for line, n in lines:
        keep = min(n, max(first, 0))
        first -= keep
        if keep:
            head.append((line, keep))
        if n - keep:
            tail.append((line, n - keep))
    return tuple(head), tuple(tail)


def report_short(state: PickState, event_id: str, alternatives: Sequence[tuple[str, int]] = ()) -> Answer:
    """The current bin holds no more of the line's product. What is not in hand moves to
    ``alternatives`` (other bins with stock: (bin, available), in the order to visit them,
    from the service's allocation); what they cannot cover is reported short."""
    if event_id in state.answers:
        return state.answers[event_id]
    task = current(state)
    if task is None or phase(state) not in ("bin", "product"):
        return _answer(
            state, event_id, False, "nothing_to_short", f"There is no line to report short now. {prompt(state)}"
        )
    have = state.picked[task.id] + state.in_hand
    free = {b: n for b, n in alternatives if b != task.bin}
    moved, missing = _moved(task, have, state.target[task.id] - have, free)
    # The bin is counted empty: the batch's other open lines at it move too, now rather than
    # when the picker gets there (to what the alternatives still have after this line).
    others = [
        state.tasks[tid]
        for tid in state.queue[1:]
        if state.tasks[tid].bin == task.bin and state.tasks[tid].sku == task.sku
    ]
    moved_others = [(t, *_moved(t, state.picked[t.id], state.target[t.id] - state.picked[t.id], free)) for t in others]
    if any(t.id in state.tasks for t in [*moved, *(m for _, ms, _ in moved_others for m in ms)]):
        return _answer(
            state, event_id, False, "already_moved", "This line was already moved to that bin; report it short."
        )
    effect = Effect(
        kind="bin_short",
        task_id=task.id,
        bin=task.bin,
        sku=task.sku,
        quantity=state.target[task.id] - have,
        order_id=task.order_id,
        counted=state.in_hand,
    )
    state.target[task.id] = have
    state.short[task.id] = missing
    for t in [*moved, *(m for _, ms, _ in moved_others for m in ms)]:
        state.tasks[t.id], state.target[t.id], state.picked[t.id], state.short[t.id] = t, t.quantity, 0, 0
    for other, ms, left in moved_others:  # in the queue where the line was: resequence() walks them
        at = state.queue.index(other.id)
        state.queue[at : at + 1] = [m.id for m in ms]
        state.target[other.id] = state.picked[other.id]
        state.short[other.id] = left
    if state.in_hand == 0:  # nothing to put away: the line is over here
        state.queue.pop(0)
        state.at_bin = False
        state.queue[0:0] = [t.id for t in moved]
    else:  # the picker puts what is in hand into the tote first, then goes on to the moved lines
        state.queue[1:1] = [t.id for t in moved]
    where = ", ".join(f"bin {t.bin}" for t in moved) or "no other bin"
    also = f" {len(others)} more line(s) at bin {task.bin} moved too." if others else ""
    message = f"Short pick recorded; moved to {where}, {missing} short.{also}"
    return _answer(state, event_id, True, "ok", message, [effect])


def _moved(task: PickTask, have: int, missing: int, free: dict[str, int]) -> tuple[list[PickTask], int]:
    """The ``missing`` units of ``task`` (after its first ``have``) as new tasks at the bins of
    ``free`` (bin -> units available, in visiting order; taken from it), and what none covers."""
    _, moving = _split(task.lines, have)
    moved: list[PickTask] = []
    for bin_code, available in free.items():
        n = min(missing, available)
        if n <= 0:
            continue
        portion, moving = _split(moving, n)
        moved.append(msgspec.structs.replace(task, id=f"{task.id}>{bin_code}", bin=bin_code, quantity=n, lines=portion))
        free[bin_code] -= n
        missing -= n
    return moved, missing


def skip(state: PickState, event_id: str) -> Answer:
    """Put the current line last; it comes back after the others."""
    if event_id in state.answers:
        return state.answers[event_id]
    task = current(state)
    if task is None:
        return _answer(state, event_id, False, "nothing_to_skip", f"There is no line to skip now. {prompt(state)}")
    if state.in_hand:
        return _answer(
            state, event_id, False, "hands_full", f"Put the {state.in_hand} × {task.sku} in the tote or back first."
        )
    state.queue.append(state.queue.pop(0))
    state.at_bin = False
    return _answer(state, event_id, True, "ok", f"Line {task.sku} at bin {task.bin} skipped; it comes back last.")


def resequence(state: PickState, path: Callable[[list[str]], list[str]]) -> None:
    """Put the open lines in walking order again (``path``: bins in walking order, from the
    routing), e.g. after a short pick moved a line; the line in hand stays first."""
    keep = 1 if state.queue and (state.at_bin or state.in_hand) else 0
    rest = state.queue[keep:]
    rank = {b: i for i, b in enumerate(path(sorted({state.tasks[t].bin for t in rest})))}
    state.queue[keep:] = sorted(rest, key=lambda t: rank[state.tasks[t].bin])  # stable: ties keep their order


def open_units(state: PickState) -> dict[tuple[str, str], int]:
    """Units per (bin, SKU) this batch still means to take (in hand included): stock the
    service keeps out of another allocation, e.g. the alternatives of a short pick."""
    out: dict[tuple[str, str], int] = {}
    for tid in state.queue:
        t = state.tasks[tid]
        n = state.target[tid] - state.picked[tid]
        if n > 0:
            out[(t.bin, t.sku)] = out.get((t.bin, t.sku), 0) + n
    return out


def outcomes(state: PickState) -> dict[str, tuple[int, int]]:
    """Per order line: (units picked, units reported short). A line is settled when they add up
    to its quantity. A task's first units are the picked ones, its last ones the short ones;
    those between moved to another bin (a task of their own) or are still to pick."""
    out: dict[str, list[int]] = {}
    for task in state.tasks.values():
        got = _split(task.lines, state.picked[task.id])[0]
        short = _split(task.lines, task.quantity - state.short[task.id])[1]
        for line, _ in task.lines:
            out.setdefault(line, [0, 0])
        for line, n in got:
            out[line][0] += n
        for line, n in short:
            out[line][1] += n
    return {line: (p, s) for line, (p, s) in sorted(out.items())}
