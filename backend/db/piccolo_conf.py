"""Piccolo's configuration module (PICCOLO_CONF points here).

``DB`` is replaced at run time by :func:`backend.db.engine.use_database`, so the
same code serves SQLite and PostgreSQL, chosen by DATABASE_URL.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

DB: Engine | None = None

APP_REGISTRY = AppRegistry(apps=["backend.db.piccolo_app"])
