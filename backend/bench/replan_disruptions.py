"""The disruptions of ``laadbak bench replan``: which, in what order, and how each is timed.

One at a time (the next waits for the effect of the last, or ``timeout_s``): a
failed stop (the courier's next delivery, after collecting the shop goods
ahead of it: position there, arrive, fail; the server re-plans in the
background by its failed-stop policy), a new same-day order (``POST /orders``
with an open window), a dispatcher moving a stop to the courier riding nearest
to it (``POST /stops/{id}/assign``), a manual ``POST /hubs/{id}/replan`` and
now and then a courier out of service; customer redirects and street closures
when the server has those endpoints. A disruption's effect is the first
``route.updated`` event on an affected phone whose ``change.reason`` is the
one that disruption produces (see :mod:`backend.bench.replan_bench`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from backend.bench.harness.api import ApiClient, problem_text
from backend.bench.harness.geometry import metres
from backend.bench.harness.stats import ms
from backend.bench.harness.stream import hub_stream_url
from backend.bench.replan_clock import HUB_CLOSES_S, BenchError, hhmm, quarter
from backend.bench.replan_phones import HubWatch, Journal, Phone

# Mix of a run; out of service is a fixed small share (each one moves a whole route).
MIX = {"failed_stop": 0.40, "new_order": 0.30, "assign": 0.16, "replan": 0.14}
OUT_OF_SERVICE_SHARE = 0.015
OPTIONAL_KINDS = {
    "redirect": ("/track/{token}/redirect", 0.03),
    "closure": ("/hubs/{hub_id}/closures", 0.03),
}


def disruption_plan(
    n: int, couriers: int, rng: random.Random, extra: dict[str, float], only: set[str] | None = None
) -> list[str]:
    """``n`` kinds in a shuffled order: the mix by largest remainder, every kind at least once
    when it fits; ``only`` keeps those kinds of the mix (to look at one kind of trouble at a
    time)."""
    out_of_service = (
        min(max(1, round(n * OUT_OF_SERVICE_SHARE)), max(0, couriers - 2))
        if n >= 5 and (only is None or "out_of_service" in only)
        else 0
    )
    weights = {k: w for k, w in {**MIX, **extra}.items() if only is None or k in only}
    if not weights:  # out of service alone
        return ["out_of_service"] * min(n, max(0, couriers - 1))
    total = sum(weights.values())
    rest = n - out_of_service
    exact = {k: rest * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: rest - sum(counts.values())]:
        counts[k] += 1
    for k in counts:  # a tiny run still shows every kind
        if counts[k] == 0 and rest >= len(counts):
            donor = max(counts, key=lambda c: counts[c])
            counts[donor] -= 1
            counts[k] += 1
    kinds = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(kinds)
    # Out of service spread over the run, never first: each takes a courier off the road for good.
    for i in range(out_of_service):
        kinds.insert(min(len(kinds), (i + 1) * len(kinds) // (out_of_service + 1)), "out_of_service")
    return kinds


class Disruption:
    """One disruption's record (a row of the JSON)."""

    def __init__(self, n: int, kind: str) -> None:
        self.n, self.kind = n, kind
        self.target: dict[str, Any] = {}
        self.t0 = 0.0
        self.http_status: int | None = None
        self.http_ms: float | None = None
        self.outcome = "pending"
        self.detail: str | None = None
        self.expected: list[int] = []
        self.seen: dict[int, float] = {}
        self.figures: dict[str, Any] = {}

    def as_json(self) -> dict[str, Any]:
        first = min(self.seen.values()) if self.seen else None
        last = max(self.seen.values()) if self.seen and set(self.expected) <= set(self.seen) else None
        return {
            "phase": "disruption",
            "n": self.n,
            "kind": self.kind,
            "target": self.target,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "http_ms": self.http_ms,
            "first_ms": ms(self.t0, first) if first else None,
            "all_ms": ms(self.t0, last) if last else None,
            "affected": self.expected,
            "updated": sorted(self.seen),
            "detail": self.detail,
            "server_total_s": self.figures.get("totalS"),
            "server_solve_s": self.figures.get("solveS"),
            "server_phases": self.figures.get("phases"),
            "applied": self.figures.get("applied", True if self.figures else None),
            "unplanned": self.figures.get("unplanned"),
            "kept_order": self.figures.get("keptOrder"),
        }


