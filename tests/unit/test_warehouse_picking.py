"""Picking one batch: every scan checked, short picks, skips, replays; every line ends picked once or short."""

import datetime as dt
import random

import msgspec

from backend.warehouse import picking
from backend.warehouse.barcodes import parse_scan, with_check_digit
from backend.warehouse.ledger import Ledger, Line, Place, Take, allocate
from backend.warehouse.picking import Answer, Effect, PickState
from backend.warehouse.products import Catalogue, Product
from backend.warehouse.waves import Cart, PickTask, plan_batches

JAS, SODA, TEA = with_check_digit("871234567890"), with_check_digit("871234567891"), with_check_digit("871234567892")
CAT = Catalogue(
    [
        Product(sku="JAS", name="Jacket", barcodes=(JAS,), weight_g=600, volume_ml=6000),
        Product(sku="SODA", name="Soda", barcodes=(SODA,), weight_g=400, volume_ml=500),
        Product(sku="TEA", name="Tea", barcodes=(TEA,), weight_g=100, volume_ml=300),
    ]
)
CART = Cart(totes=4, tote_volume=20, tote_weight=15)


def _task(tid: str, bin_: str, sku: str, qty: int, order: int | None, tote: int | None) -> PickTask:
    return PickTask(id=tid, bin=bin_, sku=sku, quantity=qty, lines=((tid, qty),), order_id=order, tote=tote)


# order 1 (tote 1): 2 soda and a tea; order 2 (tote 2): a jacket
TASKS = [
    _task("1.1", "A01-01-1", "SODA", 2, 1, 1),
    _task("2.1", "A01-02-1", "JAS", 1, 2, 2),
    _task("1.2", "B01-05-2", "TEA", 1, 1, 1),
]


def _sku(gtin: str) -> str | None:
    p = CAT.find_gtin(gtin)
    return p.sku if p else None


def _now(state: PickState) -> str | None:
    """The bin of the current line."""
    task = picking.current(state)
    return task.bin if task else None


class Picker:
    """Drives the machine as the scanner would: each scan its own id."""

    def __init__(self, state: PickState) -> None:
        self.state, self.n = state, 0

    def __call__(self, text: str, quantity: int = 1, scan_id: str | None = None) -> Answer:
        self.n += 1
        return picking.scan(self.state, scan_id or f"s{self.n}", parse_scan(text), _sku, quantity)


def _ready(tasks: list[PickTask] = TASKS) -> Picker:
    scan = Picker(picking.start("b1", tasks, in_use={"T-0009": "order 77"}))
    assert scan("T-0001").ok and scan("T-0002").ok
    return scan


def test_the_happy_path_through_a_batch() -> None:
    scan = _ready()
    assert picking.prompt(scan.state) == "Go to bin A01-01-1 and scan it."
    assert scan("A01-01-1").ok
    assert scan(SODA, quantity=2).ok
    done = scan("T-0001")
    assert done.effects == (
        Effect(kind="picked", task_id="1.1", bin="A01-01-1", sku="SODA", quantity=2, order_id=1, tote=1),
    )
    assert done.message == "2 × SODA in tote 1. Go to bin A01-02-1 and scan it."
    for text in ("A01-02-1", JAS, "T-0002", "B01-05-2", TEA, "T-0001"):
        assert scan(text).ok, text
    assert picking.phase(scan.state) == "done"
    assert picking.outcomes(scan.state) == {"1.1": (2, 0), "1.2": (1, 0), "2.1": (1, 0)}


def test_totes_in_use_elsewhere_or_twice_are_refused() -> None:
    scan = Picker(picking.start("b1", TASKS, in_use={"T-0009": "order 77"}))
    assert scan("A01-01-1").code == "scan_totes_first"
    assert scan("T-0009").message == "Tote T-0009 is already used for order 77; take an empty tote."
    assert scan("T-0001").ok
    assert scan("T-0001").message == "Tote T-0001 is already on place 1; take another."
    assert scan.state.totes == {1: "T-0001"}


