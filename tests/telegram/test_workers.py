"""Two worker processes behind one webhook, sharing Redis and PostgreSQL started by the fixtures,
against the fake Bot API server, which delivers updates the way Telegram does (one chat at a time,
chats in parallel, failed deliveries sent again).

One cluster serves the whole module (starting two workers takes seconds); each test uses merchants
of its own and reads only the log written since it began."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import ClientSession

from tests.telegram.cluster import SECRET, Cluster
from tests.telegram.fake_api import FakeBotAPI, button, buttons
from tests.telegram.conftest import relays

SUPPORT = -1009000
STAFF = 555
"""An administrator of SUPPORT, so staff (no SUPPORT_STAFF_IDS here)."""
ADMIN = 42
CODES = ("51", "05", "14", "54", "55", "61", "A0", "96")


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI()
    await server.start()
    server.forums.add(SUPPORT)
    server.admins[SUPPORT] = {STAFF}
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(api: FakeBotAPI, tmp_path_factory: pytest.TempPathFactory, redis_server: Any,
                  postgres_server: Any) -> AsyncIterator[Cluster]:
    redis_server.flush()
    database = postgres_server.create_database()
    running = Cluster(api, tmp_path_factory.mktemp("cluster"), workers=2, redis_url=redis_server.url,
                      database_url=postgres_server.database_url(database), SUPPORT_CHAT_ID=str(SUPPORT),
                      ADMIN_IDS=str(ADMIN))
    await running.start()
    try:
        yield running
    finally:
        assert await running.stop() == 0, running.log()[-3000:]
        postgres_server.drop_database(database)


@pytest.fixture
def since(cluster: Cluster) -> int:
    """Where the cluster's log stood when the test began."""
    return len(cluster.log())


def last_message_id(api: FakeBotAPI, chat: int) -> int:
    return max(m for c, m in api.sent if c == chat)


async def offer_handoff(api: FakeBotAPI, merchant: int) -> Any:
    """显示51, then 转人工: the prompt with 直接转人工 on it."""
    api.text(merchant, "显示51")
    [answer] = await api.replies(merchant, 1)
    api.tap(merchant, merchant, last_message_id(api, merchant), button(answer, "转人工"))
    return (await api.replies(merchant, 2))[-1]


async def test_a_burst_from_one_merchant_is_answered_in_order(cluster: Cluster, api: FakeBotAPI) -> None:
    merchant = 7101
    for code in CODES:
        api.text(merchant, f"显示{code}")
    replies = await api.replies(merchant, len(CODES), timeout=30)
    answered = [re.search(r"应答码 (\w+)", r.params["text"]).group(1) for r in replies]  # type: ignore[union-attr]
    assert answered == list(CODES)
    assert all(status == 200 for _, status in api.deliveries)


async def test_two_racing_requests_open_exactly_one_topic(cluster: Cluster, api: FakeBotAPI) -> None:
    """Both taps of a double-tapped 直接转人工 reach the workers at the same moment (posted straight to
    the shared port, as a Bot API that did not keep chats in order would): one ticket, one topic."""
    merchant = 7102
    topics = len(api.of("createForumTopic"))
    prompt = await offer_handoff(api, merchant)
    message = api.sent[(merchant, last_message_id(api, merchant))]
    taps = [{"update_id": 90_000 + n, "callback_query": {
        "id": f"race{n}", "chat_instance": "ci", "data": button(prompt, "直接转人工"), "message": message,
        "from": {"id": merchant, "is_bot": False, "first_name": "商户"}}} for n in range(2)]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with ClientSession() as http:
        statuses = await asyncio.gather(*(http.post(cluster.url, json=tap, headers=headers) for tap in taps))
    assert [s.status for s in statuses] == [200, 200]
    await api.wait_for(lambda: any("已转人工客服（工单 #" in c.params.get("text", "")
                                   for c in api.of("sendMessage", merchant) + api.of("editMessageText", merchant)))
    await asyncio.sleep(1.0)  # let the loser of the race finish too
    assert len(api.of("createForumTopic")) == topics + 1
    [created] = api.of("createForumTopic")[topics:]
    thread = await _topic_of(api, created)
    cards = [c for c in api.of("sendMessage", SUPPORT)
             if "工单 #" in c.params.get("text", "") and int(c.params.get("message_thread_id") or 0) == thread]
    assert len(cards) == 1


async def test_a_killed_worker_mid_flow_and_the_other_carries_on(cluster: Cluster, api: FakeBotAPI,
                                                                  since: int) -> None:
    merchant = 7103
    api.text(merchant, "扣钱了但是没出小票")
    [answer] = await api.replies(merchant, 1)
    message_id = last_message_id(api, merchant)
    tapped = api.tap(merchant, merchant, message_id, button(answer, "一步步排查"))
    step = (await api.replies(merchant, 2))[-1]
    # kill only once that update is answered: killed mid-update, Telegram would rightly send it again
    await api.wait_for(lambda: (tapped, 200) in api.deliveries)
    [first, second] = cluster.worker_pids()
    cluster.kill_worker(first)
    assert cluster.worker_pids() == [second]  # only the other one is listening now
    label, choice = [(label, data) for label, data in buttons(step) if data.startswith("c:")][0]
    api.tap(merchant, merchant, message_id, choice)
    resumed = (await api.replies(merchant, 3, timeout=20))[-1]
    assert "已过期" not in resumed.params["text"], label
    assert resumed.params["text"] != step.params["text"]
    await cluster.wait_log(r"worker \d+ \(pid \d+\) exited with -9; restarting it", since=since)
    await cluster.wait_log(r"webhook listening", since=since, timeout=60)  # the supervisor replaced it
    assert len(cluster.worker_pids()) == 2


