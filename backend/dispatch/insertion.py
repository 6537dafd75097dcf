"""Cheapest insertion of the stop nodes no route holds, all places checked at once with numpy."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np

from backend.dispatch.ortools_model import LATE_COST_PER_S, Model
from backend.dispatch.warm_start import feasible_subsequence
from backend.dispatch.windows import BIG, earliest_start, latest_start

_NEAR_DUE_S = 300
# nearest neighbours each node's local search moves consider on big days


def _pin_order_ok(seq: list[int], pinned: dict[int, tuple[int, int]]) -> bool:
    """Pinned nodes of ``seq`` in their pinned order (per sequence)."""
    last: dict[int, int] = {}
    for n in seq:
        q = pinned.get(n)
        if q is not None:
            if last.get(q[0], -1) > q[1]:
                return False
            last[q[0]] = q[1]
    return True


def _loop_rows(
    seq: list[int], dem: list[int], hubv: list[int], reload_of: dict[int, int], cap: int
) -> tuple[list[int], ...]:
    """One load dimension's rows over the places ``0..len(seq)`` of a route in loops.

    A reload node (:mod:`backend.dispatch.ortools_reloads`) starts a new loop: the bike
    loads again there, so the loads of a place are those of its loop only. Per place:
    the load prefix ``P`` (a loop starts from what came back on board, ``carry``), its
    lowest and highest values in the loop up to the place and after it, the hub-loaded
    goods of the loop, and the room the later loops leave for goods that stay on board
    (``spare``: a return collected here rides on through them). Loads are then ``x + P``
    with ``x`` what is loaded at the loop's start: at least ``-min P`` and the loop's hub
    goods, as the model's slack and returns constraint have it. Without reload nodes
    this is one loop from 0: the rows of the whole route.
    """
    n = len(seq)
    P, pre_lo, pre_hi = [0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    suf_lo, suf_hi, hub, spare = [BIG] * (n + 1), [-BIG] * (n + 1), [0] * (n + 1), [BIG] * (n + 1)
    loops: list[tuple[int, int, int]] = []  # (first place, last place, room left at its fullest)
    a, carry = 0, 0
    while True:
        b = a
        while b < n and seq[b] not in reload_of:
            b += 1
        # places a..b: after path[a] (the start hub or a reload) up to before the next reload
        P[a] = carry
        for j in range(a + 1, b + 1):
            P[j] = P[j - 1] + dem[j - 1]
        goods = sum(hubv[a:b])
        lo, hi = min(P[a : b + 1]), max(P[a : b + 1])
        run_lo = run_hi = P[a]
        for j in range(a, b + 1):
            run_lo, run_hi = min(run_lo, P[j]), max(run_hi, P[j])
            pre_lo[j], pre_hi[j], hub[j] = run_lo, run_hi, goods
        run_lo, run_hi = BIG, -BIG
        for j in range(b, a - 1, -1):
            suf_lo[j], suf_hi[j] = run_lo, run_hi
            run_lo, run_hi = min(run_lo, P[j]), max(run_hi, P[j])
        x = max(-lo, goods, 0)
        loops.append((a, b, cap - (x + hi)))
        if b >= n:
            break
        carry = x + P[b]  # back at the hub: what is still on board
        a = b + 1
    room = BIG
    for a, b, left in reversed(loops):
        for j in range(a, b + 1):
            spare[j] = room
        room = min(room, left)
    return P, pre_lo, pre_hi, suf_lo, suf_hi, hub, spare


class RouteState:
    """Arrays over every insertion place of every route, for :func:`insert_unperformed`.

    Row ``vi`` holds vehicle ``vi``'s places: place ``j`` is between the ``j``-th
    node of its path (start hub first) and the next one (end hub last). Per
    place: the node before and after, the departure from the node before
    (earliest schedule from the shift start), the latest service start at the
    node after that keeps the rest of the route feasible (the shift end at the
    end hub), and per load dimension the load prefix up to the node before
    with its lowest and highest values before and after the place. Places
    beyond a route's length have ``lat = -BIG`` (never feasible). A node fits
    at a place iff its own window, the latest start after it, the range and
    the loads allow it: the same rules as :func:`feasible_subsequence`
    (without its "can still ride home" check at each prefix, which the model
    does not need), in O(1) per place, so all places are checked at once. Goods on
    a bike now (``m.first_loop``) go before its first reload and a reload after them.
    """

    # per place (rows: vehicles), see above
    pred: np.ndarray
    succ: np.ndarray
    dep: np.ndarray
    lat: np.ndarray
    late: np.ndarray
    # per load dimension, per place
    P: list[np.ndarray]
    pre_lo: list[np.ndarray]
    pre_hi: list[np.ndarray]
    suf_lo: list[np.ndarray]
    suf_hi: list[np.ndarray]
    hub: list[np.ndarray]
    spare: list[np.ndarray]

    def __init__(self, m: Model, seqs: list[list[int]]) -> None:
        self.m = m
        self.seqs = seqs
        nv = len(m.vehicles)
        self.nv = nv
        self.start = np.array([m.manager.IndexToNode(m.routing.Start(vi)) for vi in range(nv)], dtype=np.int64)
        self.end = np.array([m.manager.IndexToNode(m.routing.End(vi)) for vi in range(nv)], dtype=np.int64)
        self.lo = np.array([max(0, v.shift.start) for v in m.vehicles], dtype=np.int64)
        self.hi = np.array(
            [max(max(0, v.shift.start), min(v.shift.end, m.horizon)) for v in m.vehicles],
            dtype=np.int64,
        )
        self.maxd = np.array(
            [BIG if v.max_distance_m is None else int(v.max_distance_m) for v in m.vehicles],
            dtype=np.int64,
        )
        self.factors = sorted({v.speed_factor for v in m.vehicles})
        self.fac = np.array([self.factors.index(v.speed_factor) for v in m.vehicles])
        self.speed = np.array([v.speed_factor for v in m.vehicles], dtype=np.float64)
        self.caps = [np.array(caps, dtype=np.int64) for _dem, _hub, caps in m.loads]
        self.win = [w or [(0, m.horizon)] for w in m.node_windows]
        self.win += [[(0, m.horizon)]] * (len(m.nodes) - len(self.win))  # hubs, reload nodes: any time
        self.fixed = np.array([int(v.fixed_cost) for v in m.vehicles], dtype=np.int64)
        self.has_range = any(v.max_distance_m is not None for v in m.vehicles)
        self.has_due = m.due is not None and bool((m.due < BIG).any())
        # per node (reload nodes too: they have no due time)
        self.due = None if m.due is None else np.concatenate([m.due, np.full(len(m.nodes) - len(m.due), BIG)])
        self.width = 0
        self._alloc(max(8, max((len(s) for s in seqs), default=0) + 8))
        for vi in range(nv):
            self.update(vi)

    def _alloc(self, width: int) -> None:
        nv, nl = self.nv, len(self.m.loads)
        old = self.width
        self.width = width

        def grow(a: np.ndarray | None, fill: int) -> np.ndarray:
            b = np.full((nv, width), fill, dtype=np.int64)
            if a is not None:
                b[:, :old] = a
            return b

        first = old == 0
        self.pred = grow(None if first else self.pred, 0)
        self.succ = grow(None if first else self.succ, 0)
        self.dep = grow(None if first else self.dep, 0)
        self.lat = grow(None if first else self.lat, -BIG)
        # stops after the place that are late or nearly so: a delay there costs
        self.late = grow(None if first else self.late, 0)
        self.P = [grow(None if first else self.P[i], 0) for i in range(nl)]
        self.pre_lo = [grow(None if first else self.pre_lo[i], 0) for i in range(nl)]
        self.pre_hi = [grow(None if first else self.pre_hi[i], 0) for i in range(nl)]
        self.suf_lo = [grow(None if first else self.suf_lo[i], 0) for i in range(nl)]
        self.suf_hi = [grow(None if first else self.suf_hi[i], 0) for i in range(nl)]
        # per place: the hub-loaded goods of its loop, and the room the later loops leave
        self.hub = [grow(None if first else self.hub[i], 0) for i in range(nl)]
        self.spare = [grow(None if first else self.spare[i], BIG) for i in range(nl)]
        self.places = np.arange(width)
        if first:
            self.dist = np.zeros(nv, dtype=np.int64)
            self.size = np.zeros(nv, dtype=np.int64)
            # per route: the place of its first reload node (its length: none), and the
            # place after its last node of goods on board (0: none)
            self.first_reload = np.zeros(nv, dtype=np.int64)
            self.after_aboard = np.zeros(nv, dtype=np.int64)

    def update(self, vi: int) -> None:
        """Recompute vehicle ``vi``'s row from ``seqs[vi]``."""
        m = self.m
        seq = self.seqs[vi]
        n = len(seq)
        if n + 1 > self.width:
            self._alloc(max(2 * self.width, n + 8))
        f = m.vehicles[vi].speed_factor
        tr, inner, D = m.travel[f], m.inner[f], m.dist
        path = [int(self.start[vi]), *seq, int(self.end[vi])]
        dep = [int(self.lo[vi])]
        t = dep[0]
        dist = 0
        due = self.due if self.has_due else None
        late: list[int] = []
        for a, b in itertools.pairwise(path[:-1]):
            st = earliest_start(self.win[b], t + tr.item(a, b))
            t = (BIG if st is None else st) + inner.item(b)
            if due is not None:
                late.append(1 if t - inner.item(b) > due.item(b) - _NEAR_DUE_S else 0)
            dep.append(t)
            dist += D.item(a, b)
        dist += D.item(path[-2], path[-1])
        lat = [0] * (n + 1)
        latest = int(self.hi[vi])
        lat[n] = latest
        for j in range(n, 0, -1):
            b, c = path[j], path[j + 1]
            ls = latest_start(self.win[b], latest - tr.item(b, c) - inner.item(b))
            latest = -BIG if ls is None else ls
            lat[j - 1] = latest
        self.pred[vi, : n + 1] = path[: n + 1]
        self.succ[vi, : n + 1] = path[1:]
        self.dep[vi, : n + 1] = dep
        self.lat[vi, : n + 1] = lat
        self.lat[vi, n + 1 :] = -BIG
        if due is not None:
            self.late[vi, : n + 1] = [*itertools.accumulate(late[::-1])][::-1] + [0]
        self.dist[vi] = dist
        self.size[vi] = n
        if m.reload_of:
            self.first_reload[vi] = next((j for j, x in enumerate(seq) if x in m.reload_of), n)
            self.after_aboard[vi] = max((j + 1 for j, x in enumerate(seq) if x in m.first_loop), default=0)
        for i, (dem, hubv, caps) in enumerate(m.loads):
            rows = _loop_rows(seq, dem[seq].tolist(), hubv[seq].tolist(), m.reload_of, int(caps[vi]))
            arrays = (self.P, self.pre_lo, self.pre_hi, self.suf_lo, self.suf_hi, self.hub, self.spare)
            for arr, row in zip(arrays, rows, strict=True):
                arr[i][vi, : n + 1] = row

    def _matrix(self, rows: np.ndarray, a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        """Travel times ``a`` -> ``b`` at the speed of the vehicles of ``rows`` (one per row)."""
        travel = self.m.travel
        out: np.ndarray = travel[self.factors[0]][a, b]
        if len(self.factors) == 1:
            return out
        fac = self.fac[rows]
        for fi in range(1, len(self.factors)):
            sel = fac == fi
            if sel.any():
                out = np.where(sel[:, None], travel[self.factors[fi]][a, b], out)
        return out

    def _inner(self, rows: np.ndarray, n: int) -> np.ndarray:
        m = self.m
        if len(self.factors) == 1:
            return np.full(len(rows), m.inner[self.factors[0]].item(n), dtype=np.int64)
        per_factor = np.array([m.inner[f].item(n) for f in self.factors], dtype=np.int64)
        return np.asarray(per_factor[self.fac[rows]])

    def single(
        self, n: int, rows: np.ndarray, cost: str, loads_after: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cost of inserting ``n`` at each place of ``rows`` (inf where it does not fit),
        its service start there, its departure there), each of shape (len(rows), width)."""
        m = self.m
        pred, succ = self.pred[rows], self.succ[rows]
        arr = self.dep[rows] + self._matrix(rows, pred, n)
        st = np.full(arr.shape, BIG, dtype=np.int64)
        for a, b in reversed(self.win[n]):
            st = np.where(arr <= b, np.maximum(arr, a), st)
        ok = st < BIG
        leave = st + self._inner(rows, n)[:, None]
        tr_ns = self._matrix(rows, n, succ)
        ok &= leave + tr_ns <= self.lat[rows]
        if self.has_range:
            D = m.dist
            dd = D[pred, n] + D[n, succ] - D[pred, succ]
            ok &= (self.dist[rows][:, None] + dd) <= self.maxd[rows][:, None]
        for i, (dem, hubv, _caps) in enumerate(m.loads):
            q = dem.item(n)
            P = self.P[i][rows] + q
            lo = np.minimum(self.pre_lo[i][rows], P)
            hi = np.maximum(self.pre_hi[i][rows], P)
            if loads_after:
                lo = np.minimum(lo, self.suf_lo[i][rows] + q)
                hi = np.maximum(hi, self.suf_hi[i][rows] + q)
            need = np.maximum(-lo, self.hub[i][rows] + hubv.item(n))
            ok &= need + hi <= self.caps[i][rows][:, None]
            if q > 0 and loads_after:  # what it leaves on board rides on through the later loops
                ok &= q <= self.spare[i][rows]
        if cost == "distance":
            D = m.dist
            c = D[pred, n] + D[n, succ] - D[pred, succ]
        else:
            c = arr - self.dep[rows] + tr_ns - self._matrix(rows, pred, succ)
        if self.has_due:
            if self.due.item(n) < BIG:  # type: ignore[union-attr]
                c = c + LATE_COST_PER_S * np.maximum(0, st - self.due.item(n))  # type: ignore[union-attr]
            # the delay handed on to the stops after it that are (nearly) late
            push = np.maximum(0, leave + tr_ns - self.dep[rows] - self._matrix(rows, pred, succ))
            c = c + LATE_COST_PER_S * push * self.late[rows]
        fixed = self.fixed[rows]
        if fixed.any():
            c = c + np.where(self.size[rows] == 0, fixed, 0)[:, None]
        ok &= self.loop_ok(n, rows)
        return np.where(ok, c.astype(np.float64), np.inf), st, leave

    def loop_ok(self, n: int, rows: np.ndarray) -> np.ndarray | bool:
        """Where ``n`` may go for the loops: goods on board before the route's first reload,
        a reload after them (the model holds both: the whole route is refused otherwise)."""
        m = self.m
        ok: np.ndarray | bool = True
        if n in m.first_loop:
            ok = self.places[None, :] <= self.first_reload[rows][:, None]
        elif n in m.reload_of:
            ok = self.places[None, :] >= self.after_aboard[rows][:, None]
        return ok

    def _row_lists(self, vi: int, p: int, d: int) -> tuple[Any, ...]:
        """Vehicle ``vi``'s path, latest starts and, per load dimension, the pair's
        amounts, the hub-loaded goods with the pair's, the capacity and the prefix
        rows, as Python lists (read item by item in :meth:`pair`)."""
        n_ = len(self.seqs[vi])
        return (
            [int(self.start[vi]), *self.seqs[vi], int(self.end[vi])],
            self.lat[vi, : n_ + 1].tolist(),
            [
                (
                    dem.item(p),
                    dem.item(d),
                    (self.hub[i][vi, : n_ + 1] + hubv.item(p) + hubv.item(d)).tolist(),
                    int(self.caps[i][vi]),
                    self.P[i][vi, : n_ + 1].tolist(),
                    self.pre_lo[i][vi, : n_ + 1].tolist(),
                    self.pre_hi[i][vi, : n_ + 1].tolist(),
                    self.suf_lo[i][vi, : n_ + 1].tolist(),
                    self.suf_hi[i][vi, : n_ + 1].tolist(),
                )
                for i, (dem, hubv, _caps) in enumerate(self.m.loads)
            ],
        )

    def pair(
        self,
        p: int,
        d: int,
        rows: np.ndarray,
        cost: str,
        pinned: dict[int, tuple[int, int]],
        tries: int = 40,
        after_first: int = 4,
    ) -> tuple[float, int, int, int] | None:
        """Cheapest (cost, vehicle, pickup place, delivery place) for the pair, or None.

        The pickup's places come from :meth:`single` (time and what comes before it
        only: its delivery unloads again); for the cheapest (up to ``tries``, and
        ``after_first`` more once one fits), the route is walked on with the pickup
        in to find the delivery's best place after it."""
        m = self.m
        c, _st, leave = self.single(p, rows, cost, loads_after=False)
        if d in m.first_loop:  # its pickup too: a shop and its door ride one loop
            c = np.where(self.loop_ok(d, rows), c, np.inf)
        flat = np.flatnonzero(np.isfinite(c))
        if not len(flat):
            return None
        order = flat[np.argsort(c.ravel()[flat], kind="stable")[:tries]]
        D = m.dist
        due_d = self.due.item(d) if self.due is not None else BIG
        win_d = self.win[d]
        best: tuple[float, int, int, int] | None = None
        cache: dict[int, tuple[Any, ...]] = {}
        left = tries
        for idx in order.tolist():
            if best is not None:
                left = min(left, after_first)
            left -= 1
            if left < 0:
                break
            r, j = divmod(idx, self.width)
            vi = int(rows[r])
            f = m.vehicles[vi].speed_factor
            tr, inner = m.travel[f], m.inner[f]
            cm = D if cost == "distance" else tr
            seq = self.seqs[vi]
            n_ = len(seq)
            got = cache.get(vi)
            if got is None:
                got = cache[vi] = self._row_lists(vi, p, d)
            path, lat, loads = got
            cost_p = float(c[r, j])
            dist0 = int(self.dist[vi])
            maxd = int(self.maxd[vi])
            inner_d = inner.item(d)
            # the pickup's own detour when something comes between it and the delivery
            a, b = path[j], path[j + 1]
            dd_p = D.item(a, p) + D.item(p, b) - D.item(a, b)
            mid_lo = [BIG] * len(loads)  # lowest / highest prefix between them
            mid_hi = [-BIG] * len(loads)
            prev, t = p, int(leave[r, j])
            for k in range(j, n_ + 1):
                if k > j:
                    # walk on to path[k] with the pickup in (the delivery not yet)
                    x = path[k]
                    if x in m.reload_of:
                        break  # a shop and its door ride one loop
                    st = earliest_start(self.win[x], t + tr.item(prev, x))
                    if st is None or st > lat[k - 1]:
                        break
                    t, prev = st + inner.item(x), x
                    for i, ld in enumerate(loads):
                        v = ld[4][k] + ld[0]
                        if v < mid_lo[i]:
                            mid_lo[i] = v
                        if v > mid_hi[i]:
                            mid_hi[i] = v
                nxt = path[k + 1]
                st_d = earliest_start(win_d, t + tr.item(prev, d))
                if st_d is None or st_d + inner_d + tr.item(d, nxt) > lat[k]:
                    continue
                if k == j:
                    dd = D.item(a, p) + D.item(p, d) + D.item(d, b) - D.item(a, b)
                    cc = cm.item(a, p) + cm.item(p, d) + cm.item(d, b) - cm.item(a, b)
                    total = cc + cost_p - (cm.item(a, p) + cm.item(p, b) - cm.item(a, b))
                else:
                    dd = dd_p + D.item(prev, d) + D.item(d, nxt) - D.item(prev, nxt)
                    total = cost_p + cm.item(prev, d) + cm.item(d, nxt) - cm.item(prev, nxt)
                if due_d < BIG:
                    total += LATE_COST_PER_S * max(0, st_d - due_d)
                if self.has_due:
                    push = max(0, st_d + inner_d + tr.item(d, nxt) - t - tr.item(prev, nxt))
                    total += LATE_COST_PER_S * push * int(self.late[vi, k])
                if best is not None and total >= best[0]:
                    continue
                if dist0 + dd > maxd:
                    continue
                fits = True
                for i, (qp, qd, h, cap, P, plo, phi, slo, shi) in enumerate(loads):
                    at_p = P[j] + qp
                    at_d = P[k] + qp + qd
                    lo = min(plo[j], at_p, mid_lo[i], at_d, slo[k] + qp + qd)
                    hi = max(phi[j], at_p, mid_hi[i], at_d, shi[k] + qp + qd)
                    if max(-lo, h[j]) + hi > cap:
                        fits = False
                        break
                if not fits:
                    continue
                if pinned and (p in pinned or d in pinned):
                    cand = [*seq[:j], p, *seq[j:k], d, *seq[k:]]
                    if not _pin_order_ok(cand, pinned):
                        continue
                best = (float(total), vi, j, k)
        return best


