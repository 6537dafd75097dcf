"""One mechanism for the plain resources (hubs, shops, pickup points, bikes,
couriers, shifts): create, list, read, patch, delete, with the same checks.

A resource is described by its table and its create Struct; the patch and read
Structs are derived from it. Fields named ``x_id`` map to the foreign-key column
``x`` and are checked to exist. A ``prepare`` hook does resource-specific
validation (geocoding, overlap checks) before anything is written. The HTTP
side (backend/api/crud.py) builds one controller per resource over these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
from piccolo.columns import Column, ForeignKey

from backend.db.tables import Keyed
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.services.context import Context
from backend.services.hub_scope import require_same_hub
from backend.services.sessions import Principal

Prepare = Callable[[dict[str, Any], Context, dict[str, Any] | None], Awaitable[dict[str, Any]]]


@dataclasses.dataclass
class Resource:
    name: str  # singular, for messages: "hub"
    path: str
    table: type[Keyed]
    create: type[msgspec.Struct]
    prepare: Prepare | None = None
    read_roles: tuple[str, ...] = ("dispatcher",)
    write_roles: tuple[str, ...] = ("dispatcher",)
    update: type[msgspec.Struct] = dataclasses.field(init=False)
    read: type[msgspec.Struct] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        fields = msgspec.structs.fields(self.create)
        self.update = msgspec.defstruct(
            f"{self.create.__name__}Patch",
            [(f.name, f.type | msgspec.UnsetType, msgspec.UNSET) for f in fields],
            kw_only=True,
            rename="camel",
            forbid_unknown_fields=True,
        )
        self.read = msgspec.defstruct(
            f"{self.create.__name__.removesuffix('In')}Out",
            [("id", int), *((f.name, f.type) for f in fields)],
            kw_only=True,
            rename="camel",
        )
        columns = {c._meta.name: c for c in self.table._meta.columns}
        self.fk_fields = {
            f.name: f.name.removesuffix("_id")
            for f in fields
            if f.name.endswith("_id") and isinstance(columns.get(f.name.removesuffix("_id")), ForeignKey)
        }
        self.hub_column = "hub" if "hub" in columns else ("id" if self.table._meta.tablename == "hub" else None)

    def to_row(self, values: dict[str, Any]) -> dict[str, Any]:
        return {self.fk_fields.get(k, k): v for k, v in values.items()}

    def from_row(self, row: dict[str, Any]) -> msgspec.Struct:
        names = {f.name for f in msgspec.structs.fields(self.read)}
        back = {v: k for k, v in self.fk_fields.items()}
        return self.read(**{back.get(k, k): v for k, v in row.items() if back.get(k, k) in names})


def struct_values(data: msgspec.Struct) -> dict[str, Any]:
    """Field values by attribute name, nested Structs as builtins (for JSON columns)."""
    return {
        f: msgspec.to_builtins(getattr(data, f)) if _is_struct_like(getattr(data, f)) else getattr(data, f)
        for f in data.__struct_fields__
        if getattr(data, f) is not msgspec.UNSET
    }


def _is_struct_like(value: Any) -> bool:
    return isinstance(value, msgspec.Struct) or (
        isinstance(value, list | tuple) and any(isinstance(v, msgspec.Struct) for v in value)
    )


async def check_references(res: Resource, values: dict[str, Any]) -> None:
    """Every id names a row that exists and, where both have a hub, of the same hub
    (a hub-1 shift cannot take a hub-2 courier or bike)."""
    columns = {c._meta.name: c for c in res.table._meta.columns}
    own_hub = values.get("hub_id")
    for field, column in res.fk_fields.items():
        ref_id = values.get(field)
        if ref_id is None:
            continue
        target: Any = cast(ForeignKey[Any], columns[column])._foreign_key_meta.resolved_references
        camel = field.split("_")[0] + "".join(p.title() for p in field.split("_")[1:])
        has_hub = any(c._meta.name == "hub" for c in target._meta.columns)
        row = (
            await target.select(*([target.id, target.hub] if has_hub else [target.id]))
            .where(target.id == ref_id)
            .first()
        )
        if row is None:
            raise Invalid(f"{camel} {ref_id} does not exist.")
        if has_hub and field != "hub_id":
            require_same_hub(camel, ref_id, row["hub"], own_hub)


def check_hub_scope(res: Resource, user: Principal, row: dict[str, Any]) -> None:
    """Dispatchers tied to a hub act on that hub's things only."""
    if user.role == "admin" or user.hub_id is None or res.hub_column is None:
        return
    hub = row.get(res.hub_column)
    if hub is not None and hub != user.hub_id:
        raise Forbidden(f"This {res.name} belongs to another hub.")


