"""The Litestar application: wiring only (settings, database, map, solver pool, routes)."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Router, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins import InitPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

import backend
from backend.api.alerts import AlertController
from backend.api.auth import AuthController, provide_user
from backend.api.battery import BatteryController
from backend.api.body_rules import check_request
from backend.api.checkout import CHECKOUT_CONTROLLERS
from backend.api.closures import ClosureController
from backend.api.courier import CourierController
from backend.api.desk import DeskController
from backend.api.disruptions import DisruptionController
from backend.api.errors import EXCEPTION_HANDLERS
from backend.api.handover import HANDOVER_CONTROLLERS
from backend.api.lockers import CompartmentController, LockerController
from backend.api.messages import MessageController
from backend.api.methods import complete_allow
from backend.api.openapi import render_plugins
from backend.api.orders import OrderController
from backend.api.packing import PACKING_CONTROLLERS
from backend.api.plans import PlanController, RouteController
from backend.api.point import PointController
from backend.api.push import PushController
from backend.api.resources import CONTROLLERS
from backend.api.returns import RETURN_CONTROLLERS
from backend.api.returns_desk import RETURNS_DESK_CONTROLLERS
from backend.api.returns_figures import ReturnFiguresController
from backend.api.returns_settings import ReturnSettingsController
from backend.api.ridden import RiddenController
from backend.api.scanner import SCANNER_CONTROLLERS
from backend.api.security_headers import security_headers
from backend.api.sorting import SORTING_CONTROLLERS
from backend.api.stop_detail import StopDetailController
from backend.api.streams import courier_stream, hub_stream, pick_stream, returns_stream, streets
from backend.api.tracking import TrackingController
from backend.api.users import UserController
from backend.api.warehouse import WAREHOUSE_CONTROLLERS
from backend.api.warehouse_admin import WAREHOUSE_ADMIN_CONTROLLERS
from backend.api.zones import ZoneController
from backend.db.engine import WRITER_FIGURES, close_pool, make_engine, migrate, transaction, use_database
from backend.dispatch.pool import new_pool, warm_pool
from backend.jobs import Worker, enqueue
from backend.realtime.feed import make_feed
from backend.realtime.gc_pacer import GcPacer
from backend.realtime.positions import PositionStore
from backend.realtime.push import PushSender, application_server_key, load_vapid
from backend.realtime.push_endpoint import PushEndpoints
from backend.realtime.push_relay import PushRelay
from backend.realtime.sessions import SessionWatch
from backend.realtime.stall_watch import StallWatch
from backend.realtime.ticker import ProgressTicker
from backend.services import (
    checkout_kept,
    checkout_keys,
    follow_ups,  # noqa: F401 - registers the job kinds
)
from backend.services.alerts import AlertWatch
from backend.services.closures import ClosureReopener
from backend.services.context import Context, context_of, provide_context
from backend.services.geo import Geo
from backend.services.wave_release import WaveReleaser
from backend.settings import REPO_ROOT, Settings, load_settings

log = logging.getLogger("laadbak")


def _quiet_options(record: logging.LogRecord) -> bool:
    """The access log without the check-out's answered options calls: a webshop asks at
    every check-out page, hundreds a second at peak, and a line each cost more CPU than
    the answer (refusals and errors are still logged)."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and args[2] == "/checkout/options" and args[1] == "POST":
        return not isinstance(args[4], int) or args[4] >= 400
    return True


logging.getLogger("uvicorn.access").addFilter(_quiet_options)


class Health(msgspec.Struct, rename="camel"):
    status: str
    version: str
    database: str
    channels: str
    map: str


@get("/health", tags=["health"], summary="Liveness, version, and what the service is connected to")
async def health(state: State) -> Health:
    settings: Settings = state.settings
    return Health(
        status="ok",
        version=backend.__version__,
        database="postgresql" if settings.is_postgres else "sqlite",  # no place or path: anyone can ask
        channels="redis" if settings.redis_url else "memory",
        map=settings.map_path.name,
    )


