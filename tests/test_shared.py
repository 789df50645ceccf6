"""What workers share (bot.coordination), in one process and on a real Redis server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.storage.db import StoreUnavailable
from bot.coordination import LocalShared, RedisShared, Shared, connect_redis, is_unavailable


@pytest.fixture(params=["local", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Shared, Shared]]:
    """Two handles on the same shared state, as two workers have (one object for the local kind)."""
    if request.param == "local":
        local = LocalShared()
        yield local, local
        return
    url = request.getfixturevalue("redis_url")
    first, second = RedisShared(connect_redis(url)), RedisShared(connect_redis(url))
    yield first, second
    await first.close()
    await second.close()


async def test_a_lock_has_one_holder_at_a_time(pair: tuple[Shared, Shared]) -> None:
    inside, overlaps = 0, 0

    async def hold(shared: Shared) -> None:
        nonlocal inside, overlaps
        async with shared.lock("merchant:7"):
            inside += 1
            overlaps += inside > 1
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(hold(pair[n % 2]) for n in range(10)))
    assert overlaps == 0
    async with pair[0].lock("merchant:7"), pair[1].lock("merchant:8"):  # other names are independent
        pass


async def test_throttling_is_counted_once_for_all_workers(pair: tuple[Shared, Shared]) -> None:
    results = [await pair[n % 2].allow("user:7", rate=0.001, burst=4) for n in range(6)]
    assert results == [(True, False)] * 4 + [(False, True), (False, False)]  # told once per episode
    assert await pair[1].allow("user:8", rate=0.001, burst=4) == (True, False)  # others unaffected


async def test_throttling_refills_at_the_rate(pair: tuple[Shared, Shared]) -> None:
    assert [(await pair[0].allow("user:9", rate=20.0, burst=1))[0] for _ in range(2)] == [True, False]
    await asyncio.sleep(0.12)
    assert (await pair[1].allow("user:9", rate=20.0, burst=1))[0] is True


async def test_first_time_is_true_for_one_caller(pair: tuple[Shared, Shared]) -> None:
    answers = await asyncio.gather(*(pair[n % 2].first_time("busy:7") for n in range(6)))
    assert sorted(answers) == [False] * 5 + [True]
    assert await pair[1].first_time("busy:8")


async def test_content_announced_by_one_worker_reaches_the_other(redis_url: str) -> None:
    announcer, follower = RedisShared(connect_redis(redis_url)), RedisShared(connect_redis(redis_url), resync_every=0.2)
    heard: list[str] = []
    watching = asyncio.create_task(follower.watch_content(lambda version: _append(heard, version)))
    try:
        await asyncio.sleep(0.3)  # subscribed
        await announcer.announce_content("v2")
        await _until(lambda: "v2" in heard)
        late = RedisShared(connect_redis(redis_url))  # a worker started after the announcement
        late_heard: list[str] = []
        late_watch = asyncio.create_task(late.watch_content(lambda version: _append(late_heard, version)))
        await _until(lambda: late_heard[:1] == ["v2"], timeout=3)
        await _stop(late_watch)
        await late.close()
    finally:
        await _stop(watching)
        await announcer.close()
        await follower.close()


async def test_redis_going_away(redis_server: Any, redis_url: str) -> None:
    shared = RedisShared(connect_redis(redis_url))
    redis_server.stop()
    try:
        assert await shared.allow("user:7", rate=1, burst=1) == (True, False)  # fails open
        with pytest.raises(StoreUnavailable):
            async with shared.lock("merchant:7"):
                pass
        await shared.announce_content("v3")  # logged, not raised
        assert await shared.first_time("busy:1") and not await shared.first_time("busy:1")  # in memory meanwhile
        with pytest.raises(Exception) as caught:
            await shared.redis.get("x")
        assert is_unavailable(caught.value)
    finally:
        redis_server.start()
    async with shared.lock("merchant:7"):  # back by itself
        pass
    await shared.close()


async def _stop(task: asyncio.Task) -> None:
    """Cancel and wait, so the subscription closes its connection before the client goes."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _append(target: list[str], value: str) -> None:
    target.append(value)


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out: {condition.__code__.co_consts}")
