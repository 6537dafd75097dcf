"""What handlers get by injection: ``ctx: Ctx``, the service context (map, solver
pool, settings, positions, feed, clock), and ``user: User``, who is asking (the
guards have already refused anonymous or wrong-role requests, so it comes from
the request's cache). backend/app.py's ``ApplicationCore`` provides both.
"""

from __future__ import annotations

from litestar.di import NamedDependency

from backend.services.context import Context
from backend.services.sessions import Principal

Ctx = NamedDependency[Context]
User = NamedDependency[Principal]