def insert_unperformed(m: Model, seqs: list[list[int]], cost: str, deadline: float, *, loops: bool = False) -> None:
    """Insert the stop nodes no route holds, each where it adds least, if that stays feasible.

    A warm start leaves new and repaired-away stops unperformed; a cold start of
    a big or locked day starts from empty routes (the OR-Tools first-solution
    strategies stall there). Nodes go in most constrained first (fewest
    vehicles, then the earliest deadline), each at the place of any allowed
    route where it adds least (detour in the objective's unit, plus lateness
    past its due time), all places checked at once (:class:`RouteState`); a
    pair goes in with its pickup at one of its cheapest places and its
    delivery at the best place after it. Pinned orders are kept. A stop only
    one vehicle may serve that fits nowhere may push others later
    (:func:`_insert_ejecting`). Stops when the clock passes ``deadline``; what
    is left starts unperformed for the search. With ``loops``, bikes that may reload
    ride another loop (:func:`_open_loops`) while stops are left out, and those go in
    again. Changes ``seqs`` in place.
    """
    where = {n for seq in seqs for n in seq}
    partner: dict[int, int] = {}
    for pn, dn in m.pair_nodes:
        partner[pn], partner[dn] = dn, pn
    pickups = {pn for pn, _ in m.pair_nodes}
    pinned = {n: (qi, r) for qi, (_vi, nodes) in enumerate(m.seq_nodes) for r, n in enumerate(nodes)}
    todo = [
        n
        for n in range(m.n_stop_nodes)
        if n not in where and (n not in partner or n in pickups)  # a delivery goes with its pickup
    ]
    if not todo:
        return
    ejecting_s, eject_budget = 0.0, max(0.0, deadline - time.perf_counter()) / 4

    def urgency(n: int) -> tuple[int, int]:
        """The most constrained first: fewest vehicles, then the earliest deadline."""
        g = m.nodes[n].group
        w = m.node_windows[partner.get(n, n)]
        last = w[-1][1] if w else m.horizon
        if m.due is not None:
            last = min(last, int(m.due[partner.get(n, n)]))
        return (len(g.feasible) if g is not None else 0, last)

    todo.sort(key=urgency)
    rs = RouteState(m, seqs)
    all_rows = np.arange(len(m.vehicles))
    rows_of: dict[tuple[int, ...], np.ndarray] = {}

    def place(n: int) -> bool:
        """Insert ``n`` (and its delivery) where it adds least; False if it fits nowhere."""
        nonlocal ejecting_s
        g = m.nodes[n].group
        if g is None:
            return True
        key = tuple(g.feasible)
        rows = rows_of.get(key)
        if rows is None:
            rows = all_rows if len(key) == len(m.vehicles) else np.array(key, dtype=np.int64)
            rows_of[key] = rows
        d = partner.get(n)
        if d is None:
            c, _st, _leave = rs.single(n, rows, cost)
            if n in pinned:
                c = _pin_places(c, rows, rs, n, pinned)
            idx = int(np.argmin(c))
            if np.isfinite(c.ravel()[idx]):
                r, j = divmod(idx, rs.width)
                vi = int(rows[r])
                seqs[vi].insert(j, n)
                rs.update(vi)
                where.add(n)
                return True
            vi = g.feasible[0]
            if len(g.feasible) == 1 and ejecting_s < eject_budget and not any(x in m.reload_of for x in seqs[vi]):
                # a stop that fits nowhere on a full bike stays out however it is pushed:
                # at most a quarter of the time goes to pushing, the rest to stops that fit
                # (not on a route in loops: the simulation there counts one loop)
                t_eject = time.perf_counter()
                places = _cheapest_places(m, rs, vi, n, cost)[:24]
                new = _insert_ejecting(
                    m,
                    vi,
                    seqs[vi],
                    n,
                    places,
                    partner,
                    pinned,
                    min(deadline, t_eject + eject_budget - ejecting_s),
                )
                ejecting_s += time.perf_counter() - t_eject
                if new is not None:
                    seqs[vi][:] = new
                    rs.update(vi)
                    where.add(n)
                    return True
            return False
        best = rs.pair(n, d, rows, cost, pinned)
        if best is None:
            return False
        _c, vi, j, k = best
        seq = seqs[vi]
        seqs[vi][:] = [*seq[:j], n, *seq[j:k], d, *seq[k:]]
        rs.update(vi)
        where.update((n, d))
        return True

    def place_all(nodes: list[int]) -> list[int]:
        """Insert ``nodes`` in order until the deadline; those left out."""
        out: list[int] = []
        for k, n in enumerate(nodes):
            if time.perf_counter() > deadline:
                return out + nodes[k:]
            if not place(n):
                out.append(n)
        return out

    left = place_all(todo)
    # A bike that may reload and still has goods to carry: a new loop, then the stops left
    # out go in again (OR-Tools' local search does not add a reload to serve a stop: two moves).
    while loops and left and time.perf_counter() < deadline and _open_loops(m, rs, cost):
        left = place_all(left)


