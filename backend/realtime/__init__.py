"""Live delivery of changes: the outbox (``outbox``), the live feed to open
sockets (``feed``: an interface with an in-memory and a Redis implementation),
positions, the sessions of open sockets, and Web Push (``push``: sending;
``push_relay``: which events to send, once across workers)."""
