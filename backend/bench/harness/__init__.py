"""One harness for everything that drives a real Laadbak server from outside.

``laadbak bench ws``, ``laadbak bench replan``, the demo's simulated couriers
and the live tests (``tests/live``) all use it:

- :mod:`.server`: a ``laadbak serve`` subprocess on a free port, with its own
  database and settings; started, stopped and restarted on the same database.
  ``WorkerProcess``: a ``laadbak worker`` (solver worker) with the same settings.
- :mod:`.databases`: throw-away PostgreSQL databases for several processes.
- :mod:`.api`: HTTP clients that log in and act with an Idempotency-Key.
- :mod:`.stream`: a live-stream client that resumes after its last seq.
- :mod:`.stats`: percentiles and the small figures the JSON reports hold.
- :mod:`.geometry`: distances between map points.
"""
