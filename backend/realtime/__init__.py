"""Live delivery of changes: the outbox, the per-process feed, positions."""
