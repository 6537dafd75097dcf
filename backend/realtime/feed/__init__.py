"""The live feed: an interface (``Feed``) with an in-memory implementation
(one process) and a Redis one (several processes), picked by ``make_feed``
from the settings. Callers type against ``Feed`` and never name either."""

from __future__ import annotations

from backend.realtime.feed.base import Feed
from backend.realtime.feed.subscriber import POSITION_BATCH_S, Subscriber

__all__ = ["POSITION_BATCH_S", "Feed", "Subscriber", "make_feed"]


def make_feed(redis_url: str | None, *, poll_interval_s: float = 0.5) -> Feed:
    """Through Redis where REDIS_URL is set (the workers wake each other); else in memory."""
    if redis_url:
        from backend.realtime.feed.redis import RedisFeed

        return RedisFeed(redis_url, poll_interval_s=poll_interval_s)
    from backend.realtime.feed.memory import MemoryFeed

    return MemoryFeed(poll_interval_s=poll_interval_s)
