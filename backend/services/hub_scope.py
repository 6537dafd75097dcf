"""One rule for references across hubs: an order, shift or courier of one hub
may name a shop, pickup point, courier or bike of the same hub, or one that
belongs to no hub (shared), never another hub's."""

from __future__ import annotations

from backend.db.tables import Courier, Hub, Route, Shop, Stop
from backend.errors import Invalid, NotFound


def require_same_hub(what: str, item_id: int, item_hub: int | None, hub_id: int | None) -> None:
    if item_hub is not None and hub_id is not None and item_hub != hub_id:
        raise Invalid(f"{what} {item_id} belongs to hub {item_hub}, not to hub {hub_id}; choose one of hub {hub_id}.")


async def hub_of_courier(courier_id: int) -> int | None:
    """The courier's hub (None: shared); NotFound when there is no such courier."""
    courier = await Courier.select(Courier.hub).where(Courier.id == courier_id).first()
    if courier is None:
        raise NotFound(f"There is no courier with id {courier_id}.")
    return courier["hub"]


async def hub_of_shop(shop_id: int) -> int | None:
    """The shop's hub (None: shared); NotFound when there is no such shop."""
    shop = await Shop.select(Shop.hub).where(Shop.id == shop_id).first()
    if shop is None:
        raise NotFound(f"There is no shop with id {shop_id}.")
    return shop["hub"]


async def hub_of_stop(stop_id: int) -> int:
    """The stop's hub; NotFound when there is no such stop."""
    stop = await Stop.select(Stop.hub).where(Stop.id == stop_id).first()
    if stop is None:
        raise NotFound(f"There is no stop with id {stop_id}.")
    return int(stop["hub"])


async def hub_of_route(route_id: int) -> int:
    """The route's hub; NotFound when there is no such route (version)."""
    route = await Route.select(Route.hub).where(Route.id == route_id).first()
    if route is None:
        raise NotFound(f"There is no route with id {route_id}.")
    return int(route["hub"])


async def require_hub(hub_id: int) -> None:
    """NotFound when there is no such hub."""
    if not await Hub.exists().where(Hub.id == hub_id):
        raise NotFound(f"There is no hub with id {hub_id}.")