def _cheapest_places(m: Model, rs: RouteState, vi: int, n: int, cost: str) -> list[int]:
    """The places of vehicle ``vi``'s route, cheapest detour for ``n`` first."""
    w = int(rs.size[vi]) + 1
    pred, succ = rs.pred[vi, :w], rs.succ[vi, :w]
    mat = m.dist if cost == "distance" else m.travel[m.vehicles[vi].speed_factor]
    detour = mat[pred, n] + mat[n, succ] - mat[pred, succ]
    return [int(j) for j in np.argsort(detour, kind="stable")]


def _pin_places(
    c: np.ndarray, rows: np.ndarray, rs: RouteState, n: int, pinned: dict[int, tuple[int, int]]
) -> np.ndarray:
    """``c`` with the places that would break ``n``'s pinned order set to inf."""
    qi, rank = pinned[n]
    c = c.copy()
    for r, vi in enumerate(rows):
        seq = rs.seqs[int(vi)]
        lo, hi = 0, len(seq)
        for j, x in enumerate(seq):
            q = pinned.get(x)
            if q is None or q[0] != qi:
                continue
            if q[1] < rank:
                lo = max(lo, j + 1)
            elif q[1] > rank:
                hi = min(hi, j)
        c[r, :lo] = np.inf
        c[r, hi + 1 :] = np.inf
    return c