async def test_a_reload_in_one_worker_reaches_the_other(cluster: Cluster, api: FakeBotAPI, since: int) -> None:
    path = cluster.content / "intents" / "codes" / "issuer_declines.yaml"
    text = path.read_text(encoding="utf-8")
    # a step of 51: shown in the answer itself (the meaning is under 详细说明)
    path.write_text(text.replace("小声、客气地告诉顾客", "【新版】小声、客气地告诉顾客", 1), encoding="utf-8")
    api.text(ADMIN, "/reload")
    [reply] = await api.replies(ADMIN, 1)
    assert "已加载新内容" in reply.params["text"]
    reloaded = await cluster.wait_log(r"content reloaded", 2, since=since, timeout=15)
    assert len({re.search(r"\[(\d+)\]", line).group(1) for line in reloaded}) == 2  # type: ignore[union-attr]
    for merchant in range(7200, 7206):  # whichever worker takes them, the new text is there
        api.text(merchant, "显示51")
    for merchant in range(7200, 7206):
        [answer] = await api.replies(merchant, 1)
        assert "【新版】" in answer.params["text"]


async def test_a_rolling_restart_answers_every_message(cluster: Cluster, api: FakeBotAPI, since: int) -> None:
    """SIGHUP: one worker at a time is replaced, the new one listening before the old one stops;
    merchants writing all the while get every answer."""
    import signal

    old = set(cluster.worker_pids())
    cluster.signal(signal.SIGHUP)
    merchants = range(7400, 7410)
    sent = 0
    while "rolling restart done" not in cluster.log()[since:]:
        for merchant in merchants:
            api.text(merchant, f"显示{CODES[sent % len(CODES)]}")
        sent += 1
        await asyncio.sleep(1.1)  # within the throttling rate (1 a second per merchant)
        assert sent < 60, cluster.log()[-3000:]
    for merchant in merchants:
        await api.replies(merchant, sent, timeout=30)
    await asyncio.sleep(1)
    # a request caught on a connection the old worker was closing is sent again, and answered once
    assert [len(api.of("sendMessage", merchant)) for merchant in merchants] == [sent] * len(merchants)
    new = set(cluster.worker_pids())
    assert len(new) == 2 and not new & old


async def test_postgres_and_redis_away_for_a_few_seconds(cluster: Cluster, api: FakeBotAPI,
                                                         postgres_server: Any, redis_server: Any) -> None:
    """The bot says "busy" instead of crashing, recovers by itself, and loses neither the ticket nor
    the staff reply sent while the database was down (Telegram sends the refused update again)."""
    merchant = 7104
    topics = len(api.of("createForumTopic"))
    prompt = await offer_handoff(api, merchant)
    api.tap(merchant, merchant, last_message_id(api, merchant), button(prompt, "直接转人工"))
    await api.wait_for(lambda: len(api.of("createForumTopic")) > topics)
    topic = await _topic_of(api, api.of("createForumTopic")[topics])

    postgres_server.stop()
    api.text(ADMIN + 1, "显示05")  # a merchant asking while the database is away
    busy = await api.replies(ADMIN + 1, 1, timeout=20)
    assert "系统有点忙" in busy[0].params["text"]
    staff_reply = "您好，请把终端号发我一下"
    api.text(STAFF, staff_reply, chat_id=SUPPORT, chat_type="supergroup", thread_id=topic)
    told, *_ = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT)
                                         if "系统有点忙" in c.params.get("text", "")], timeout=20)
    assert int(told.params["message_thread_id"]) == topic  # staff hear it in the case's topic
    await asyncio.sleep(2)
    postgres_server.start()
    # recovered by itself: the refused updates come back and are handled
    await answer_with(api, ADMIN + 1, "应答码 05", most_busy=1)
    relayed = await api.wait_for(lambda: [c for c in relays(api, merchant)], timeout=40)
    assert len(relayed) == 1  # the staff reply reached the merchant, once

    redis_server.stop()
    api.text(ADMIN + 2, "显示14")
    busy = await api.replies(ADMIN + 2, 1, timeout=20)
    assert "系统有点忙" in busy[0].params["text"]
    await asyncio.sleep(2)
    redis_server.start()
    await answer_with(api, ADMIN + 2, "应答码 14", most_busy=2)
    assert len(cluster.worker_pids()) == 2  # nobody crashed
    started = time.monotonic()
    api.text(merchant, "终端号 12345678")  # the case is still open: relayed to the topic
    await api.wait_for(lambda: [c for c in relays(api, SUPPORT)], timeout=20)
    assert time.monotonic() - started < 20


async def answer_with(api: FakeBotAPI, chat: int, expected: str, *, most_busy: int) -> None:
    """The refused update comes back and is answered; meanwhile the chat heard "busy" once (once
    per worker while Redis, which remembers who said it, is away too)."""
    await api.wait_for(lambda: any(expected in c.params["text"] for c in api.of("sendMessage", chat)), timeout=40)
    busy = [c for c in api.of("sendMessage", chat) if "系统有点忙" in c.params["text"]]
    assert 1 <= len(busy) <= most_busy


async def _topic_of(api: FakeBotAPI, created: Any) -> int:
    """The thread id of a topic the bot created: where it posted that ticket's context card."""
    card = f"工单 #{created.params['name'].rsplit('#', 1)[-1]}</b>"
    cards = await api.wait_for(lambda: [c for c in api.of("sendMessage", SUPPORT)
                                        if c.params.get("message_thread_id") and card in c.params.get("text", "")])
    return int(cards[0].params["message_thread_id"])
