"""laadbak serve [--workers N] | worker | migrate | import-map FILE | demo | bench plan | ws | replan | positions ..."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.settings import Settings, SettingsError, load_settings


def _serve(settings: Settings, app=None) -> None:  # noqa: ANN001
    import uvicorn

    from backend.app import create_app

    uvicorn.run(
        app or create_app(settings), host=settings.host, port=settings.port, log_level="info", ws="websockets-sansio"
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print(f"error: --workers is a number of serving processes, 1 or more, not {args.workers}", file=sys.stderr)
        return 2
    if args.workers == 1:
        _serve(settings)
        return 0
    if not settings.is_postgres or not settings.redis_url:
        print(
            f"error: --workers {args.workers} runs {args.workers} serving processes that share the live day through "
            "PostgreSQL and Redis: set DATABASE_URL=postgresql://... and REDIS_URL=redis://... "
            "(the SQLite demo runs in one process: leave out --workers)",
            file=sys.stderr,
        )
        return 2
    import uvicorn

    cmd_migrate(args, settings)  # once, before the processes start
    # Every process builds its app from the environment (backend.app.create_app) and shares the socket.
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        workers=args.workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws="websockets-sansio",
    )
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from backend.solver_worker import refusal, run_worker

    reason = refusal(settings)
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    asyncio.run(run_worker(settings, ready=lambda line: print(line, flush=True)))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from backend.db.engine import describe, make_engine, migrate, use_database

    async def run() -> None:
        engine = make_engine(settings.database_url)
        use_database(engine)
        await migrate(quiet=False)

    asyncio.run(run())
    print(f"database {describe(settings.database_url)} is up to date")
    return 0


def cmd_import_map(args: argparse.Namespace, settings: Settings) -> int:
    from backend.services.geo import Geo

    path = Path(args.file).resolve()
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    geo = Geo.load(path, settings.cache_dir)
    print(
        json.dumps(
            {
                "map": str(path),
                "nodes": geo.network.node_count,
                "addresses": len(geo.geocoder.addresses()),
                "pointsOfInterest": len(geo.pois),
                "seconds": round(time.perf_counter() - t0, 2),
                "cache": str(settings.cache_dir),
            },
            indent=2,
        )
    )
    print(f"Street network cached. Use it with: export LAADBAK_MAP={path}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import msgspec

    from backend.app import create_app
    from backend.services.demo_run import prepare_demo

    try:
        speedup = args.speedup if args.speedup is not None else float(os.environ.get("LAADBAK_DEMO_SPEEDUP", "10"))
    except ValueError:
        print(
            f"error: LAADBAK_DEMO_SPEEDUP must be a number, got {os.environ['LAADBAK_DEMO_SPEEDUP']!r}", file=sys.stderr
        )
        return 2
    if not speedup > 0:
        print(f"error: the speed-up must be above 0, got {speedup}", file=sys.stderr)
        return 2
    geo, city, run = asyncio.run(prepare_demo(settings, fresh=not args.keep))
    base = f"http://{settings.host}:{settings.port}"
    couriers = [f"courier{i}" for i in range(1, city.couriers + 1)]
    password = city.logins["courier1"]
    if args.no_sim:
        simulated = "Couriers are not simulated (--no-sim): log in as one to ride its route."
    else:
        simulated = (
            f"The couriers are simulated: they ride their routes at {speedup:g}x speed through the API.\n"
            f"Take one over: log in as courierN at {base}/courier/ (phone or browser); the simulator\n"
            f"lets go of that courier within a second. `laadbak demo --no-sim` runs without them."
        )
    figures, logins = run["figures"], city.logins
    print(
        f"""
