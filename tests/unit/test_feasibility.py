"""The feasibility checker: one hand-broken plan per rule, and solver output passes."""

from __future__ import annotations

import math

import msgspec
import pytest

from backend.dispatch.feasibility import check, check_route
from backend.dispatch.model import (
    Plan,
    PlannedStop,
    Problem,
    Route,
    Sequence,
    Stop,
    Unplanned,
    Vehicle,
    Window,
)
from backend.dispatch.solver import solve

H = 3600
# hub (0, 0); A (1000, 0); B (1000, 1000); C (0, 1000); straight lines at 5 m/s
PTS = [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]
DIST = [[round(math.dist(a, b)) for b in PTS] for a in PTS]
TIME = [[d // 5 for d in row] for row in DIST]


def base_problem(**vehicle_kw) -> Problem:
    kw = {
        "shift": Window(8 * H, 18 * H),
        "payload_kg": 50.0,
        "volume_l": 100.0,
        "max_distance_m": 10_000,
    }
    kw.update(vehicle_kw)
    return Problem(
        time_s=TIME,
        dist_m=DIST,
        vehicles=(
            Vehicle(id="a", start_location=0, end_location=0, **kw),
            Vehicle(id="b", start_location=0, end_location=0, **kw),
        ),
        stops=(
            Stop(
                id="d1",
                kind="delivery",
                location=1,
                weight_kg=10,
                volume_l=20,
                windows=(Window(9 * H, 10 * H),),
                service_s=60,
            ),
            Stop(id="p", kind="pickup", location=3, weight_kg=5, volume_l=5),
            Stop(id="d2", kind="delivery", location=2, pickups=("p",)),
        ),
    )


def simulate(
    problem: Problem,
    vehicle_id: str,
    ids: list[str],
    depart: int,
    starts: dict[str, int] | None = None,
) -> Route:
    """A consistent route for the order ``ids`` (test-side, independent of the solver)."""
    starts = starts or {}
    v = next(v for v in problem.vehicles if v.id == vehicle_id)
    stops = {s.id: s for s in problem.stops}
    t, loc, dist = depart, v.start_location, 0
    kg = sum(stops[i].weight_kg for i in ids if stops[i].kind == "delivery" and not stops[i].pickups)
    litres = sum(stops[i].volume_l for i in ids if stops[i].kind == "delivery" and not stops[i].pickups)
    out = []
    seen = set()
    for i in ids:
        seen.add(i)
        s = stops[i]
        arr = t + round(problem.time_s[loc][s.location] / v.speed_factor)
        dist += problem.dist_m[loc][s.location]
        st = starts.get(i, max([arr] + [w.start for w in s.windows if w.end >= arr][:1]))
        t = st + s.service_s
        if s.kind == "pickup":
            kg, litres = kg + s.weight_kg, litres + s.volume_l
        elif s.pickups:
            kg -= sum(stops[p].weight_kg for p in s.pickups if p in seen)
            litres -= sum(stops[p].volume_l for p in s.pickups if p in seen)
        else:
            kg, litres = kg - s.weight_kg, litres - s.volume_l
        out.append(
            PlannedStop(
                stop_id=i,
                arrival_s=arr,
                start_s=st,
                departure_s=t,
                load_kg=kg,
                load_l=litres,
                distance_m=dist,
            )
        )
        loc = s.location
    end = t + round(problem.time_s[loc][v.end_location] / v.speed_factor)
    dist += problem.dist_m[loc][v.end_location]
    return Route(
        vehicle_id=vehicle_id,
        stops=tuple(out),
        start_s=depart,
        end_s=end,
        distance_m=dist,
        duration_s=end - depart,
    )


def plan_of(*routes: Route, unplanned: tuple[Unplanned, ...] = ()) -> Plan:
    return Plan(
        routes=routes,
        unplanned=unplanned,
        cost=0,
        distance_m=sum(r.distance_m for r in routes),
        duration_s=sum(r.duration_s for r in routes),
        solve_s=0.0,
        status="feasible",
    )


GOOD_ORDER = ["p", "d2", "d1"]  # hub -> C -> B -> A -> hub, 4000 m
DEPART = 8 * H + 50 * 60


def good_plan(problem: Problem | None = None) -> Plan:
    return plan_of(simulate(problem or base_problem(), "a", GOOD_ORDER, DEPART))


def rules(problem: Problem, plan: Plan) -> set[str]:
    return {v.rule for v in check(problem, plan)}


def test_the_hand_made_plan_is_feasible():
    plan = good_plan()
    assert plan.routes[0].distance_m == 4000
    assert check(base_problem(), plan) == []


def _unknown_stop():
    p = base_problem()
    r = good_plan().routes[0]
    extra = msgspec.structs.replace(r.stops[-1], stop_id="ghost")
    return p, plan_of(msgspec.structs.replace(r, stops=r.stops + (extra,)))


def _duplicate_stop():
    p = base_problem()
    return p, plan_of(*good_plan().routes, unplanned=(Unplanned(stop_id="d1", reason="no_capacity", detail=""),))


def _missing_stop():
    p = base_problem()
    return p, plan_of(simulate(p, "a", ["p", "d2"], DEPART))


def _wrong_vehicle():
    p = base_problem()
    stops = tuple(msgspec.structs.replace(s, vehicles=("b",)) if s.id == "d1" else s for s in p.stops)
    p = msgspec.structs.replace(p, stops=stops)
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART))


