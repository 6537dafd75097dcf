from __future__ import annotations

import pytest

from tests.live.server import LiveServer, run, seed_day


@pytest.fixture
def live(tmp_path, geo):
    db = tmp_path / "live.sqlite"
    hub_id = run(seed_day(db, geo))
    server = LiveServer(tmp_path, db)
    server.hub_id = hub_id
    server.start()
    yield server
    server.stop()
