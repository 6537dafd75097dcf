"""The plain resources' controllers: hubs, shops, pickup points, bikes, couriers, shifts
(see backend/services/resources.py for what each is and how it is checked)."""

from __future__ import annotations

from backend.api.crud import make_controller
from backend.services.resources import RESOURCES

CONTROLLERS = [make_controller(r) for r in RESOURCES]