async def _poke_feed(request: Request) -> None:
    """After any write, deliver its outbox events now rather than at the next poll."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and hasattr(request.app.state, "feed"):
        await request.app.state.feed.poke()
        if hasattr(request.app.state, "jobs"):  # a job it wrote is committed now: run it without waiting for a poll
            request.app.state.jobs.wake_if_written()


# Young collections every 5,000 allocations (see the lifespan) and on a clock (GcPacer: every
# 0.1 s, the middle generation every 0.5 s), full ones after every 20,000 middle ones: hours
# apart, as before the pacer. A pause is what it walks: docs/performance.md.
GC_THRESHOLDS = (5_000, 2, 20_000)
# Falling behind is gradual: one re-plan of a hub every two minutes follows it.
BEHIND_EVERY_S = 120.0


def _behind_replanner(state: State) -> Callable[[int, set[int]], None]:
    """Re-plan a hub whose couriers fall behind at most once per ``BEHIND_EVERY_S``:
    a ``courier_behind`` job keyed by hub and period, so repeats in a period are one job."""

    def on_behind(hub_id: int, couriers: set[int]) -> None:
        period = int(time.time() // BEHIND_EVERY_S)

        async def write() -> None:
            try:
                async with transaction():
                    await enqueue(
                        "courier_behind",
                        f"courier_behind:{hub_id}:{period}",
                        {"hubId": hub_id, "couriers": sorted(couriers)},
                    )
                if hasattr(state, "jobs"):
                    state.jobs.wake()
            except Exception:  # noqa: BLE001 - the next tick finds them behind again
                log.exception("could not write the re-plan of hub %s's couriers behind", hub_id)

        task = asyncio.create_task(write())
        _writes.add(task)
        task.add_done_callback(_writes.discard)

    return on_behind


_writes: set[asyncio.Task[None]] = set()


def _job_backend(settings: Settings) -> Any:
    """SAQ over Redis where REDIS_URL is set (several processes share the work); else the table alone.
    With LAADBAK_SOLVER_QUEUE this process only hands jobs over: `laadbak worker` processes run them."""
    if not settings.redis_url:
        return None
    from backend.jobs.redis_saq import SaqBackend

    return SaqBackend(
        settings.redis_url, name=settings.jobs_queue, run=not settings.solver_queue, secret=settings.secret_key
    )


def _solver_pool(settings: Settings, jobs: Any) -> Executor:
    """Where this process's solves run: its own solver processes, or (LAADBAK_SOLVER_QUEUE) the
    `laadbak worker` processes, through the job queue (backend/jobs/solve_queue.py)."""
    if not settings.solver_queue:
        pool = new_pool(settings.solver_workers)
        if settings.warm_solvers:
            warm_pool(pool, settings.solver_workers)  # in the background: start-up does not wait
        return pool
    from backend.jobs.solve_queue import QueueExecutor

    return QueueExecutor(jobs.queue, settings.secret_key, timeout_s=2 * settings.plan_time_limit_s + 30)


# The worker apps served at /<name>/ (the picker's API lives under /pick/batches... too).
WORKER_APPS = ("courier", "dispatch", "pick", "point", "returns-desk")


def _app_router(static: Path, app: str) -> Router:
    """One app's pages and modules under /<app>/ (its index.html at /<app>/)."""
    return create_static_files_router(
        path=f"/{app}", directories=[static / app], html_mode=True, include_in_schema=False, name=f"{app}-app"
    )


