"""The hub's warehouse: a pure core (no web, no database), like backend/dispatch.

Import its modules explicitly (backend.warehouse.layout, .routing, .batching, ...)."""