def _pickup_delivery():
    p = base_problem()
    return p, plan_of(simulate(p, "a", ["d1", "d2", "p"], 9 * H - 200))


def _pickup_on_other_route():
    p = base_problem()
    return p, plan_of(simulate(p, "a", ["d2", "d1"], DEPART), simulate(p, "b", ["p"], DEPART))


def _window():
    p = base_problem()
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART, starts={"d1": 10 * H + 1800}))


def _shift():
    p = base_problem()
    return p, plan_of(simulate(p, "a", ["d1", "p", "d2"], 7 * H, starts={"d1": 9 * H}))


def _shift_end():
    p = base_problem(shift=Window(8 * H, 9 * H + 120))
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART))


def _payload():
    p = base_problem(payload_kg=12.0)  # 10 kg loaded at the hub + 5 kg collected
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART))


def _payload_at_start():
    p = base_problem(payload_kg=9.0)  # the hub-loaded 10 kg alone is too much
    return p, plan_of(simulate(p, "a", ["d1", "p", "d2"], 9 * H - 200))


def _volume():
    p = base_problem(volume_l=22.0)
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART))


def _range():
    p = base_problem(max_distance_m=3000)
    return p, plan_of(simulate(p, "a", GOOD_ORDER, DEPART))


def _timing_arrival():
    p = base_problem()
    r = good_plan().routes[0]
    first = msgspec.structs.replace(
        r.stops[0],
        arrival_s=r.stops[0].arrival_s - 100,
        start_s=r.stops[0].start_s - 100,
        departure_s=r.stops[0].departure_s - 100,
    )
    return p, plan_of(msgspec.structs.replace(r, stops=(first,) + r.stops[1:]))


def _timing_service():
    p = base_problem()
    r = good_plan().routes[0]
    last = msgspec.structs.replace(r.stops[-1], departure_s=r.stops[-1].start_s + 10)
    return p, plan_of(msgspec.structs.replace(r, stops=r.stops[:-1] + (last,)))


def _timing_distance():
    p = base_problem()
    r = good_plan().routes[0]
    return p, plan_of(msgspec.structs.replace(r, distance_m=3000))


def _timing_speed_factor():
    p = base_problem(speed_factor=0.5)  # the plan was timed at full speed
    return p, good_plan(base_problem())


def _pinned(*sequences: Sequence) -> Problem:
    return msgspec.structs.replace(base_problem(), sequences=sequences)


def _sequence_order():
    # the good plan visits p before d1; pinned the other way round
    return _pinned(Sequence(vehicle="a", stops=("d1", "p"))), good_plan()


def _sequence_vehicle():
    return _pinned(Sequence(vehicle="b", stops=("d1",))), good_plan()


@pytest.mark.parametrize(
    ("rule", "make"),
    [
        ("unknown_stop", _unknown_stop),
        ("duplicate_stop", _duplicate_stop),
        ("missing_stop", _missing_stop),
        ("wrong_vehicle", _wrong_vehicle),
        ("pickup_delivery", _pickup_delivery),
        ("pickup_delivery", _pickup_on_other_route),
        ("window", _window),
        ("shift", _shift),
        ("shift", _shift_end),
        ("payload", _payload),
        ("payload", _payload_at_start),
        ("volume", _volume),
        ("range", _range),
        ("timing", _timing_arrival),
        ("timing", _timing_service),
        ("timing", _timing_distance),
        ("timing", _timing_speed_factor),
        ("sequence", _sequence_order),
        ("sequence", _sequence_vehicle),
    ],
    ids=lambda x: x if isinstance(x, str) else x.__name__.strip("_"),
)
def test_each_rule_is_caught(rule, make):
    problem, plan = make()
    assert rules(problem, plan) == {rule}


def test_solver_output_passes():
    p = base_problem()
    plan = solve(p, 0.5)
    assert plan.unplanned == ()
    assert check(p, plan) == []


def test_pins_met_or_unplanned_break_nothing():
    # the pinned order is the good plan's; a pinned stop reported unplanned is fine,
    # and ids the problem does not have are ignored
    p = _pinned(Sequence(vehicle="a", stops=("gone", "p", "d1")))
    assert check(p, good_plan()) == []
    p = _pinned(Sequence(vehicle="a", stops=("d1", "p", "d2")))
    plan = plan_of(
        simulate(p, "a", ["d1"], DEPART),
        unplanned=(
            Unplanned(stop_id="p", reason="no_capacity", detail=""),
            Unplanned(stop_id="d2", reason="pickup_unplanned", detail=""),
        ),
    )
    assert check(p, plan) == []


def test_check_route_sees_what_one_route_can_break():
    p = base_problem()
    (route,) = good_plan().routes
    assert check_route(p, route) == []
    assert {v.rule for v in check_route(p, simulate(p, "a", ["d1", "d2", "p"], 9 * H - 200))} == {"pickup_delivery"}
    pinned = _pinned(Sequence(vehicle="a", stops=("d1", "p")))
    assert {v.rule for v in check_route(pinned, route)} == {"sequence"}
    assert {v.rule for v in check_route(base_problem(payload_kg=12.0), route)} == {"payload"}
    # a delivery whose pickup is on another route: that takes the whole plan
    split = simulate(p, "a", ["d2", "d1"], DEPART)
    assert check_route(p, split) == []
    assert "pickup_delivery" in rules(p, plan_of(split, simulate(p, "b", ["p"], DEPART)))
