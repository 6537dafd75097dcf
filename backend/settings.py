"""Settings, read from the environment only (one frozen Struct)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import msgspec

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAP = Path(__file__).resolve().parent / "data" / "helsinki-centre.osm.pbf"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    redis_url: str | None
    map_path: Path
    secret_key: str
    host: str
    port: int
    var_dir: Path
    # How long a solve of a whole day may take, and how many solver processes run.
    plan_time_limit_s: float = 10.0
    replan_time_limit_s: float = 0.8  # a re-plan during the day, reading to saving: the phones wait for it
    fail_policy: str = "pickup_point"  # after a failed delivery: pickup_point | retry | hub
    solver_workers: int = 2
    max_upload_bytes: int = 2_000_000
    token_ttl_s: int = 12 * 3600
    # The contact push services see in the VAPID claims.
    push_subject: str = "mailto:ops@laadbak.invalid"
    # Push endpoint origins allowed although not public (LAADBAK_PUSH_ALLOWED_ORIGINS, exact
    # scheme://host:port each; e.g. the tests' local push service). Empty: public ones only.
    push_allowed_origins: tuple[str, ...] = ()
    # PostgreSQL connection pool (asyncpg's); off: a connection per query.
    db_pool: bool = True
    # The origins browsers reach the service at (scheme://host[:port]); websocket
    # upgrades and cookie-carrying writes from any other origin are refused.
    public_origins: tuple[str, ...] = ()
    # Session cookies carry the Secure flag (on by default when a public origin is https).
    secure_cookies: bool = False
    # Alerts (backend/dispatch/alerts.py): a courier on the road without a position for
    # longer than this many minutes; standing still (away from any stop) for longer than this.
    alert_no_position_min: int = 5
    stall_log_ms: int = 0  # log event-loop stalls over this many ms (0: off)
    alert_still_min: int = 10
    # A ridden trail's point that needs more than this speed from the last one is a GPS jump
    # (backend/dispatch/day_figures.py); the demo raises it by its speed-up.
    trail_max_kmh: float = 45.0
    # Check-out (backend/services/checkout.py): how long a held option keeps its room, and
    # how far from its hub a hub's bikes deliver (beyond: the carrier).
    checkout_hold_min: float = 10.0
    checkout_area_km: float = 8.0
    # Several processes (docs/jobs.md, "Several processes"): solves and follow-up jobs go to
    # `laadbak worker` processes through the Redis job queue; this process only serves.
    solver_queue: bool = False
    jobs_queue: str = "laadbak-jobs"  # the SAQ queue's name in Redis (one per deployment)
    # How often each process looks for waves whose release time has come (services/wave_release.py);
    # 0: never, the waves wait for a dispatcher (the test suite, which releases them by hand).
    wave_release_every_s: float = 30.0
    # Start the solver processes at start-up rather than on the first solve (off in the tests,
    # whose hundreds of apps mostly never solve).
    warm_solvers: bool = True

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def cache_dir(self) -> Path:
        return self.var_dir / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.var_dir / "uploads"


class SettingsError(ValueError):
    pass


def _secret_key(var_dir: Path, from_env: str | None) -> str:
    """The signing key: from LAADBAK_SECRET_KEY, else generated once into var/."""
    if from_env:
        return from_env
    key_file = var_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions before writing the key.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _fail_policy(value: str) -> str:
    from backend.dispatch.failed_stop import POLICIES

    if value not in POLICIES:
        raise ValueError(f"LAADBAK_FAIL_POLICY must be one of {', '.join(POLICIES)}, not {value!r}")
    return value


def _positive(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise SettingsError(f"{name} must be a number above 0, got {value!r}")
    return number


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("LAADBAK_VAR_DIR", str(REPO_ROOT / "var"))).resolve()
    database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'laadbak.sqlite'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise SettingsError(
            f"DATABASE_URL must start with sqlite:///, postgres:// or postgresql://, got {database_url!r}"
        )
    map_path = Path(env.get("LAADBAK_MAP") or DEFAULT_MAP)
    if not map_path.exists():
        raise SettingsError(f"LAADBAK_MAP points to {map_path}, which does not exist")
    try:
        port = int(env.get("LAADBAK_PORT", "8000"))
    except ValueError as exc:
        raise SettingsError(f"LAADBAK_PORT must be a number, got {env['LAADBAK_PORT']!r}") from exc
    secret = _secret_key(var_dir, env.get("LAADBAK_SECRET_KEY"))
    host = env.get("LAADBAK_HOST", "127.0.0.1")
    origins = _public_origins(env.get("LAADBAK_PUBLIC_ORIGINS"), host, port)
    secure = env.get("LAADBAK_SECURE_COOKIES")
    return Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        map_path=map_path,
        secret_key=secret,
        host=host,
        port=port,
        var_dir=var_dir,
        plan_time_limit_s=float(env.get("LAADBAK_PLAN_TIME_LIMIT", "10")),
        replan_time_limit_s=float(env.get("LAADBAK_REPLAN_TIME_LIMIT", "0.8")),
        fail_policy=_fail_policy(env.get("LAADBAK_FAIL_POLICY", "pickup_point")),
        trail_max_kmh=_positive("LAADBAK_TRAIL_MAX_KMH", env.get("LAADBAK_TRAIL_MAX_KMH", "45")),
        checkout_hold_min=_positive("LAADBAK_CHECKOUT_HOLD_MIN", env.get("LAADBAK_CHECKOUT_HOLD_MIN", "10")),
        checkout_area_km=_positive("LAADBAK_CHECKOUT_AREA_KM", env.get("LAADBAK_CHECKOUT_AREA_KM", "8")),
        push_subject=env.get("LAADBAK_PUSH_SUBJECT", "mailto:ops@laadbak.invalid"),
        push_allowed_origins=_push_origins(env.get("LAADBAK_PUSH_ALLOWED_ORIGINS", "")),
        solver_workers=int(env.get("LAADBAK_SOLVER_WORKERS", str(min(2, os.cpu_count() or 1)))),
        public_origins=origins,
        secure_cookies=(
            _flag("LAADBAK_SECURE_COOKIES", secure)
            if secure is not None
            else any(o.startswith("https://") for o in origins)
        ),
        alert_no_position_min=_minutes(env, "LAADBAK_ALERT_NO_POSITION_MIN", 5),
        alert_still_min=_minutes(env, "LAADBAK_ALERT_STILL_MIN", 10),
        stall_log_ms=_stall_ms(env.get("LAADBAK_STALL_LOG_MS", "").strip()),
        solver_queue=_solver_queue(env, database_url),
        jobs_queue=env.get("LAADBAK_JOBS_QUEUE", "").strip() or "laadbak-jobs",
        wave_release_every_s=_every_s("LAADBAK_WAVE_RELEASE_EVERY_S", env.get("LAADBAK_WAVE_RELEASE_EVERY_S", "30")),
        warm_solvers=_flag("LAADBAK_WARM_SOLVERS", env.get("LAADBAK_WARM_SOLVERS", "1")),
    )


def _every_s(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise SettingsError(f"{name} must be a number of seconds, 0 or more (0: off), got {value!r}")
    return number


def _push_origins(value: str) -> tuple[str, ...]:
    from backend.realtime.push_endpoint import parse_allowed_origins

    try:
        return parse_allowed_origins(value)
    except ValueError as exc:
        raise SettingsError(str(exc)) from exc


def _solver_queue(env: dict[str, str], database_url: str) -> bool:
    """LAADBAK_SOLVER_QUEUE: solves and jobs run in `laadbak worker` processes, which share
    the day through PostgreSQL and hear of the work through Redis."""
    value = env.get("LAADBAK_SOLVER_QUEUE", "").strip()
    if not value or not _flag("LAADBAK_SOLVER_QUEUE", value):
        return False
    if not env.get("REDIS_URL") or not database_url.startswith(("postgres://", "postgresql://")):
        raise SettingsError(
            "LAADBAK_SOLVER_QUEUE=1 hands solving to `laadbak worker` processes: set REDIS_URL and a PostgreSQL "
            "DATABASE_URL too (a SQLite day stays in one process; leave LAADBAK_SOLVER_QUEUE unset for it)"
        )
    return True


def _stall_ms(value: str) -> int:
    if not value:
        return 0
    if not value.isdigit() or not 10 <= int(value) <= 60_000:
        raise SettingsError(f"LAADBAK_STALL_LOG_MS is a number of ms from 10 to 60000 (or empty: off), not {value!r}")
    return int(value)


def _minutes(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not 1 <= int(value) <= 24 * 60:
        raise SettingsError(f"{name} is a number of minutes from 1 to 1440, not {value!r}")
    return int(value)


def _public_origins(value: str | None, host: str, port: int) -> tuple[str, ...]:
    """LAADBAK_PUBLIC_ORIGINS (comma-separated), else where ``serve`` listens."""
    if value:
        origins = tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise SettingsError(
                    f"LAADBAK_PUBLIC_ORIGINS takes origins like https://laadbak.example, not {origin!r}"
                )
        return origins
    names = {host} if host not in ("0.0.0.0", "::", "127.0.0.1", "localhost") else {"127.0.0.1", "localhost"}
    return tuple(sorted(f"http://{name}:{port}" for name in names))


def _flag(name: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")
