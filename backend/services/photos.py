"""Proof photos and signatures: checked, kept under var/uploads, recorded per courier."""

from __future__ import annotations

import asyncio
import re
import secrets
from pathlib import Path

from backend.db.tables import Photo
from backend.errors import Forbidden, NotFound
from backend.services.images import checked_image
from backend.services.sessions import Principal

PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")


async def store_image(courier_id: int, data: bytes, var_dir: Path, limit: int) -> str:
    """Keep an uploaded image of the courier's; returns its name (the ``photoId``)."""
    kind = await asyncio.to_thread(checked_image, data, limit)  # decoding is CPU work: off the event loop
    name = secrets.token_hex(16)
    folder = var_dir / "uploads" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.{kind}").write_bytes(data)
    await Photo.insert(Photo(name=name, courier=courier_id, content_type=f"image/{kind}", size=len(data)))
    return name


async def is_courier_photo(courier_id: int, photo_id: str) -> bool:
    """Whether the courier uploaded the photo ``photo_id``."""
    return bool(await Photo.exists().where((Photo.name == photo_id) & (Photo.courier == courier_id)))


async def photo_for(user: Principal, photo_id: str, var_dir: Path) -> tuple[bytes, str]:
    """A kept proof image and its media type, for a reader who may see it: the hub's
    dispatchers (and admins), and the courier who took it. NotFound for an unknown
    id; Forbidden, with nothing of it shown, for anyone else."""
    photo = None
    if PHOTO_ID.match(photo_id):
        photo = (
            await Photo.select(Photo.name, Photo.content_type, Photo.courier, Photo.courier.hub)
            .where(Photo.name == photo_id)
            .first()
        )
    if photo is None:
        raise NotFound(f"There is no photo {photo_id[:64]}.")
    hub = photo["courier.hub"]
    if user.role == "courier":
        allowed = user.courier_id == photo["courier"]
    else:
        allowed = user.role == "admin" or (user.role == "dispatcher" and user.hub_id in (None, hub))
    if not allowed:
        raise Forbidden("This photo belongs to another hub's delivery; only its hub's dispatchers see it.")
    kind = photo["content_type"].removeprefix("image/")
    path = var_dir / "uploads" / "photos" / f"{photo['name']}.{kind}"
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError as exc:
        raise NotFound(
            f"Photo {photo_id} is recorded but its file is gone; ask the courier for another proof."
        ) from exc
    return data, photo["content_type"]
