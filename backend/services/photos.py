"""Proof photos and signatures: checked, kept under var/uploads, recorded per courier."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from backend.db.tables import Photo
from backend.services.images import checked_image


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
