"""Returns: the customer's request, inspection and grading, refunds and reconditioning.

A pure core (no web, no database), like backend/dispatch and backend/warehouse.
Import its modules explicitly (backend.returns.vocabulary, ...)."""