class ReplanBench:
    """The phones, the dispatcher, and the disruptions sent through them."""

    def __init__(
        self,
        *,
        base: str,
        ws_base: str,
        hub_id: int,
        day: dt.date,
        timeout_s: float,
        rng: random.Random,
        password: str,
    ) -> None:
        self.base, self.ws_base, self.hub_id, self.day = base, ws_base, hub_id, day
        self.timeout_s, self.rng, self.password = timeout_s, rng, password
        self.journal = Journal()
        self.phones: dict[int, Phone] = {}
        self.hub: HubWatch | None = None
        self.dispatcher: ApiClient | None = None
        self.sockets: list[HubWatch | Phone] = []  # every socket started, to stop at the end
        self.addresses: list[Any] = []

    async def login(self, username: str) -> ApiClient:
        http = ApiClient(self.base, timeout=120)
        status, body = await http.login(username, self.password)
        if status == 200:
            return http
        raise BenchError(f"{username} cannot log in: {status} {problem_text(body)}")

    async def connect(self, usernames: list[str]) -> dict[str, Any]:
        """Couriers log in, connect, start the shift and load the bike (its first loop); the dispatcher connects."""
        t0 = time.monotonic()
        sem = asyncio.Semaphore(4)

        async def one(name: str) -> Phone:
            async with sem:
                http = await self.login(name)
            phone = Phone(self.ws_base, http, name, self.journal)
            self.sockets.append(phone)
            phone.start()
            await asyncio.wait_for(phone.ready.wait(), 120)
            return phone

        phones = await asyncio.gather(*(one(u) for u in usernames))
        self.phones = {p.courier_id: p for p in phones}
        connected_s = time.monotonic() - t0
        assert self.dispatcher is not None
        self.hub = HubWatch(hub_stream_url(self.ws_base, self.hub_id), self.dispatcher.token, self.journal)
        self.sockets.append(self.hub)
        self.hub.start()
        await asyncio.wait_for(self.hub.ready.wait(), 120)
        t1 = time.monotonic()
        errors: list[str] = []
        scans = 0
        sem = asyncio.Semaphore(6)

        async def start(phone: Phone) -> None:
            nonlocal scans
            status, body = await phone.http.send("/courier/shift/start", {}, idempotent=True)
            if status != 200:
                errors.append(f"{phone.username} shift/start {status}: {problem_text(body)}")
                return
            phone.shift_status = "started"
            for item in phone.loading:
                # the first loop's parcels: a later loop's are loaded when the bike is back to reload
                if item["loaded"] or item.get("loop", 1) > 1:
                    continue
                async with sem:
                    status, body = await phone.http.send(
                        "/courier/loading/scan", {"barcode": item["barcode"]}, idempotent=True
                    )
                if status == 200:
                    scans += 1
                else:
                    errors.append(f"{phone.username} scan {status}: {problem_text(body)}")

        await asyncio.gather(*(start(p) for p in phones))
        if errors:
            raise BenchError(f"starting the day failed: {errors[:3]}")
        return {
            "phase": "start",
            "couriers": len(phones),
            "connect_s": round(connected_s, 1),
            "start_and_load_s": round(time.monotonic() - t1, 1),
            "parcels_loaded": scans,
        }

    def on_road(self) -> list[Phone]:
        return [p for p in self.phones.values() if p.on_road]

    def positions(self) -> dict[int, tuple[float, float]]:
        return {cid: p.position for cid, p in self.phones.items() if p.position is not None}

    async def disrupt(self, d: Disruption, extra: dict[str, str]) -> None:
        """Send one disruption and wait for its effect (or the timeout)."""
        handler = {
            "failed_stop": self._failed_stop,
            "new_order": self._new_order,
            "assign": self._assign,
            "replan": self._replan,
            "out_of_service": self._out_of_service,
            "redirect": self._redirect,
            "closure": self._closure,
        }[d.kind]
        predicate = await handler(d, extra)
        if predicate is None:
            return
        deadline = d.t0 + self.timeout_s
        # Wait for every affected courier's own update (matched by the change's reason).
        if d.outcome == "changed":

            def seen() -> dict[int, float] | None:
                hits: dict[int, float] = {}
                for t, cid, reason, _ in self.journal.route_updates:
                    if t >= d.t0 and predicate(reason) and cid not in hits:
                        hits[cid] = t
                d.seen = hits
                return hits if set(d.expected) <= set(hits) else None

            if await self.journal.until(seen, deadline) is None:
                d.outcome = "timeout"
                d.detail = (
                    f"{len(set(d.expected) - set(d.seen))} affected courier(s) got no "
                    f"route.updated within {self.timeout_s:g} s"
                )

    async def _verdict(self, d: Disruption, predicate: Callable[[str], bool]) -> None:
        """The server's figures (plan.replanned) of a re-plan run after the answer or in it."""
        found = await self.journal.until(
            lambda: next(
                (f for t, f in self.journal.replans if t >= d.t0 and predicate(f.get("reason", ""))),
                None,
            ),
            d.t0 + self.timeout_s,
        )
        if found is None:
            d.outcome = "timeout"
            d.detail = (
                f"no plan.replanned within {self.timeout_s:g} s (a re-plan that would take stops "
                "off routes is not published: applied false)"
            )
            return
        self._figures(d, found)

    def _figures(self, d: Disruption, figures: dict[str, Any]) -> None:
        d.figures = figures
        d.expected = sorted(set(figures.get("changedCouriers") or []))
        if figures.get("applied") is False:
            d.outcome, d.detail = "no_change", str(figures.get("detail"))[:300]
        elif not d.expected:
            d.outcome, d.detail = "no_change", "the re-plan changed no route"
        else:
            d.outcome = "changed"

    def _answer(self, d: Disruption, status: int, body: Any, t_resp: float) -> bool:
        d.http_status, d.http_ms = status, ms(d.t0, t_resp)
        if 200 <= status < 300:
            return True
        d.outcome = "error"
        code = body.get("code") if isinstance(body, dict) else None
        d.detail = (f"[{code}] " if code else "") + problem_text(body)
        return False

    async def _failed_stop(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        choices = [p for p in self.on_road() if any(s["kind"] == "delivery" for s in p.open_stops())]
        if not choices:
            d.outcome, d.detail = "skipped", "no courier on the road has a delivery left"
            return None
        phone = self.rng.choice(choices)
        async with phone.lock:  # the courier's own ride waits (backend/bench/replan_riders.py)
            if not any(s["kind"] == "delivery" for s in phone.open_stops()):
                d.outcome, d.detail = "skipped", "the courier's last delivery was done meanwhile"
                return None
            return await self._fail_next(d, phone)

    async def _fail_next(self, d: Disruption, phone: Phone) -> Callable[[str], bool] | None:
        """The courier rides on to the next delivery and fails it."""
        # The courier rides on along the route: shop goods ahead of the door are collected
        # first (a delivery cannot fail before its goods are on the bike).
        collected = 0
        for stop in phone.open_stops():
            if stop["kind"] == "delivery":
                break
            await phone.move_to(stop["lat"], stop["lon"])
            for verb, body in (
                ("arrive", {}),
                ("collect", {"barcodes": [x["barcode"] for x in stop["parcels"]]}),
            ):
                if verb == "arrive" and stop["status"] != "planned":
                    continue
                status, answer = await phone.act(stop["stopId"], verb, body)
                if status != 200:
                    d.t0 = time.monotonic()
                    self._answer(d, status, answer, d.t0)
                    d.detail = f"{verb} at shop stop {stop['stopId']} first: {d.detail}"
                    return None
            collected += 1
        stop = next(s for s in phone.open_stops() if s["kind"] == "delivery")
        sid = stop["stopId"]
        d.target = {"courierId": phone.courier_id, "stopId": sid, "collectedFirst": collected}
        await phone.move_to(stop["lat"], stop["lon"])  # the courier stands at the door
        if stop["status"] == "planned":
            status, body = await phone.act(sid, "arrive", {})
            if status != 200:
                d.t0 = time.monotonic()
                self._answer(d, status, body, d.t0)
                return None
        d.t0 = time.monotonic()
        status, body = await phone.http.send(f"/courier/stops/{sid}/fail", {"reason": "not_home"}, idempotent=True)
        if not self._answer(d, status, body, time.monotonic()):
            return None
        step = await self.journal.until(
            lambda: next((s for t, s in self.journal.next_steps if s.get("stopId") == sid), None),
            d.t0 + self.timeout_s,
        )
        if step is None:
            d.outcome, d.detail = "timeout", f"no order.next_step within {self.timeout_s:g} s"
            return None
        d.target["next"] = step.get("next")
        if step.get("next") == "hub":
            d.outcome, d.detail = "no_change", "the parcel goes back to the hub: nothing to re-plan"
            return None
        prefix = f"stop {sid} failed:"  # the colon: stop 12 is not stop 123
        await self._verdict(d, lambda r: r.startswith(prefix))
        return lambda r: r.startswith(prefix)

    def _open_window(self) -> tuple[str, str]:
        """A window still open for a same-day order: it ends at least 1.5 hours from now."""
        now = dt.datetime.now()
        now_s = now.hour * 3600 + now.minute * 60 + now.second
        latest_end = HUB_CLOSES_S - 1800
        start = quarter(now_s + self.rng.choice((15, 30, 60, 90, 120)) * 60)
        end = min(start + 2 * 3600, latest_end)
        if end < now_s + 5400:
            start, end = quarter(now_s), latest_end
        return hhmm(start), hhmm(end)

    async def _new_order(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        a = self.rng.choice(self.addresses)
        ref = f"RB-NEW-{d.n:04d}-{secrets.token_hex(2)}"
        start, end = self._open_window()
        body = {
            "reference": ref,
            "hubId": self.hub_id,
            "customerName": f"Same-day {d.n}",
            "date": self.day.isoformat(),
            "lat": a.lat,
            "lon": a.lon,
            "address": f"{a.street} {a.housenumber}",
            "window": {"start": start, "end": end},
            "parcels": [
                {
                    "weightKg": round(self.rng.uniform(0.3, 4.0), 1),
                    "volumeL": round(self.rng.uniform(1, 10), 1),
                }
            ],
        }
        d.target = {"reference": ref, "window": f"{start}-{end}"}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send("/orders", body)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        reason = f"new order {ref}"
        await self._verdict(d, lambda r: r == reason)
        return lambda r: r == reason

    async def _assign(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        givers = [p for p in self.on_road() if len(p.plain_deliveries()) >= 2]
        if not givers or len(self.on_road()) < 2:
            d.outcome, d.detail = "skipped", "no stop to move"
            return None
        giver = self.rng.choice(givers)
        # not the one the courier is riding to (a dispatcher moves what is still ahead)
        ahead = [s for s in giver.plain_deliveries()[1:] if s["stopId"] != giver.target]
        if not ahead:
            d.outcome, d.detail = "skipped", "no stop to move"
            return None
        stop = self.rng.choice(ahead)

        def closeness(p: Phone) -> float:  # a dispatcher gives it to whoever rides nearest
            places = [(s["lat"], s["lon"]) for s in p.open_stops()] or [p.place]
            return min(metres((stop["lat"], stop["lon"]), q) for q in places)

        taker = min((p for p in self.on_road() if p is not giver), key=closeness)
        d.target = {
            "stopId": stop["stopId"],
            "from": giver.courier_id,
            "to": taker.courier_id,
            "nearestM": round(closeness(taker)),
        }
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/stops/{stop['stopId']}/assign", {"courierId": taker.courier_id})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        reason = f"dispatch moved stop {stop['stopId']} to courier {taker.courier_id}"
        return lambda r: r == reason

    async def _replan(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        reason = f"bench #{d.n}: dispatcher re-plan"
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/hubs/{self.hub_id}/replan", {"reason": reason})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        return lambda r: r == reason

    async def _out_of_service(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        choices = [p for p in self.on_road() if p.open_stops()]
        if not choices or len(self.on_road()) < 2:
            d.outcome, d.detail = "skipped", "no courier left to take over a route"
            return None
        phone = self.rng.choice(choices)
        async with phone.lock:  # the courier stops riding
            if not phone.open_stops():
                d.outcome, d.detail = "skipped", "the courier's route was done meanwhile"
                return None
            return await self._take_off(d, phone)

    async def _take_off(self, d: Disruption, phone: Phone) -> Callable[[str], bool] | None:
        here = phone.open_stops()[0]
        await phone.move_to(here["lat"], here["lon"])  # where the bike stands: goods on it are collected there
        await asyncio.sleep(0.2)  # the position reaches the server before the dispatcher's call
        reason = f"bench #{d.n}: flat battery"
        d.target = {"courierId": phone.courier_id, "openStops": len(phone.open_stops())}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/couriers/{phone.courier_id}/out-of-service", {"reason": reason})
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        self._figures(d, answer)
        d.target["transfers"] = answer.get("transfers")
        return lambda r: r == reason

    async def _redirect(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        """A customer sends a parcel not yet at the door to another address or to a later window."""
        choices = [p for p in self.on_road() if p.plain_deliveries()]
        if not choices:
            d.outcome, d.detail = "skipped", "no delivery left to redirect"
            return None
        phone = self.rng.choice(choices)
        ahead = [s for s in phone.plain_deliveries() if s["stopId"] != phone.target] or phone.plain_deliveries()
        stop = self.rng.choice(ahead)
        assert self.dispatcher is not None
        status, order = await self.dispatcher.get(f"/orders/{stop['orderId']}")
        if status != 200:
            d.t0 = time.monotonic()
            self._answer(d, status, order, d.t0)
            return None
        if self.rng.random() < 0.5:
            a = self.rng.choice(self.addresses)
            body: dict[str, Any] = {
                "kind": "address",
                "lat": a.lat,
                "lon": a.lon,
                "address": f"{a.street} {a.housenumber}",
            }
        else:
            start, end = self._open_window()
            body = {"kind": "window", "window": f"{start}-{end}"}
        d.target = {"orderId": stop["orderId"], "stopId": stop["stopId"], **body}
        customer = ApiClient(self.base, timeout=self.dispatcher.timeout)  # the tracking page: no login
        d.t0 = time.monotonic()
        status, answer = await customer.send(f"{order['trackingUrl']}/redirect", body, idempotent=True)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        if not answer.get("replanned"):
            d.outcome, d.detail = "no_change", "taken without a re-plan"
            return None
        reason = f"customer redirect of order {order['reference']}"
        await self._verdict(d, lambda r: r == reason)
        return lambda r: r == reason

    async def _closure(self, d: Disruption, extra: dict[str, str]) -> Callable[[str], bool] | None:
        """Road works close the streets around a stop on someone's route for the next hours."""
        choices = [p for p in self.on_road() if p.open_stops()]
        if not choices:
            d.outcome, d.detail = "skipped", "no route left to close a street on"
            return None
        stop = self.rng.choice(self.rng.choice(choices).open_stops())
        now = dt.datetime.now().replace(microsecond=0)
        reason = f"bench #{d.n}: road works"
        body = {
            "reason": reason,
            "circle": {"lat": stop["lat"], "lon": stop["lon"], "radiusM": 60},
            "start": now.isoformat(),
            "end": (now + dt.timedelta(hours=3)).isoformat(),
        }
        d.target = {"near_stop": stop["stopId"], "radiusM": 60}
        assert self.dispatcher is not None
        d.t0 = time.monotonic()
        status, answer = await self.dispatcher.send(f"/hubs/{self.hub_id}/closures", body)
        if not self._answer(d, status, answer, time.monotonic()):
            return None
        if not answer.get("replan"):
            d.outcome, d.detail = "no_change", "the closure does not touch the running day"
            return None
        self._figures(d, answer["replan"])
        return lambda r: reason in r

    async def close(self) -> None:
        for s in self.sockets:
            await s.stop()
