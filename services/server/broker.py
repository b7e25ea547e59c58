"""Events across server processes, through Redis pub/sub.

The event log stays in the database and stays the only truth: cursors are its row
numbers, so a stream gets each event exactly once, whichever process wrote it. What a
process cannot know by itself is *when* another one has written: each process
publishes a notice on one channel after every commit that wrote events, and each
process that hears a notice from another wakes its readers, who read the new rows.
No event rides on Redis, so a lost notice costs latency, never an event (the change
watch still reads the database's version twice a second).

Redis is an existing, well-kept broker (Debian's ``redis-server``, the ``redis``
client); where the store moves to PostgreSQL, LISTEN/NOTIFY takes this role (see
``docs/deploy/postgres.md``). The address comes from the environment only
(``GROUPCHAT_REDIS_URL``), since it may hold a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

from services.server.wakeup import Wakeup

CHANNEL = "groupchat:events"
RETRY_S = 1.0
log = logging.getLogger("services.server.broker")


class BrokerError(Exception):
    """The broker could not be reached, in a sentence."""


class RedisBroker:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._url = url
        self._channel = channel
        self._me = secrets.token_hex(8).encode()  # our own notices are not news to us
        self._commits = Wakeup()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: redis.Redis | None = None
        self.heard = 0  # notices from other processes (for tests and health)

    async def start(self, on_change: Callable[[], None]) -> None:
        """Connect, subscribe, and start publishing; raises BrokerError when unreachable."""
        self._client = redis.Redis.from_url(self._url)
        try:
            await self._client.ping()
        except (RedisError, OSError) as error:
            await self._client.aclose()
            raise BrokerError(
                f"Redis at GROUPCHAT_REDIS_URL did not answer ({type(error).__name__})."
            ) from None
        ready = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._listen(on_change, ready), name="broker-listen"),
            asyncio.create_task(self._publish(), name="broker-publish"),
        ]
        await ready  # subscribed before the first request, so no notice is missed

    def committed(self) -> None:
        """A commit wrote events (from any thread): tell the other processes, coalesced."""
        self._commits.set()

    async def _publish(self) -> None:
        assert self._client is not None
        while True:
            await self._commits.wait(3600)
            try:
                await self._client.publish(self._channel, self._me)
            except (RedisError, OSError) as error:
                log.warning("could not publish to Redis: %s", type(error).__name__)
                self._commits.set()  # try again: the others still need to hear of it
                await asyncio.sleep(RETRY_S)

    async def _listen(self, on_change: Callable[[], None], ready: asyncio.Future[None]) -> None:
        assert self._client is not None
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    if not ready.done():
                        ready.set_result(None)
                    async for message in pubsub.listen():
                        if message["type"] == "message" and message["data"] != self._me:
                            self.heard += 1
                            on_change()
            except (RedisError, OSError) as error:
                log.warning("lost Redis, listening again: %s", type(error).__name__)
                on_change()  # something may have been missed meanwhile: read the log
                await asyncio.sleep(RETRY_S)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
