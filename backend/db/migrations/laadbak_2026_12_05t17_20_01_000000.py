"""A return item becomes one row per unit (each unit is graded, refunded and stocked on its own),
with its share of the request's fee and bonus. Rows written before: the request's fee and bonus go
to its first expected item (what the customer was told stays the total), and a row of several
units not inspected yet is split into rows of one, the units received first (the columns came in
the migration before this one: Piccolo runs raw steps before added columns). A row already
inspected keeps its history as it is."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-05T17:20:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "return items one row per unit"

NOT_INSPECTED = "NOT EXISTS (SELECT 1 FROM return_inspection x WHERE x.item = i.id)"
SQL = (
    # the request's fee and bonus on its first expected item
    "UPDATE return_item SET "
    "fee_cents = (SELECT r.fee_cents FROM return_request r WHERE r.id = return_item.request), "
    "bonus_cents = (SELECT r.bonus_cents FROM return_request r WHERE r.id = return_item.request) "
    "WHERE status != 'unexpected' AND id = (SELECT MIN(j.id) FROM return_item j "
    "WHERE j.request = return_item.request AND j.status != 'unexpected')",
    # units 2..n of an expected row: received while the parcel held them, missing after
    "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 1000) "
    'INSERT INTO return_item (request, order_line, sku, quantity, received, reason, "text", status, '
    "fee_cents, bonus_cents) "
    "SELECT i.request, i.order_line, i.sku, 1, CASE WHEN n.k < i.received THEN 1 ELSE 0 END, i.reason, i.\"text\", "
    "CASE WHEN i.status = 'expected' THEN 'expected' WHEN n.k < i.received THEN 'received' ELSE 'missing' END, 0, 0 "
    f"FROM return_item i JOIN n ON n.k < i.quantity WHERE i.quantity > 1 AND {NOT_INSPECTED}",
    # units 2..n of an unexpected row (quantity 0, received n)
    "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 1000) "
    'INSERT INTO return_item (request, order_line, sku, quantity, received, reason, "text", status, '
    "fee_cents, bonus_cents) "
    "SELECT i.request, i.order_line, i.sku, 0, 1, i.reason, i.\"text\", 'unexpected', 0, 0 "
    f"FROM return_item i JOIN n ON n.k < i.received WHERE i.status = 'unexpected' AND i.received > 1 AND {NOT_INSPECTED}",
    # the first unit stays in the row itself
    "UPDATE return_item SET quantity = 1, received = CASE WHEN received >= 1 THEN 1 ELSE 0 END, "
    "status = CASE WHEN status = 'expected' THEN 'expected' WHEN received >= 1 THEN 'received' ELSE 'missing' END "
    "WHERE quantity > 1 AND NOT EXISTS (SELECT 1 FROM return_inspection x WHERE x.item = return_item.id)",
    "UPDATE return_item SET received = 1 WHERE status = 'unexpected' AND received > 1 "
    "AND NOT EXISTS (SELECT 1 FROM return_inspection x WHERE x.item = return_item.id)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="laadbak", description=DESCRIPTION)

    async def split() -> None:
        for sql in SQL:
            await engine_finder().run_ddl(sql)

    manager.add_raw(split)
    return manager