def _insert_ejecting(
    m: Model,
    vi: int,
    seq: list[int],
    n: int,
    places: list[int],
    partner: dict[int, int],
    pinned: dict[int, tuple[int, int]],
    deadline: float = float("inf"),
) -> list[int] | None:
    """``seq`` with ``n`` at one of ``places``, the stops that then no longer fit moved later.

    For a stop only this vehicle may serve whose every place breaks the route
    (a late courier: the stop whose window is closing must come first and
    pushes others back): the stops the simulation then leaves out are put
    back at the first place where everything fits. None if that fails, or
    when the clock passes ``deadline`` (each try simulates the whole route).
    """
    for j in places:
        if time.perf_counter() > deadline:
            return None
        cand = [*seq[:j], n, *seq[j:]]
        if pinned and not _pin_order_ok(cand, pinned):
            continue
        kept = feasible_subsequence(m, vi, cand)
        if n not in kept:
            continue
        ejected = [x for x in cand if x not in set(kept)]
        if any(x in partner for x in ejected):
            continue
        for x in ejected:
            if time.perf_counter() > deadline:
                return None
            for i in range(len(kept) + 1):
                trial = [*kept[:i], x, *kept[i:]]
                if pinned and not _pin_order_ok(trial, pinned):
                    continue
                if len(feasible_subsequence(m, vi, trial)) == len(trial):
                    kept = trial
                    break
            else:
                break
        else:
            return kept
    return None


