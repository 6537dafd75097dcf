"""Durable follow-up jobs: written in the same transaction as the change they
follow, run by a worker in each server process, resumed after a crash."""

from backend.jobs.queue import JobContext, enqueue, handler, settle
from backend.jobs.worker import Worker

__all__ = ["JobContext", "Worker", "enqueue", "handler", "settle"]