async def check_unique(res: Resource, row: dict[str, Any], item_id: int | None) -> None:
    """A value a unique column already holds elsewhere is a 409 naming it, before the write."""
    for column in res.table._meta.columns:
        name = column._meta.name
        if not column._meta.unique or name not in row or row[name] is None:
            continue
        query = res.table.exists().where(column == row[name])
        if item_id is not None:
            query = query.where(res.table.id != item_id)
        if await query:
            raise Conflict(f"Another {res.name} already has the {name} {row[name]!r}; choose another.")


async def fetch(res: Resource, item_id: int) -> dict[str, Any]:
    row = await res.table.select().where(res.table.id == item_id).output(load_json=True).first()
    if row is None:
        raise NotFound(f"There is no {res.name} with id {item_id}.")
    return row


async def checked_row(
    res: Resource, data: msgspec.Struct, ctx: Context, user: Principal, existing: dict[str, Any] | None
) -> dict[str, Any]:
    """A full, valid resource as a row to write: prepared, references and hub checked."""
    values = struct_values(data)
    if res.hub_column == "hub" and values.get("hub_id") is None and user.role != "admin" and user.hub_id is not None:
        values["hub_id"] = user.hub_id  # a hub's dispatcher makes things of their own hub
    if res.prepare:
        values = await res.prepare(values, ctx, existing)
    await check_references(res, values)
    row = res.to_row(values)
    check_hub_scope(res, user, row)
    await check_unique(res, row, existing["id"] if existing else None)
    return row


async def create_item(res: Resource, ctx: Context, user: Principal, data: msgspec.Struct) -> msgspec.Struct:
    row = await checked_row(res, data, ctx, user, None)
    inserted = await res.table.insert(res.table(**row))
    return res.from_row(await fetch(res, inserted[0]["id"]))


async def list_items(res: Resource, user: Principal) -> list[msgspec.Struct]:
    """All of them; a hub's dispatcher sees their hub's only."""
    table = res.table
    query = table.select().order_by(table.id).output(load_json=True)
    if user.role != "admin" and user.hub_id is not None and res.hub_column:
        query = query.where(getattr(table, res.hub_column) == user.hub_id)
    return [res.from_row(r) for r in await query]


async def read_item(res: Resource, user: Principal, item_id: int) -> msgspec.Struct:
    row = await fetch(res, item_id)
    check_hub_scope(res, user, row)
    return res.from_row(row)


async def update_item(
    res: Resource, ctx: Context, user: Principal, item_id: int, data: msgspec.Struct
) -> msgspec.Struct:
    """Change the given fields; the whole resource is checked again, as on create."""
    existing = await fetch(res, item_id)
    check_hub_scope(res, user, existing)
    current = struct_values(res.from_row(existing))
    current.pop("id")
    merged = {**current, **struct_values(data)}
    encode = {f.name: f.encode_name for f in msgspec.structs.fields(res.create)}
    try:  # re-validate the whole resource, so cross-field rules still hold
        full = msgspec.convert({encode[k]: v for k, v in merged.items() if k in encode}, res.create)
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc
    row = await checked_row(res, full, ctx, user, existing)
    await res.table.update(cast(dict[Column | str, Any], row)).where(res.table.id == item_id)
    return res.from_row(await fetch(res, item_id))


async def delete_item(res: Resource, user: Principal, item_id: int) -> None:
    """Delete it; Conflict while other rows still refer to it."""
    table = res.table
    row = await fetch(res, item_id)
    check_hub_scope(res, user, row)
    for fk in table._meta.foreign_key_references:
        other = fk._meta.table
        used = await other.count().where(fk == item_id)
        if used:
            raise Conflict(
                f"This {res.name} is still used by {used} {other._meta.tablename.replace('_', ' ')} "
                f"row(s); remove or move them first."
            )
    await table.delete().where(table.id == item_id)
