"""The courier's phone: the day, actions (idempotent), photos, and the live streams."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Awaitable
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import JSONBody, QueryParameter

from backend.api.answers import idempotent
from backend.api.auth import authenticated
from backend.api.deps import Ctx, User
from backend.api.schemas import Body, Id, UploadForm
from backend.errors import Forbidden, Invalid
from backend.services import courier as service
from backend.services.context import Positions
from backend.services.photos import is_courier_photo, store_image
from backend.services.sessions import Principal

MAX_PHOTO_BYTES = 5_000_000
MAX_SIGNATURE_BYTES = 500_000
OptionalDate = Annotated[dt.date | None, QueryParameter(name="date", description="The day; default today")]


class ScanIn(Body):
    barcode: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class SignatureProof(Body, tag_field="kind", tag="signature"):
    signature: Annotated[str, msgspec.Meta(max_length=700_000)]  # a PNG data URL of at most 500 kB
    recipient_name: Annotated[str, msgspec.Meta(max_length=120)] = ""


class PhotoProof(Body, tag_field="kind", tag="photo"):
    photo_id: Annotated[str, msgspec.Meta(max_length=64)]


class RecipientProof(Body, tag_field="kind", tag="recipient"):
    recipient_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]


class PickupPointProof(Body, tag_field="kind", tag="pickup_point"):
    pass


Proof = SignatureProof | PhotoProof | RecipientProof | PickupPointProof


Barcodes = Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=200)]


class DeliverIn(Body):
    barcodes: Barcodes
    proof: Proof


class FailIn(Body):
    reason: Literal["not_home", "refused", "address_not_found", "no_access", "damaged", "other"]
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CollectIn(Body):
    barcodes: Barcodes


class Empty(Body):
    pass


async def provide_courier_id(user: User) -> int:
    """Dependency ``cid``: the courier behind the request (Forbidden for other users)."""
    if user.courier_id is None:
        raise Forbidden("Only couriers use these endpoints.")
    return user.courier_id


class When(NamedTuple):
    """Dependency ``when``: the courier's day (``?date=``, else the app's today) and the
    moment of the action, both on the app's clock (``ctx.now()``), as the rest of the day is."""

    day: dt.date
    now: dt.datetime


async def provide_when(ctx: Ctx, date: OptionalDate = None) -> When:
    now = ctx.now()
    return When(date or now.date(), now)