def test_wrong_scans_are_refused_with_a_sentence_and_change_nothing() -> None:
    scan = _ready()
    before = msgspec.json.encode(msgspec.structs.replace(scan.state, answers={}))
    assert scan(SODA).message == "Scan bin A01-01-1 first."
    assert scan("A01-02-1").message == "Wrong bin: this is A01-02-1; go to A01-01-1."
    assert scan("8712345678905").message == "The check digit of 8712345678905 is wrong (expected 6); scan again."
    assert msgspec.json.encode(msgspec.structs.replace(scan.state, answers={})) == before
    assert scan("A01-01-1").ok
    assert scan(JAS).message == "JAS is for order 2, not this line: put it back and take SODA."
    assert scan(TEA).message == "Wrong product: this is TEA; take SODA from bin A01-01-1."
    assert scan(with_check_digit("400638133393")).code == "unknown_product"
    assert scan(SODA, quantity=3).message == "Too many: the line needs 2 more SODA; you scanned 3. Put 1 back."
    assert scan("T-0001").code == "tote_too_early"
    assert scan(SODA, quantity=2).ok
    assert scan("T-0002").message == "Tote T-0002 is for order 2; put it in tote 1 (T-0001)."
    assert scan("T-0005").message == "Tote T-0005 is not on this cart; put it in tote 1 (T-0001)."
    assert scan.state.picked["1.1"] == 0 and scan.state.in_hand == 2


def test_the_next_line_in_the_same_bin_needs_no_second_bin_scan() -> None:
    tasks = [_task("1.1", "A01-01-1", "SODA", 1, 1, 1), _task("2.1", "A01-01-1", "SODA", 1, 2, 2)]
    scan = _ready(tasks)
    for text in ("A01-01-1", SODA, "T-0001"):
        assert scan(text).ok
    assert picking.phase(scan.state) == "product"
    assert scan(SODA).ok and scan("T-0002").ok
    assert picking.outcomes(scan.state) == {"1.1": (1, 0), "2.1": (1, 0)}


def test_a_replayed_scan_changes_nothing_twice() -> None:
    scan = _ready()
    scan("A01-01-1")
    first = scan(SODA, scan_id="x1")
    assert scan(SODA, scan_id="x1") == first
    assert scan.state.in_hand == 1
    scan(SODA)
    put = scan("T-0001", scan_id="x2")
    again = scan("T-0001", scan_id="x2")
    assert again == put and scan.state.picked["1.1"] == 2
    assert picking.current(scan.state) == TASKS[1]
    # a replayed short pick or skip is one too
    assert picking.skip(scan.state, "k1") == picking.skip(scan.state, "k1")
    assert picking.current(scan.state) == TASKS[2]


def test_a_skipped_line_comes_back_last() -> None:
    scan = _ready()
    assert picking.skip(scan.state, "k1").message.startswith("Line SODA at bin A01-01-1 skipped")
    assert _now(scan.state) == "A01-02-1"
    for text in ("A01-02-1", JAS, "T-0002", "B01-05-2", TEA, "T-0001", "A01-01-1"):
        assert scan(text).ok, text
    assert scan(SODA).ok
    assert picking.skip(scan.state, "k2").code == "hands_full"
    assert scan(SODA).ok and scan("T-0001").ok
    assert picking.outcomes(scan.state) == {"1.1": (2, 0), "1.2": (1, 0), "2.1": (1, 0)}


def test_a_short_pick_moves_the_line_to_another_bin_and_reports_the_rest() -> None:
    tasks = [_task("1.1", "A01-01-1", "SODA", 5, 1, 1), _task("2.1", "A01-02-1", "JAS", 1, 2, 2)]
    scan = _ready(tasks)
    scan("A01-01-1")
    scan(SODA, quantity=2)
    short = picking.report_short(scan.state, "sp1", alternatives=[("C02-03-1", 2)])
    assert short.ok and short.message.startswith("Short pick recorded; moved to bin C02-03-1, 1 short.")
    assert short.effects == (
        Effect(kind="bin_short", task_id="1.1", bin="A01-01-1", sku="SODA", quantity=3, counted=2, order_id=1),
    )
    assert picking.report_short(scan.state, "sp1") == short  # replayed: nothing moves twice
    # the two in hand go into the tote, then the moved line comes next, before order 2
    assert scan("T-0001").effects[0].quantity == 2
    assert _now(scan.state) == "C02-03-1"
    for text in ("C02-03-1", SODA, SODA, "T-0001"):
        assert scan(text).ok, text
    # the jacket's bin is empty and no other bin has one: flagged short
    scan("A01-02-1")
    assert picking.report_short(scan.state, "sp2").message.startswith(
        "Short pick recorded; moved to no other bin, 1 short."
    )
    assert picking.phase(scan.state) == "done"
    assert picking.outcomes(scan.state) == {"1.1": (4, 1), "2.1": (0, 1)}
    for line, (got, missing) in picking.outcomes(scan.state).items():
        assert got + missing == {"1.1": 5, "2.1": 1}[line]