class ApplicationCore(InitPlugin):
    """The one place handlers' dependencies are wired (as litestar-fullstack's
    ApplicationCore does): ``ctx``, the service context start-up builds, and
    ``user``, who is asking (see backend/api/deps.py)."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.dependencies.update({"ctx": Provide(provide_context), "user": Provide(provide_user)})
        return app_config


@asynccontextmanager
async def _collector(app: Litestar) -> AsyncIterator[None]:
    """The garbage collector set for a server of thousands of sockets: entered after the main
    lifespan, so that what it built is frozen."""
    # What start-up built (the street network, caches) lives as long as the
    # process: out of the collector's sight, a full collection no longer
    # walks it, which stalled every socket for a few hundred ms.
    gc.collect()
    gc.freeze()
    # With the default young-generation threshold (700 allocations) the
    # objects of every request in flight are promoted to the old
    # generation, which then fills up and is walked every few seconds:
    # a pause of 0.3-1 s across 2,000 sockets (measured with `bench ws`).
    # Young collections every 5,000 allocations let request garbage die
    # young, so full collections come only when the long-lived set grows;
    # the pacer collects the young generation on a clock as well
    # (backend/realtime/gc_pacer.py, docs/performance.md).
    gc.set_threshold(*GC_THRESHOLDS)
    pacer = GcPacer()
    await pacer.start()
    try:
        yield
    finally:
        await pacer.stop()


@asynccontextmanager
async def _alert_watch(app: Litestar) -> AsyncIterator[None]:
    """The alert rules once a minute (backend/services/alerts.py), on the context the
    main lifespan built: entered after it, left before it."""
    watch = AlertWatch(context_of(app.state))
    await watch.start()
    try:
        yield
    finally:
        await watch.stop()


@asynccontextmanager
async def _stall_watch(app: Litestar) -> AsyncIterator[None]:
    """Event-loop stalls logged with what held the loop (LAADBAK_STALL_LOG_MS; off by default)."""
    ms = app.state.settings.stall_log_ms
    watch = StallWatch(ms) if ms else None
    if watch is not None:
        await watch.start()
    try:
        yield
    finally:
        if watch is not None:
            await watch.stop()
            if not app.state.settings.is_postgres:  # PostgreSQL has no single writer to wait for
                logging.getLogger("laadbak.db").info("writer figures: %s", WRITER_FIGURES.text())


# Every API controller and socket (the apps' pages are routed in create_app).
API_HANDLERS: tuple[ControllerRouterHandler, ...] = (
    health,
    AuthController,
    UserController,
    *CONTROLLERS,
    *WAREHOUSE_CONTROLLERS,
    *WAREHOUSE_ADMIN_CONTROLLERS,
    *SCANNER_CONTROLLERS,
    *PACKING_CONTROLLERS,
    *HANDOVER_CONTROLLERS,
    *SORTING_CONTROLLERS,
    OrderController,
    PlanController,
    DisruptionController,
    ClosureController,
    ZoneController,
    AlertController,
    RouteController,
    CourierController,
    DeskController,
    PushController,
    TrackingController,
    *RETURN_CONTROLLERS,
    *RETURNS_DESK_CONTROLLERS,
    ReturnFiguresController,
    ReturnSettingsController,
    StopDetailController,
    MessageController,
    BatteryController,
    RiddenController,
    *CHECKOUT_CONTROLLERS,
    PointController,
    CompartmentController,
    LockerController,
    courier_stream,
    hub_stream,
    pick_stream,
    returns_stream,
    streets,
)


def create_app(settings: Settings | None = None, *, geo: Geo | None = None) -> Litestar:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        use_database(engine)
        pooled = settings.db_pool or not settings.is_postgres  # SQLite's pool keeps its connections open
        if pooled:
            await engine.start_connection_pool()
        await migrate()
        # The check-out's kept views and keys are per process: another app in this process
        # (tests) has another database, whose hubs and keys have the same ids.
        checkout_kept.forget()
        checkout_keys.forget()
        app.state.geo = geo or await asyncio.to_thread(Geo.load, settings.map_path, settings.cache_dir)
        # OR-Tools holds the GIL while solving: solves run in worker processes (this process's
        # own, or the solver workers' behind the job queue).
        jobs_backend = _job_backend(settings)
        executor = _solver_pool(settings, jobs_backend)
        app.state.executor = executor
        app.state.feed = make_feed(settings.redis_url)
        await app.state.feed.start()
        app.state.sessions = SessionWatch()
        await app.state.sessions.start()
        app.state.positions = PositionStore()
        await app.state.positions.start()
        app.state.feed.watch_positions(app.state.positions.hear)  # phones on other processes too
        ticker = ProgressTicker(app.state.feed, on_behind=_behind_replanner(app.state))
        await ticker.start()
        vapid = load_vapid(settings.var_dir)
        app.state.push_key = application_server_key(vapid)
        app.state.push = PushSender(
            vapid, subject=settings.push_subject, endpoints=PushEndpoints(allowed_origins=settings.push_allowed_origins)
        )
        relay = PushRelay(app.state.push)
        await app.state.push.start()
        await relay.start()
        # The one context the services get (controllers by injection, jobs and tasks from state).
        ctx = app.state.context = Context(
            geo=app.state.geo,
            settings=settings,
            pool=executor,
            positions=app.state.positions,
            feed=app.state.feed,
            push=app.state.push,
            push_key=app.state.push_key,
        )
        # Follow-up jobs: those left unfinished by a process that stopped run again now.
        # Searches for a better plan run beside the other jobs, never in front of them.
        app.state.jobs = Worker(app.state, backend=jobs_backend, apart=frozenset({"replan_better"}))
        await app.state.jobs.start()
        reopener = ClosureReopener(ctx)  # re-plans hubs whose closures have just ended
        await reopener.start()
        # Waves released at their release time, on the hub's clock (a test may move it).
        releaser = app.state.wave_releaser = WaveReleaser(
            lambda: context_of(app.state).now(), app.state.jobs.wake, every_s=settings.wave_release_every_s
        )
        if settings.wave_release_every_s > 0:
            await releaser.start()
        try:
            yield
        finally:
            await releaser.stop()
            await reopener.stop()
            await app.state.jobs.stop()
            await relay.stop()
            await app.state.push.stop()
            await ticker.stop()
            await app.state.positions.stop()
            await app.state.sessions.stop()
            await app.state.feed.stop()
            executor.shutdown(wait=False, cancel_futures=True)
            if pooled:
                await close_pool(engine)

    static = REPO_ROOT / "pwa" / "static"
    return Litestar(
        route_handlers=[
            *API_HANDLERS,
            # The courier app, the dispatcher's desk and the picker app have their own routers:
            # /courier/... API routes would hide the "/" one.
            *(_app_router(static, app) for app in (*WORKER_APPS, "returns")),
            create_static_files_router(path="/", directories=[static], html_mode=True, include_in_schema=False),
        ],
        state=State({"settings": settings}),
        lifespan=[lifespan, _collector, _alert_watch, _stall_watch],
        plugins=[ApplicationCore()],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Laadbak",
            version=backend.__version__,
            description="City logistics from micro-hubs with electric cargo bikes. "
            "Log in at POST /auth/login, then send the cookie or 'Authorization: Bearer <token>'.",
            render_plugins=render_plugins(),
        ),
        before_request=check_request,
        middleware=[security_headers],
        after_response=_poke_feed,
        before_send=[complete_allow],
        request_max_body_size=settings.max_upload_bytes + 64_000,
        debug=False,
    )
