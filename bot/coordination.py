"""What several worker processes must agree on, behind one small interface.

- `lock(name)`: one holder at a time, e.g. per merchant, so two workers never open two support topics
  for one merchant;
- `allow(key, …)`: the per-merchant throttling bucket, counted once for all workers;
- `announce_content` / `watch_content`: an admin's /reload or upload in one worker reaches every
  worker within seconds.

`LocalShared` serves one process (the default, no server); `RedisShared` serves several (REDIS_URL).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Protocol

from bot.storage.db import StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 30.0
"""Seconds a lock is held at most: a worker killed while holding one blocks nobody for longer."""
LOCK_WAIT = 10.0
"""Seconds to wait for a lock before giving up with StoreUnavailable."""


class Shared(Protocol):
    def lock(self, name: str) -> AbstractAsyncContextManager[None]: ...

    async def allow(self, key: str, *, rate: float, burst: int) -> tuple[bool, bool]:
        """(allowed, first refusal of this episode) for one token bucket: `burst` at once, then `rate`/s."""

    async def first_time(self, key: str, *, remember: float = 3600.0) -> bool:
        """True for the first caller with this key (across workers), False after, for `remember` s."""

    async def announce_content(self, version: str) -> None:
        """This worker now runs content `version`; tell the others."""

    async def watch_content(self, on_version: Callable[[str], Awaitable[None]]) -> None:
        """Call `on_version` for every version announced by any worker; runs until cancelled."""

    async def close(self) -> None: ...


class LocalShared:
    """One process: asyncio locks and in-memory buckets; there is nobody to tell about content."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._buckets: dict[str, tuple[float, float, bool]] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._max_keys = max_keys

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = asyncio.Lock()
        async with lock:
            yield

    async def allow(self, key: str, *, rate: float, burst: int, now: float | None = None) -> tuple[bool, bool]:
        now = time.monotonic() if now is None else now
        tokens, last, warned = self._buckets.get(key, (float(burst), now, False))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            self._buckets.clear()  # crude but bounded: a flood of new users cannot grow memory forever
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now, False)
            return True, False
        self._buckets[key] = (tokens, now, True)
        return False, not warned

    async def first_time(self, key: str, *, remember: float = 3600.0) -> bool:
        """Bounded by count rather than time: the oldest keys are forgotten first."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)
        return True

    async def announce_content(self, version: str) -> None:
        return None

    async def watch_content(self, on_version: Callable[[str], Awaitable[None]]) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


# A token bucket in one atomic step, on Redis' own clock so workers on different hosts agree.
_BUCKET = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'warned')
local tokens = tonumber(saved[1]) or burst
local last = tonumber(saved[2]) or now
local warned = saved[3] == '1'
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed, first = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
  warned = false
else
  if not warned then first = 1 end
  warned = true
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now), 'warned', warned and '1' or '0')
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {allowed, first}
"""

PREFIX = "posbot:"
CONTENT_CHANNEL = PREFIX + "content"
CONTENT_KEY = PREFIX + "content:version"


def connect_redis(url: str) -> "Redis":
    """A client that fails fast when the server is away (the bot says "busy" rather than hanging)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    return Redis.from_url(url, socket_timeout=3, socket_connect_timeout=2, health_check_interval=15,
                          retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2))


class RedisShared:
    def __init__(self, redis: "Redis", *, resync_every: float = 30.0) -> None:
        self.redis = redis
        self._fallback = LocalShared()
        self._bucket = redis.register_script(_BUCKET)
        self._resync_every = resync_every

    @asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        from redis.exceptions import LockError

        lock = self.redis.lock(PREFIX + "lock:" + name, timeout=LOCK_TIMEOUT, blocking_timeout=LOCK_WAIT)
        try:
            acquired = await lock.acquire()
        except Exception as error:
            raise _unavailable(error) from error
        if not acquired:
            raise StoreUnavailable(f"lock {name} is still held elsewhere after {LOCK_WAIT:.0f} s")
        passing: tuple[type[BaseException], ...] = (LockError, *_redis_down())
        try:
            yield
        finally:
            try:
                await lock.release()
            except passing as error:  # expired or Redis away: it times out by itself
                log.warning("could not release lock %s: %s", name, error)

    async def allow(self, key: str, *, rate: float, burst: int) -> tuple[bool, bool]:
        """Fails open: with Redis away the merchant is served rather than throttled by an outage."""
        try:
            allowed, first = await self._bucket(keys=[PREFIX + "bucket:" + key], args=[rate, burst])
        except _redis_down() as error:
            log.warning("throttling skipped, Redis unavailable: %s", type(error).__name__)
            return True, False
        return bool(allowed), bool(first)

    async def first_time(self, key: str, *, remember: float = 3600.0) -> bool:
        """SET NX: one worker wins. With Redis away, this worker's own memory answers instead."""
        try:
            return bool(await self.redis.set(PREFIX + "once:" + key, "1", nx=True, ex=int(remember)))
        except _redis_down():
            return await self._fallback.first_time(key)

    async def announce_content(self, version: str) -> None:
        try:
            await self.redis.set(CONTENT_KEY, version)
            await self.redis.publish(CONTENT_CHANNEL, version)
        except _redis_down() as error:
            log.warning("could not announce content %s to other workers: %s", version, type(error).__name__)

    async def watch_content(self, on_version: Callable[[str], Awaitable[None]]) -> None:
        """Pub/sub for speed, plus a look at the stored version on every (re)subscription and every
        `resync_every` seconds, so an announcement made while this worker was cut off is not missed."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CONTENT_CHANNEL)
                    await self._resync(on_version)
                    while True:
                        message = await pubsub.get_message(timeout=self._resync_every)
                        if message is None:
                            await self._resync(on_version)
                        elif message.get("type") == "message":
                            await on_version(_text(message["data"]))
            except _redis_down() as error:
                log.warning("content announcements interrupted (%s); retrying", type(error).__name__)
                await asyncio.sleep(1.0)

    async def _resync(self, on_version: Callable[[str], Awaitable[None]]) -> None:
        stored = await self.redis.get(CONTENT_KEY)
        if stored is not None:
            await on_version(_text(stored))

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _redis_down() -> tuple[type[BaseException], ...]:
    from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, BusyLoadingError)


def _unavailable(error: BaseException) -> BaseException:
    return StoreUnavailable(f"Redis is unavailable: {type(error).__name__}") if isinstance(error, _redis_down()) \
        else error


def is_unavailable(error: BaseException) -> bool:
    """A passing outage of PostgreSQL or Redis (as opposed to a bug): merchants are told "busy"."""
    if isinstance(error, StoreUnavailable):
        return True
    try:
        return isinstance(error, _redis_down())
    except ImportError:  # the redis extra is not installed, so it cannot be Redis
        return False