def test_a_bin_counted_empty_moves_the_batchs_other_lines_at_it_too() -> None:
    # orders 1, 2 and 3 all want SODA from A01-01-1; order 2 also wants a tea from B01-05-2
    tasks = [
        _task("1.1", "A01-01-1", "SODA", 2, 1, 1),
        _task("2.1", "A01-01-1", "SODA", 2, 2, 2),
        _task("3.1", "A01-01-1", "SODA", 1, 3, 3),
        _task("2.2", "B01-05-2", "TEA", 1, 2, 2),
    ]
    scan = Picker(picking.start("b1", tasks))
    for code in ("T-0001", "T-0002", "T-0003", "A01-01-1"):
        assert scan(code).ok
    # three units left elsewhere: the current line takes 2, the next 1, the last none
    short = picking.report_short(scan.state, "sp1", alternatives=[("C02-03-1", 1), ("C02-04-1", 2)])
    assert short.ok and "2 more line(s) at bin A01-01-1 moved too" in short.message, short.message
    assert [e.kind for e in short.effects] == ["bin_short"]  # the bin is counted once
    state = scan.state
    assert all(state.tasks[t].bin != "A01-01-1" for t in state.queue)  # nobody walks to the empty bin
    moved = {tid: (state.tasks[tid].bin, state.tasks[tid].quantity) for tid in state.queue if ">" in tid}
    assert moved == {"1.1>C02-03-1": ("C02-03-1", 1), "1.1>C02-04-1": ("C02-04-1", 1), "2.1>C02-04-1": ("C02-04-1", 1)}
    assert state.short == {**state.short, "1.1": 0, "2.1": 1, "3.1": 1}
    outcomes = picking.outcomes(state)
    assert outcomes["3.1"] == (0, 1) and outcomes["2.1"][1] == 1  # reported short at once
    # the picker works on through the moved lines; every line ends picked or short
    while picking.phase(state) != "done":
        cur = picking.current(state)
        assert cur is not None
        gtin = {"SODA": SODA, "TEA": TEA}[cur.sku]
        for text in (cur.bin, gtin, f"T-000{cur.tote}"):
            if picking.phase(state) == "bin" or text != cur.bin:
                assert scan(text).ok, (text, state.queue)
    assert picking.outcomes(state) == {"1.1": (2, 0), "2.1": (1, 1), "2.2": (1, 0), "3.1": (0, 1)}


def test_pick_then_sort_lines_have_no_tote_and_a_short_is_shared_over_the_lines() -> None:
    bulk = PickTask(
        id="SODA@A", bin="A01-01-1", sku="SODA", quantity=4, lines=(("1.1", 3), ("2.1", 1)), order_id=None, tote=None
    )
    scan = Picker(picking.start("b2", [bulk]))
    assert picking.phase(scan.state) == "bin"
    scan("A01-01-1")
    took = scan(SODA, quantity=2)
    assert took.effects[0].quantity == 2 and took.effects[0].tote is None
    assert picking.report_short(scan.state, "sp").ok
    assert picking.outcomes(scan.state) == {"1.1": (2, 1), "2.1": (0, 1)}


def test_a_wave_from_the_ledger_through_picking_back_to_the_ledger() -> None:
    """The seams together as the service will use them: allocate from the ledger, plan the
    batch, pick with a short pick whose alternatives come from the ledger less what the
    batch still holds, and write the effects back. The ledger balances at the end."""
    at = dt.datetime(2026, 12, 2, 12, tzinfo=dt.UTC)
    a1, a2, c1, b1 = (Place("bin", c) for c in ("A01-01-1", "A01-02-1", "C02-03-1", "B01-05-2"))
    shop = Place("shop", "17")
    ledger = Ledger()
    for i, (place, sku, n) in enumerate(
        [(a1, "SODA", 3), (a2, "SODA", 2), (c1, "SODA", 1), (b1, "JAS", 1), (shop, "TEA", 5)]
    ):
        ledger.receive(f"r{i}", place, sku, n, "anna", at, "opening stock")
    lines = [
        Line(id="1.1", order_id=1, sku="SODA", quantity=2),
        Line(id="1.2", order_id=1, sku="TEA", quantity=1),  # none in the hub: from shop 17
        Line(id="2.1", order_id=2, sku="SODA", quantity=2),
        Line(id="2.2", order_id=2, sku="JAS", quantity=1),
    ]
    allocs = allocate(lines, ledger.stock_of)
    assert [a.takes for a in allocs] == [(Take(a1, 2),), (Take(shop, 1),), (Take(a2, 2),), (Take(b1, 1),)]
    (plan,) = plan_batches(allocs, CAT, CART, "sort_while_picking", batcher=lambda orders, cart: [[1, 2]])
    scan = Picker(picking.start("b1", plan.tasks))
    effects: list[Effect] = []
    for text in ("T-0001", "T-0002", "A01-01-1", SODA):
        effects += scan(text).effects
    # A01-01-1 holds one soda, not three: short, and the missing one from a bin the batch does not hold
    held = picking.open_units(scan.state)
    free = {p.code: n - held.get((p.code, "SODA"), 0) for p, n in ledger.stock_of("SODA").items() if p != a1}
    assert free == {"A01-02-1": 0, "C02-03-1": 1}
    effects += picking.report_short(scan.state, "sp1", [(b, n) for b, n in free.items() if n > 0]).effects
    assert _now(scan.state) == "A01-01-1"  # the one in hand first
    picking.resequence(scan.state, sorted)  # then the moved line in walking order: C02 after B01
    for text in ("T-0001", "A01-02-1", SODA, SODA, "T-0002", "B01-05-2", JAS, "T-0002", "C02-03-1", SODA, "T-0001"):
        answer = scan(text)
        assert answer.ok, (text, answer.message)
        effects += answer.effects
    assert picking.phase(scan.state) == "done"
    assert picking.outcomes(scan.state) == {"1.1": (2, 0), "2.1": (2, 0), "2.2": (1, 0)}
    for i, e in enumerate(effects):  # the service writes each effect as it comes
        if e.kind == "bin_short":
            ledger.count(f"e{i}", Place("bin", e.bin), e.sku, e.counted or 0, "piet", at, "short pick")
        else:
            ledger.pick(f"e{i}", Place("bin", e.bin), e.sku, e.quantity, "piet", at, f"order {e.order_id}")
    ledger.pick("collect", shop, "TEA", 1, "courier", at, "order 1, ship-from-store")
    assert ledger.balances() == {(shop, "TEA"): 4}
    assert [m.quantity for m in ledger.movements if m.kind == "correction"] == [-2]