class CourierController(Controller):
    path = "/courier"
    tags = ["courier"]
    guards = [authenticated]
    dependencies = {"cid": Provide(provide_courier_id), "when": Provide(provide_when)}

    @get("/today", summary="The courier's day: shift, route with live stop states, loading list, seq")
    async def today(self, cid: int, when: When) -> dict[str, Any]:
        return await service.day_view(cid, when.day)

    @post("/shift/start", status_code=200, summary="Start the shift (Idempotency-Key required)")
    async def start_shift(
        self, request: Request, user: User, cid: int, when: When, data: JSONBody[Empty]
    ) -> Response[Any]:
        return await idempotent(
            request, user, 200, prepare=lambda: service.prepare_start_shift(cid, when.day, when.now)
        )

    @post("/shift/end", status_code=200, summary="End the shift; answers a summary (Idempotency-Key required)")
    async def end_shift(
        self, request: Request, user: User, cid: int, when: When, data: JSONBody[Empty]
    ) -> Response[Any]:
        return await idempotent(request, user, 200, prepare=lambda: service.prepare_end_shift(cid, when.day, when.now))

    @post("/loading/scan", status_code=200, summary="Scan a parcel into the bike at the hub (Idempotency-Key required)")
    async def scan(self, request: Request, user: User, cid: int, when: When, data: JSONBody[ScanIn]) -> Response[Any]:
        return await idempotent(request, user, 200, lambda: service.scan_for_loading(cid, when.day, data.barcode))

    @post("/stops/{stop_id:int}/arrive", status_code=200, summary="Arrived at a stop (Idempotency-Key required)")
    async def arrive(
        self, request: Request, user: User, cid: int, when: When, stop_id: Id, data: JSONBody[Empty]
    ) -> Response[Any]:
        return await _stop_action(request, user, cid, when, stop_id, "arrive")

    @post("/stops/{stop_id:int}/deliver", status_code=200, summary="Deliver with proof (Idempotency-Key required)")
    async def deliver(
        self, request: Request, ctx: Ctx, user: User, cid: int, when: When, stop_id: Id, data: JSONBody[DeliverIn]
    ) -> Response[Any]:
        var_dir = ctx.settings.var_dir
        return await _stop_action(
            request,
            user,
            cid,
            when,
            stop_id,
            "deliver",
            barcodes=data.barcodes,
            proof=lambda: _proof(cid, data.proof, var_dir, ctx.positions),
            secret=ctx.settings.secret_key,
        )

    @post("/stops/{stop_id:int}/fail", status_code=200, summary="Fail a stop with a reason (Idempotency-Key required)")
    async def fail(
        self, request: Request, user: User, cid: int, when: When, stop_id: Id, data: JSONBody[FailIn]
    ) -> Response[Any]:
        # The parcel's next step is a job written with the failure (backend/services/follow_ups.py).
        return await _stop_action(request, user, cid, when, stop_id, "fail", reason=data.reason, note=data.note)

    @post(
        "/stops/{stop_id:int}/collect", status_code=200, summary="Collect parcels at a shop (Idempotency-Key required)"
    )
    async def collect(
        self, request: Request, user: User, cid: int, when: When, stop_id: Id, data: JSONBody[CollectIn]
    ) -> Response[Any]:
        return await _stop_action(request, user, cid, when, stop_id, "collect", barcodes=data.barcodes)

    @post(
        "/photos",
        summary="Upload a proof photo (JPEG, PNG or WebP, at most 5 MB; Idempotency-Key required)",
        request_max_body_size=MAX_PHOTO_BYTES + 100_000,
    )
    async def photo(self, request: Request, ctx: Ctx, user: User, cid: int, data: UploadForm) -> Response[Any]:
        raw = await data.file.read(MAX_PHOTO_BYTES + 1)
        var_dir = ctx.settings.var_dir

        async def action() -> Any:
            return {"photoId": await store_image(cid, raw, var_dir, MAX_PHOTO_BYTES)}

        return await idempotent(request, user, 201, action, content=raw)


def _stop_action(
    request: Request, user: Principal, cid: int, when: When, stop_id: int, action: str, **extra: Any
) -> Awaitable[Response[Any]]:
    """A courier's action at a stop, once per Idempotency-Key, on the day and at the moment of ``when``."""
    return idempotent(
        request,
        user,
        200,
        prepare=lambda: service.prepare_stop_action(cid, when.day, stop_id, action, when.now, by_user=user.id, **extra),
    )


async def _proof(courier_id: int, proof: Proof, var_dir: Any, positions: Positions | None = None) -> dict[str, Any]:
    """The proof as the stop keeps it, with where the courier was when it was made (when known)."""
    kept = await _proof_of(courier_id, proof, var_dir)
    last = positions.last(courier_id) if positions is not None else None
    if last is not None:
        kept.update(lat=last["lat"], lon=last["lon"])
    return kept


async def _proof_of(courier_id: int, proof: Proof, var_dir: Any) -> dict[str, Any]:
    if isinstance(proof, SignatureProof):
        prefix = "data:image/png;base64,"
        if not proof.signature.startswith(prefix):
            raise Invalid("signature must be a PNG data URL (data:image/png;base64,...).")
        try:
            png = base64.b64decode(proof.signature[len(prefix) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("signature is not valid base64.") from exc
        name = await store_image(courier_id, png, var_dir, MAX_SIGNATURE_BYTES)
        return {"kind": "signature", "photoId": name, "recipientName": proof.recipient_name}
    if isinstance(proof, PhotoProof):
        if not await is_courier_photo(courier_id, proof.photo_id):
            raise Invalid(f"photoId {proof.photo_id} is not one of your uploaded photos; upload it first.")
        return {"kind": "photo", "photoId": proof.photo_id}
    if isinstance(proof, RecipientProof):
        return {"kind": "recipient", "recipientName": proof.recipient_name}
    return {"kind": "pickup_point"}
