"""The web process's Celery transport: kombu's Redis transport, with one connection where it keeps two.

kombu's Redis channel keeps two connection pools: an asynchronous one for consuming (BRPOP), which it
also uses to PING the server once when the channel opens, and a synchronous one for publishing. A web
process only publishes (each click's delivery task), so the first pool's connection sat idle for the
life of the process: one of the at most 3 Redis connections DESIGN allows a web process (its live hub,
this, and the shared pool of the cache and the live publisher). Here both are the one synchronous pool.
Workers consume, so they keep kombu's transport as it is; only oneclick.handlers.get_application()
(the web) selects this one. bench/live_fanout.py counts the connections (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class ProducerChannel(kombu_redis.Channel):
    @property
    def async_pool(self) -> Any:
        return self.pool


class ProducerTransport(kombu_redis.Transport):
    Channel = ProducerChannel