def _right_move(state: PickState, rng: random.Random) -> tuple[str, int]:
    """The scan a careful picker makes next: (text, quantity)."""
    p, task = picking.phase(state), picking.current(state)
    if p == "totes":
        return f"T-{len(state.totes) + 1:04d}", 1
    assert task is not None
    if p == "bin":
        return task.bin, 1
    if p == "tote":
        return state.totes[task.tote or 0], 1
    left = state.target[task.id] - state.picked[task.id] - state.in_hand
    return {"SODA": SODA, "JAS": JAS, "TEA": TEA}[task.sku], rng.randint(1, left)


def test_whatever_the_picker_does_every_line_ends_picked_once_or_short() -> None:
    """Seeded walks of right scans, wrong scans, replays, skips and short picks: the
    units picked (the effects) and reported short add up to every line's quantity."""
    codes = {"SODA": SODA, "JAS": JAS, "TEA": TEA}
    for seed in range(150):
        rng = random.Random(seed)
        tasks = [
            _task(f"{o}.{i}", f"A{rng.randint(1, 3):02d}-0{i}-1", rng.choice(sorted(codes)), rng.randint(1, 4), o, o)
            for o in (1, 2)
            for i in (1, 2)
        ]
        state = picking.start("b", tasks)
        events: list[tuple[str, Answer]] = []
        for step in range(400):
            if picking.phase(state) == "done":
                break
            roll, eid = rng.random(), f"e{step}"
            if roll < 0.1 and events:  # a replay: the first answer, nothing changed
                old_id, old = rng.choice(events)
                assert picking.scan(state, old_id, parse_scan(SODA), _sku) == old
                continue
            if roll < 0.2:
                wrong = rng.choice([*codes.values(), "A09-09-9", "T-0099", "8712345678905"])
                answer = picking.scan(state, eid, parse_scan(wrong), _sku, rng.randint(1, 5))
            elif roll < 0.25 and step < 300:
                answer = picking.skip(state, eid)
            elif roll < 0.3:
                alternatives = [(f"C0{rng.randint(1, 3)}-0{step % 10}-1", rng.randint(0, 3))]
                answer = picking.report_short(state, eid, alternatives if rng.random() < 0.5 else [])
            else:
                text, qty = _right_move(state, rng)
                answer = picking.scan(state, eid, parse_scan(text), _sku, qty)
                assert answer.ok, (seed, step, text, answer.message)
            events.append((eid, answer))
        assert picking.phase(state) == "done", seed
        picked: dict[str, int] = {}
        for _, answer in events:
            for e in answer.effects:
                if e.kind == "picked":
                    task = state.tasks[e.task_id]
                    picked[task.id] = picked.get(task.id, 0) + e.quantity
        assert picked == {t: n for t, n in state.picked.items() if n}, seed
        outcome = picking.outcomes(state)
        assert {line: got + short for line, (got, short) in outcome.items()} == {t.id: t.quantity for t in tasks}, seed
