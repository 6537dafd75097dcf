from __future__ import annotations

from pathlib import Path

import pytest

from backend.db.engine import make_engine, use_database
from tests.conftest import made_once
from tests.live.server import LiveServer, copy_database, run, seed_day


@pytest.fixture(scope="session")
def seeded_day(tmp_path_factory: pytest.TempPathFactory, geo) -> tuple[Path, int]:
    """The seeded and planned day, made once a run: each test gets its own copy of it."""

    def make(folder: Path) -> tuple[str, int]:
        return str(folder / "seed.sqlite"), run(seed_day(folder / "seed.sqlite", geo))

    db, hub_id = made_once(tmp_path_factory, "live-seed", make)
    return Path(db), hub_id


@pytest.fixture
def live(tmp_path, seeded_day):
    seed_db, hub_id = seeded_day
    db = tmp_path / "live.sqlite"
    copy_database(seed_db, db)
    use_database(make_engine(f"sqlite:///{db}"))  # as seeding it here would have left it
    server = LiveServer(tmp_path, db)
    server.hub_id = hub_id
    server.start()
    yield server
    server.stop()