Laadbak demo: {city.orders} orders, {city.couriers} couriers, {city.shops} shops, {city.pickup_points} pickup points
Day {city.day} planned in {figures["totalS"]} s: {figures["planned"]} stops on routes, {figures["unplanned"]} unplanned.

  API docs     {base}/schema
  Health       {base}/health
  Courier app  {base}/courier/
  Desk         {base}/dispatch/   (the dispatcher's live map)
  Picker app   {base}/pick/
  Returns      {base}/returns/   (order DEMO-R1, postcode 00100)
  Returns desk {base}/returns-desk/   (receiving, inspection, reconditioning)
  Point app    {base}/point/   (a pickup point's desk)
  Routes       {base}/routes?hubId={city.hub_id}&date={city.day}   (log in first)
  Log in       curl -c jar -X POST {base}/auth/login -H 'content-type: application/json' \\
                 -d '{{"username":"dispatcher","password":"{logins["dispatcher"]}"}}'

Logins: admin / {logins["admin"]}, dispatcher / {logins["dispatcher"]}, courier1..courier{city.couriers} / {password},
        picker / {logins["picker"]} (the first wave is released; the next: POST /hubs/{city.hub_id}/waves/release),
        returns / {logins["returns"]} (two returns wait: GET /receiving/returns/)
        point / {logins["point"]} (the desk of the demo pickup point with the most parcels announced)
{simulated}
""",
        flush=True,
    )
    if not args.no_sim:  # simulated couriers ride faster than life: their trails are no GPS jumps
        settings = msgspec.structs.replace(settings, trail_max_kmh=settings.trail_max_kmh * speedup)
    app = create_app(settings, geo=geo)
    if args.no_sim:
        _serve(settings, app)
        return 0

    import uvicorn

    from backend.bench.simulation import run_simulation

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per simulated request is noise
    # The simulated couriers' requests would drown everything else in the access log.
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="info", ws="websockets-sansio", access_log=False
    )
    server = uvicorn.Server(config)
    local = f"http://127.0.0.1:{settings.port}" if settings.host in ("0.0.0.0", "::", "") else base

    async def serve_and_simulate() -> None:
        import httpx

        stop = asyncio.Event()
        serving = asyncio.create_task(server.serve())

        async def simulate() -> None:
            async with httpx.AsyncClient(timeout=2) as client:
                while not server.started:  # /health answers once the app's lifespan has run
                    if serving.done() or server.should_exit:
                        return
                    await asyncio.sleep(0.2)
                while (await client.get(local + "/health")).status_code != 200:
                    await asyncio.sleep(0.2)
            await run_simulation(local, geo, couriers, password, speedup, stop)

        async def watch() -> None:
            while not server.should_exit and not serving.done():
                await asyncio.sleep(0.2)
            stop.set()

        simulation = asyncio.create_task(simulate(), name="demo-simulation")
        watcher = asyncio.create_task(watch(), name="demo-watch")
        try:
            await serving
        finally:
            stop.set()
            for task in (simulation, watcher):
                try:
                    await asyncio.wait_for(task, 10)
                except (TimeoutError, asyncio.CancelledError):
                    pass
                except Exception:  # the server is down anyway
                    logging.getLogger("laadbak.simulation").exception("the simulation ended with an error")

    try:
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve_and_simulate())
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, as uvicorn.run swallows it
        pass
    return 0


def cmd_bench_plan(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.city_bench import BenchError, check_options, parse_sizes, parse_time_limits

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 2

    city_only = [
        name
        for name, value in (
            ("--stops", args.stops),
            ("--time-limits", args.time_limits),
            ("--hubs", args.hubs),
            ("--returns-share", args.returns_share),
            ("--seed", args.seed),
        )
        if value is not None
    ]
    quality_flags = [
        n for n, v in (("--reference-factor", args.reference_factor), ("--mixes", args.mixes)) if v is not None
    ]
    if args.suite not in ("city", "demo") and quality_flags:
        return fail(f"{', '.join(quality_flags)}: the real-day quality bench runs on --suite city and --suite demo")
    quality = _quality_options(args, settings)
    if isinstance(quality, str):
        return fail(quality)
    if args.suite != "city" and city_only:
        return fail(f"{', '.join(city_only)} only appl{'y' if len(city_only) > 1 else 'ies'} to --suite city")
    if args.peer is not None and args.suite not in ("solomon", "lilim100"):
        return fail(f"--peer compares on the benchmark suites (solomon, lilim100), not on --suite {args.suite}")
    if args.engines is not None and args.suite not in ("solomon", "lilim100"):
        return fail(f"--engines applies to the benchmark suites (solomon, lilim100), not to --suite {args.suite}")
    if args.suite == "city":
        other = [
            name
            for name, value in (
                ("--time-limit", args.time_limit),
                ("--instances", args.instances),
                ("--files", args.files),
                ("--bks", args.bks),
            )
            if value is not None
        ]
        if other:
            return fail(
                f"{', '.join(other)} {'do' if len(other) > 1 else 'does'} not apply to --suite city"
                f" (its limits are --time-limits)"
            )
    else:
        args.time_limit = 10.0 if args.time_limit is None else args.time_limit
        if not args.time_limit > 0:
            return fail(f"--time-limit must be above 0 seconds, got {args.time_limit}")
    if args.suite == "demo":
        from backend.bench.demo_bench import run_demo_bench

        result = asyncio.run(run_demo_bench(settings, time_limit_s=args.time_limit, quality=quality))
    elif args.suite == "city":
        from backend.bench.city_bench import (
            DEFAULT_HUBS,
            DEFAULT_RETURNS_SHARE,
            DEFAULT_SEED,
            DEFAULT_SIZES,
            DEFAULT_TIME_LIMITS,
            run_city_bench,
        )

        try:
            sizes = parse_sizes(args.stops) if args.stops is not None else list(DEFAULT_SIZES)
            limits = parse_time_limits(args.time_limits) if args.time_limits is not None else list(DEFAULT_TIME_LIMITS)
            hubs = DEFAULT_HUBS if args.hubs is None else args.hubs
            share = DEFAULT_RETURNS_SHARE if args.returns_share is None else args.returns_share
            check_options(hubs, share)
            result = run_city_bench(
                sizes,
                limits,
                hubs=hubs,
                returns_share=share,
                seed=DEFAULT_SEED if args.seed is None else args.seed,
                first_solution=args.first_solution,
                metaheuristic=args.metaheuristic,
                map_path=settings.map_path,
                cache_dir=settings.cache_dir,
                quality=quality,
            )
        except BenchError as exc:
            return fail(str(exc))
    else:
        from backend.bench.plan_bench import parse_engines, run_plan_bench
        from backend.dispatch.portfolio import DEFAULT_ENGINES

        instances = [s.strip() for s in args.instances.split(",") if s.strip()] if args.instances else None
        if args.peer is not None:
            from backend.bench.pyvrp_peer import PeerUnavailable, require_pyvrp

            try:
                require_pyvrp()
            except PeerUnavailable as exc:
                return fail(str(exc))
        try:
            engines = parse_engines(args.engines or ",".join(DEFAULT_ENGINES))
            result = run_plan_bench(
                args.suite,
                instances,
                args.files,
                args.bks,
                args.time_limit,
                objective=args.objective,
                first_solution=args.first_solution,
                metaheuristic=args.metaheuristic,
                peer=args.peer,
                engines=engines,
            )
        except (ValueError, FileNotFoundError) as exc:
            return fail(str(exc))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _quality_options(args: argparse.Namespace, settings: Settings) -> dict[str, Any] | str | None:
    """City and demo: the real-day quality bench's options (None: not run), or what is wrong with them."""
    from backend.bench.quality_bench import DEFAULT_FACTOR, DEFAULT_MIXES, QualityError, check_factor, parse_mixes

    if args.suite not in ("city", "demo") or args.reference_factor == 0:
        return None
    try:
        factor = check_factor(DEFAULT_FACTOR if args.reference_factor is None else args.reference_factor)
        mixes = parse_mixes(args.mixes) if args.mixes else DEFAULT_MIXES
    except QualityError as exc:
        return str(exc)
    # the product's limit: the demo's --time-limit, else the planner's (LAADBAK_PLAN_TIME_LIMIT)
    limit = args.time_limit if args.suite == "demo" and args.time_limit else settings.plan_time_limit_s
    return {"limit_s": limit, "factor": factor, "mixes": list(mixes)}


def cmd_bench_ws(args: argparse.Namespace, settings: Settings) -> int:
    postgres, redis_url = args.postgres, args.redis or settings.redis_url
    if args.processes < 1:
        print(f"error: --processes is a number of serving processes, 1 or more, not {args.processes}", file=sys.stderr)
        return 2
    if args.processes > 1:
        postgres = postgres or (settings.database_url if settings.is_postgres else None)
        if not postgres or not redis_url:
            print(
                f"error: --processes {args.processes} shares the day through PostgreSQL and Redis: give --postgres URL "
                "(or a PostgreSQL DATABASE_URL) and --redis URL (or REDIS_URL); the bench makes a throw-away database",
                file=sys.stderr,
            )
            return 2

    from backend.bench.replan_clock import BenchError

    lo, _, hi = args.action_every.partition(":")
    try:
        result = _ws_bench(args, settings, postgres, redis_url, (float(lo), float(hi or lo)))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _ws_bench(
    args: argparse.Namespace,
    settings: Settings,
    postgres: str | None,
    redis_url: str | None,
    action_every: tuple[float, float],
) -> dict[str, Any]:
    from backend.bench.ws_bench import run_ws_bench

    return asyncio.run(
        run_ws_bench(
            settings,
            couriers=args.couriers,
            duration_s=args.duration,
            ramp_per_s=args.ramp_rate,
            stops_per_courier=args.stops,
            clients=args.clients,
            action_every=action_every,
            compression=not args.no_compression,
            keep_dir=args.keep,
            postgres_url=postgres,
            processes=args.processes,
            redis_url=redis_url if args.processes > 1 else None,
            clock=args.clock,
        )
    )


def cmd_bench_replan(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.replan_bench import BenchError, run_replan_bench
    from backend.bench.replan_report import format_report

    try:
        result = asyncio.run(
            run_replan_bench(
                settings,
                couriers=args.couriers,
                stops=args.stops,
                disruptions=args.disruptions,
                cold_time_limit=args.cold_time_limit,
                replan_time_limit=args.replan_time_limit,
                plan_time_limit=args.plan_time_limit,
                timeout_s=args.timeout,
                cost_samples=args.cost_samples,
                clock=args.clock,
                day_hours=args.day_hours,
                seed=args.seed,
                kinds=[k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else None,
                keep_dir=args.keep,
                multi_trip=args.multi_trip,
                pace_s=args.pace,
                position_every_s=args.position_every,
                ride_fail_rate=args.ride_fail_rate,
            )
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else format_report(result))
    return 0


def cmd_bench_map(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.map_bench import BenchError, run_map_bench

    try:
        result = asyncio.run(
            run_map_bench(
                settings,
                couriers=args.couriers,
                stops=args.stops,
                seconds=args.seconds,
                every_s=args.every,
                page_timeout_s=args.page_timeout,
                keep_dir=args.keep,
                screenshot=Path(args.screenshot) if args.screenshot else None,
                profile=args.profile,
                hide=args.hide,
                trace_path=Path(args.trace) if args.trace else None,
            )
        )
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _print_bench(run: Callable[[], dict[str, Any]], one_line: bool) -> int:
    """Run a bench and print its JSON; a ValueError (bad sizes) is the error's sentence and exit 2."""
    try:
        result = run()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=None if one_line else 2))
    return 0


def cmd_bench_picking(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.picking_bench import run_picking_bench

    return _print_bench(
        lambda: run_picking_bench(
            orders=args.orders, lines=args.lines, aisles=args.aisles, cross_aisles=args.cross_aisles, seed=args.seed
        ),
        args.json,
    )


def cmd_bench_positions(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.positions_bench import run_positions_bench

    return _print_bench(
        lambda: run_positions_bench(
            shifts=args.shifts, trail=args.trail, points=args.points, flushes=args.flushes, every_s=args.every
        ),
        args.json,
    )


def cmd_bench_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.alerts_bench import run_alerts_bench

    return _print_bench(lambda: run_alerts_bench(routes=args.routes, trail=args.trail), args.json)


def cmd_bench_checkout(args: argparse.Namespace, settings: Settings) -> int:
    from backend.bench.checkout_bench import run_checkout_bench
    from backend.bench.checkout_load import run_checkout_load

    result: dict[str, Any] = {}
    if args.mode in ("load", "both"):
        try:
            result["load"] = asyncio.run(
                run_checkout_load(
                    settings,
                    stops=args.stops,
                    couriers=args.couriers,
                    clients=args.clients,
                    seconds=args.load_seconds,
                    actors=args.actors,
                    take=args.take,
                    clock=args.clock,
                    seed=args.seed,
                    replan_limit_s=args.replan_limit,
                )
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.mode in ("demo", "both"):
        result["demo"] = asyncio.run(
            run_checkout_bench(
                settings, seconds=args.seconds, take=args.take, time_limit_s=args.time_limit, seed=args.seed
            )
        )
    out = result if args.mode == "both" else result[args.mode]
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


def _checkout_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mode",
        choices=("demo", "load", "both"),
        default="both",
        help="demo: calls one after the other on the planned demo day; load: concurrent calls on a running day",
    )
    p.add_argument("--stops", type=int, default=2000, help="load: the running day's stops")
    p.add_argument("--couriers", type=int, default=80, help="load: its couriers (routes in force)")
    p.add_argument("--clients", type=int, default=200, help="load: concurrent shops asking for options")
    p.add_argument("--load-seconds", type=float, default=20.0, help="load: seconds of concurrent calls")
    p.add_argument("--actors", type=int, default=20, help="load: couriers delivering (and failing) meanwhile")
    p.add_argument("--clock", default="09:30", help="load: the server's time of day (HH:MM), or real")
    p.add_argument("--replan-limit", type=float, help="load: the server's re-plan limit (s; default: its own)")
    p.add_argument("--seconds", type=float, default=10.0, help="demo: seconds of options calls, one after the other")
    p.add_argument("--take", type=int, default=15, help="offered options held, ordered and planned afterwards")
    p.add_argument("--time-limit", type=float, default=5.0, help="the planner's limit for the demo day (s)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_checkout)


def _quality_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reference-factor",
        type=float,
        help="city, demo: the reference plans get this many times the planner's limit (default 10; 0: none)",
    )
    p.add_argument(
        "--mixes",
        help="city, demo: the feature mixes of the quality bench, comma-separated "
        "(default plain,baskets,windows,multi_trip,locks; also day)",
    )


_MULTI_TRIP_HELP = "share of the bikes too small for their day in one loop: they reload at the hub (0: none)"
_MAP_HELP = "the dispatcher's map in a headless Chromium while couriers stream positions: frames, latency"


def _replan_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--couriers", type=int, default=60, help="couriers on the road (one websocket each)")
    p.add_argument("--stops", type=int, default=2100, help="about this many stops in the day")
    p.add_argument("--disruptions", type=int, default=200, help="disruptions sent, one at a time")
    p.add_argument(
        "--cold-time-limit",
        type=float,
        default=60.0,
        help="seconds of the cold solve the remaining day is compared with",
    )
    p.add_argument(
        "--replan-time-limit",
        type=float,
        default=None,
        help="the server's re-plan limit (default: LAADBAK_REPLAN_TIME_LIMIT)",
    )
    p.add_argument("--plan-time-limit", type=float, default=60.0, help="seconds for planning the day first")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for a disruption's effect")
    p.add_argument(
        "--cost-samples",
        type=int,
        default=1,
        help="cost comparisons: 1 at the end, N spread over the run (each a cold solve)",
    )
    p.add_argument(
        "--clock",
        default="auto",
        help="auto (real clock if enough of the day is left, else 09:00 via time-machine), real, or HH:MM",
    )
    p.add_argument("--day-hours", type=float, default=8.0, help="length of the couriers' shifts from now")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--kinds",
        help="only these disruptions, e.g. failed_stop,new_order (also assign, replan, "
        "out_of_service, redirect, closure)",
    )
    p.add_argument("--multi-trip", type=float, default=0.25, help=_MULTI_TRIP_HELP)
    p.add_argument(
        "--pace",
        type=float,
        default=20.0,
        help="real seconds each courier takes per stop (ride, arrive, deliver) while the disruptions come; "
        "0: they stand still",
    )
    p.add_argument("--position-every", type=float, default=4.0, help="seconds between a riding courier's positions")
    p.add_argument("--ride-fail-rate", type=float, default=0.05, help="share of the stops a riding courier fails")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    p.add_argument("--json", action="store_true", help="one line of JSON (default: a report for people)")
    p.set_defaults(func=cmd_bench_replan)


def _picking_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--orders", type=int, default=500, help="orders picked (seeded random bins)")
    p.add_argument("--lines", type=int, default=None, help="order lines in all (default three per order)")
    p.add_argument("--aisles", type=int, default=20, help="aisles of the generated floor")
    p.add_argument("--cross-aisles", type=int, default=0, help="middle cross aisles (0: front and back only)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_picking)


def _positions_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shifts", type=int, default=2000, help="couriers riding (default 2000)")
    p.add_argument("--trail", type=int, default=500, help="positions each has sent before the timed flushes")
    p.add_argument("--points", type=int, default=3, help="positions each sends between two flushes (default 3)")
    p.add_argument("--flushes", type=int, default=3, help="flushes timed (default 3)")
    p.add_argument("--every", type=float, default=15.0, help="seconds between flushes (default 15, the store's)")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_positions)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laadbak", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the API server")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="serving processes on the one port (more than 1: PostgreSQL and REDIS_URL; default 1)",
    )
    p.set_defaults(func=cmd_serve)
    sub.add_parser(
        "worker", help="a solver worker: runs follow-up jobs and solves from the Redis job queue"
    ).set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="create or update the database schema").set_defaults(func=cmd_migrate)
    p = sub.add_parser("import-map", help="build the street network and geocoder of an .osm.pbf")
    p.add_argument("file")
    p.set_defaults(func=cmd_import_map)
    p = sub.add_parser("demo", help="seed the demo city, plan today and serve it")
    p.add_argument("--keep", action="store_true", help="keep an existing demo database instead of starting fresh")
    p.add_argument(
        "--speedup",
        type=float,
        default=None,
        help="how much faster than real time the simulated couriers ride (default: LAADBAK_DEMO_SPEEDUP or 10)",
    )
    p.add_argument("--no-sim", action="store_true", help="serve the day without simulated couriers")
    p.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="benchmarks (print JSON)").add_subparsers(dest="bench", required=True)
    p = bench.add_parser("plan", help="planner quality and speed")
    p.add_argument("--suite", choices=["solomon", "lilim100", "demo", "city"], default="solomon")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per instance (default 10)")
    p.add_argument("--instances", help="comma-separated names, e.g. R101,C201")
    p.add_argument("--files", nargs="+", help="instance files in the suite's format")
    p.add_argument("--bks", help="best-known values CSV for --files")
    p.add_argument("--objective", choices=["distance", "vehicles"], default="distance")
    p.add_argument("--first-solution", help="OR-Tools FirstSolutionStrategy name")
    p.add_argument("--metaheuristic", help="OR-Tools LocalSearchMetaheuristic name")
    p.add_argument(
        "--peer",
        choices=["pyvrp"],
        help="solve every instance with this solver too, right after ours, with the same limit (solomon, lilim100)",
    )
    p.add_argument(
        "--engines",
        help="solomon, lilim100: the planner's runs, one per core, the best checked plan wins: "
        "ortools, pyvrp, ortools+pyvrp, relaxed, second (default second,pyvrp: on a day PyVRP can express,"
        " two PyVRP searches of their own seeds; ortools alone to measure it)",
    )
    p.add_argument("--stops", help="city: day sizes in stops, comma-separated (default 1000,2000,5000)")
    p.add_argument("--time-limits", help="city: seconds per solve, comma-separated (default 10,60)")
    p.add_argument("--hubs", type=int, help="city: hubs, each with its couriers (default 3)")
    p.add_argument("--returns-share", type=float, help="city: share of orders that are returns (default 0.08)")
    p.add_argument("--seed", type=int, help="city: the generated days' seed (default 7)")
    _quality_arguments(p)
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_plan)
    p = bench.add_parser("ws", help="couriers on websockets against a real server: latency, losses, memory")
    p.add_argument("--couriers", type=int, default=2000, help="simulated couriers (one websocket each)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of riding after the ramp-up")
    p.add_argument("--ramp-rate", type=float, default=50.0, help="new connections per second")
    p.add_argument("--stops", type=int, default=6, help="delivery stops per courier")
    p.add_argument("--clients", type=int, default=1, help="client processes the couriers are split over")
    p.add_argument("--action-every", default="30:60", help="seconds between a courier's actions, MIN:MAX")
    p.add_argument("--no-compression", action="store_true", help="no permessage-deflate on the websockets")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    p.add_argument(
        "--postgres", metavar="URL", help="experiment: run on a throw-away PostgreSQL database created on this server"
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="serving processes (and one solver worker) on PostgreSQL and Redis; the couriers spread over them",
    )
    p.add_argument("--redis", metavar="URL", help="--processes: the Redis they share (default REDIS_URL)")
    p.add_argument(
        "--clock",
        default="auto",
        help="auto (the real clock from 07:00 to 20:00, else 09:00 via time-machine), real, or HH:MM",
    )
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_ws)
    _replan_arguments(
        bench.add_parser(
            "replan", help="disruptions against a running day: latency to the phones, cost vs a cold solve"
        )
    )
    p = bench.add_parser("map", help=_MAP_HELP)
    p.add_argument("--couriers", type=int, default=100, help="couriers sending positions (one websocket each)")
    p.add_argument("--stops", type=int, default=4000, help="planned stops in the day, spread over the couriers")
    p.add_argument("--seconds", type=float, default=60.0, help="seconds of positions streaming")
    p.add_argument("--every", type=float, default=5.0, help="seconds between a courier's positions")
    p.add_argument("--page-timeout", type=float, default=120.0, help="seconds the desk may take to show its rows")
    p.add_argument(
        "--screenshot", help="where to save a picture of the map (default: $LAADBAK_ARTIFACTS/map-bench.png)"
    )
    p.add_argument("--profile", action="store_true", help="add the page's hottest functions while streaming")
    p.add_argument("--hide", metavar="SELECTOR", help="experiment: hide these elements of the page before measuring")
    p.add_argument("--trace", metavar="PATH", help="save the page's trace (JSON, for chrome://tracing or Perfetto)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_map)
    _picking_arguments(bench.add_parser("picking", help="warehouse walking per line: single orders vs our batches"))
    _checkout_arguments(bench.add_parser("checkout", help="check-out options calls on the demo day vs its plan"))
    _positions_arguments(bench.add_parser("positions", help="the position store's flush on a real day's trails"))
    p = bench.add_parser("alerts", help="the minute's alert check writing a big hub's late routes")
    p.add_argument("--routes", type=int, default=2000, help="late routes of the hub (default 2000)")
    p.add_argument("--trail", type=int, default=500, help="positions in each courier's live trail (default 500)")
    p.add_argument("--json", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_bench_alerts)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