def _open_loops(m: Model, rs: RouteState, cost: str) -> bool:
    """One more loop on each used bike with a reload node to spare: its reload where it
    splits its fullest loop in two about equal halves at the least detour, else at the
    end of its route (a loop of its own). False if no bike got one."""
    used = {n for seq in rs.seqs for n in seq}
    spare: dict[int, int] = {}
    for n, vi in m.reload_of.items():
        if n not in used:
            spare.setdefault(vi, n)
    added = False
    for vi, r in sorted(spare.items()):
        seq = rs.seqs[vi]
        if not seq:
            continue
        c, _st, _leave = rs.single(r, np.array([vi]), cost)
        row = c[0, : len(seq) + 1]
        j = _split_place(m, seq, row)
        if j is None:
            continue
        seq.insert(j, r)
        rs.update(vi)
        added = True
    return added


def _split_place(m: Model, seq: list[int], cost: np.ndarray) -> int | None:
    """The place of a new reload in ``seq``: the cheapest (``cost`` per place, inf where it
    does not fit) that leaves between a quarter and three quarters of its loop's hub goods
    (the first load dimension) on each side, in the loop with the most; else the end."""
    best: tuple[float, int] | None = None
    if m.loads:
        hubv = m.loads[0][1]
        pickups, deliveries = {p for p, _d in m.pair_nodes}, {d for _p, d in m.pair_nodes}
        loops: list[list[tuple[int, int]]] = [[]]  # (place, stops before it) per loop, interior ones only
        goods: list[list[int]] = [[]]
        open_pairs = 0  # a shop's goods on board: no reload before its door
        for j, n in enumerate(seq):
            if n in m.reload_of:
                loops.append([])
                goods.append([])
                continue
            if len(goods[-1]) and not open_pairs:
                loops[-1].append((j, len(goods[-1])))  # between this loop's previous stop and this one
            goods[-1].append(int(hubv.item(n)))
            open_pairs += (n in pickups) - (n in deliveries)
        k = max(range(len(goods)), key=lambda i: sum(goods[i]))
        total = sum(goods[k])
        if total > 0:
            before = list(itertools.accumulate(goods[k]))
            for j, p in loops[k]:
                balanced = total / 4 <= before[p - 1] <= 3 * total / 4
                if balanced and np.isfinite(cost[j]) and (best is None or cost[j] < best[0]):
                    best = (float(cost[j]), j)
    if best is not None:
        return best[1]
    return len(seq) if np.isfinite(cost[len(seq)]) else None
