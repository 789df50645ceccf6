"""The ticket store on each database: the SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.handoff.models import CaseContext, Merchant, Status
from bot.handoff.sql_store import SQLTicketStore
from bot.storage.db import Conflict, Database
from tests.databases import Backend

CARD = "6222021234567890128"  # passes Luhn
ALICE = Merchant(user_id=7, chat_id=7, name="Alice")
BOB = Merchant(user_id=8, chat_id=8, name="Bob")
CONTEXT = CaseContext(trigger="words", intent="card_declined", code="05", score=0.8,
                      flow_path=("card_declined", "card_declined/retry"), last_messages=("刷卡失败", "还是不行"),
                      detail="错误码05")


@pytest.fixture
async def store(database: Database) -> AsyncIterator[SQLTicketStore]:
    yield await SQLTicketStore.open(database)


async def test_open_returns_the_same_ticket_until_it_is_closed(store: SQLTicketStore) -> None:
    first, created = await store.open_ticket(ALICE, CONTEXT)
    assert created and first.status is Status.OPEN and first.merchant == ALICE and first.context == CONTEXT
    again, created = await store.open_ticket(ALICE, CaseContext(trigger="button"))
    assert not created and again == first
    assert (await store.open_for(ALICE.user_id)) == first
    other, created = await store.open_ticket(BOB, CONTEXT)
    assert created and other.id != first.id

    await store.set_status(first.id, Status.CLOSED)
    assert (await store.open_for(ALICE.user_id)) is None
    assert (await store.latest_for(ALICE.user_id)) == await store.get(first.id)
    new, created = await store.open_ticket(ALICE, CaseContext(trigger="button"))
    assert created and new.id not in (first.id, other.id) and new.context == CaseContext(trigger="button")
    assert (await store.latest_for(ALICE.user_id)) == new
    assert (await store.latest_for(99)) is None and (await store.open_for(99)) is None and (await store.get(12345)) is None


async def test_concurrent_opens_create_one_ticket(backend: Backend, store: SQLTicketStore) -> None:
    """Three openers racing, two of them on connections of their own (as two workers would be)."""
    others = [await backend.open(), await backend.open()]
    stores = [store] + [SQLTicketStore(db) for db in others]

    async def opener(store: SQLTicketStore) -> list[tuple[int, bool]]:
        results = []
        for _ in range(20):
            ticket, created = await store.open_ticket(ALICE, CONTEXT)
            results.append((ticket.id, created))
        return results

    results = [r for batch in await asyncio.gather(*(opener(s) for s in stores)) for r in batch]
    assert len(results) == 60
    assert len({ticket_id for ticket_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(await store.active()) == 1
    for db in others:
        await db.close()


async def test_the_database_itself_refuses_a_second_open_ticket(store: SQLTicketStore, database: Database) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    with pytest.raises(Conflict):
        await database.execute("INSERT INTO tickets (user_id, chat_id, status, created_at, updated_at)"
                               " VALUES (7, 7, 'waiting_support', 0, 0)")
    await store.set_status(ticket.id, Status.CLOSED)
    second, _ = await store.open_ticket(ALICE, CONTEXT)
    with pytest.raises(ValueError):  # reopening the old one would make two
        await store.set_status(ticket.id, Status.WAITING_MERCHANT)
    assert (await store.get(ticket.id)).status is Status.CLOSED  # type: ignore[union-attr]
    assert [t.id for t in await store.active()] == [second.id]


async def test_status_topic_and_rating_changes_move_updated_at(store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    assert ticket.updated_at == ticket.created_at and ticket.rating is None
    previous = ticket
    for change in (lambda: store.set_status(ticket.id, Status.WAITING_SUPPORT),
                   lambda: store.set_status(ticket.id, Status.WAITING_MERCHANT),
                   lambda: store.set_topic(ticket.id, 42, None),
                   lambda: store.set_status(ticket.id, Status.CLOSED),
                   lambda: store.rate(ticket.id, 1)):
        updated = await change()
        assert updated.updated_at > previous.updated_at
        assert updated.created_at == ticket.created_at
        assert (await store.get(ticket.id)) == updated
        previous = updated
    assert previous.status is Status.CLOSED and previous.topic_id == 42 and previous.rating == 1
    assert (await store.rate(ticket.id, 0)).rating == 0
    with pytest.raises(ValueError):
        await store.rate(ticket.id, 5)


async def test_topic_and_header_lookups(store: SQLTicketStore) -> None:
    alice, _ = await store.open_ticket(ALICE, CONTEXT)
    bob, _ = await store.open_ticket(BOB, CONTEXT)
    alice = await store.set_topic(alice.id, 100, None)
    bob = await store.set_topic(bob.id, None, 200)
    assert (alice.topic_id, alice.header_message_id) == (100, None)
    assert (bob.topic_id, bob.header_message_id) == (None, 200)
    assert (await store.by_topic(100)) == alice and (await store.by_topic(200)) is None
    assert (await store.by_header(200)) == bob and (await store.by_header(100)) is None
    cleared = (await store.set_topic(alice.id, None, None))  # the topic was deleted
    assert cleared.topic_id is None and (await store.by_topic(100)) is None


async def test_transcript_keeps_order_and_limit(store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    other, _ = await store.open_ticket(BOB, CONTEXT)
    for n in range(30):
        await store.add_transcript(ticket.id, "merchant" if n % 2 else "staff", f"m{n}")
    await store.add_transcript(other.id, "merchant", "not alice")
    await store.add_transcript(ticket.id, "merchant", "", media="photo")
    assert [e.text for e in (await store.transcript(ticket.id))] == [f"m{n}" for n in range(11, 30)] + [""]
    assert [e.text for e in (await store.transcript(ticket.id, 3))] == ["m28", "m29", ""]
    last = (await store.transcript(ticket.id, 1))[0]
    assert (last.author, last.media) == ("merchant", "photo")
    entries = await store.transcript(ticket.id, 100)
    assert len(entries) == 31 and entries[0].author == "staff" and entries[0].media is None
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert (await store.transcript(ticket.id, 0)) == []
    assert (await store.transcript(12345)) == []


async def test_card_numbers_never_reach_the_database(store: SQLTicketStore, database: Database,
                                                     backend: Backend) -> None:
    spaced = "6222 0212 3456 7890 128"
    context = CaseContext(trigger="words", last_messages=(f"卡号 {CARD}", "刷不了"), detail=f"卡 {spaced} 被拒")
    ticket, _ = await store.open_ticket(Merchant(9, 9, f"店 {CARD}"), context)
    assert ticket.context.detail == "卡 ****0128 被拒"
    assert ticket.context.last_messages == ("卡号 ****0128", "刷不了")
    assert ticket.merchant.name == "店 ****0128"
    await store.add_transcript(ticket.id, "merchant", f"my card is {CARD}")
    assert (await store.transcript(ticket.id))[-1].text == "my card is ****0128"
    item = await store.enqueue(ticket.id, "to_support", 9, 1)
    await store.attempt_failed(item, f"echoed {CARD}", give_up=False)
    assert (await store.pending())[0].last_error == "echoed ****0128"

    for table in ("tickets", "transcript", "outbox"):
        for row in await database.fetchall(f"SELECT * FROM {table}"):
            assert not any(CARD in str(value) or spaced in str(value) for value in row), (table, row)
    if backend.sqlite_path is None:
        return
    await database.close()
    path = backend.sqlite_path
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert path in files
    for file in files:  # the database and whatever WAL/shm is left
        data = file.read_bytes()
        assert CARD.encode() not in data and spaced.encode() not in data, file


async def test_relay_links_are_looked_up_both_ways(store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    (await store.link(ticket.id, ALICE.chat_id, 10, -1000, 500))  # merchant -> support
    (await store.link(ticket.id, -1000, 501, ALICE.chat_id, 11))  # staff -> merchant
    assert (await store.counterpart(ALICE.chat_id, 10)) == (-1000, 500)
    assert (await store.counterpart(-1000, 500)) == (ALICE.chat_id, 10)
    assert (await store.counterpart(-1000, 501)) == (ALICE.chat_id, 11)
    assert (await store.counterpart(ALICE.chat_id, 11)) == (-1000, 501)
    assert (await store.counterpart(ALICE.chat_id, 500)) is None  # same id, other chat
    assert (await store.counterpart(-1000, 999)) is None


async def test_outbox(store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    first = await store.enqueue(ticket.id, "to_support", ALICE.chat_id, 10)
    second = await store.enqueue(ticket.id, "to_merchant", -1000, 20)
    third = await store.enqueue(ticket.id, "to_support", ALICE.chat_id, 11)
    assert [(i.id, i.direction, i.source_chat, i.source_message, i.attempts, i.last_error)
            for i in (await store.pending())] == [(first, "to_support", 7, 10, 0, ""), (second, "to_merchant", -1000, 20, 0, ""),
                                          (third, "to_support", 7, 11, 0, "")]
    await store.delivered(first)
    await store.attempt_failed(second, "timeout", give_up=False)
    await store.attempt_failed(second, "timeout again", give_up=False)
    await store.attempt_failed(third, "chat not found", give_up=True)
    pending = await store.pending()
    assert [(i.id, i.attempts, i.last_error) for i in pending] == [(second, 2, "timeout again")]
    await store.attempt_failed(second, "blocked", give_up=True)
    assert (await store.pending()) == []


async def test_the_outbox_remembers_that_the_original_held_a_card_number(store: SQLTicketStore) -> None:
    """A retry must not copy the original: its stored text alone (already masked) cannot tell."""
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    card = await store.enqueue(ticket.id, "to_support", ALICE.chat_id, 10, text=f"卡号{CARD}刷不了")
    plain = await store.enqueue(ticket.id, "to_support", ALICE.chat_id, 11, text="还是不行")
    by_id = {item.id: item for item in await store.claim(stale_after=-1)}
    assert (by_id[card].text, by_id[card].held_card) == ("卡号****0128刷不了", True)
    assert (by_id[plain].text, by_id[plain].held_card) == ("还是不行", False)
    assert {item.id: item.held_card for item in await store.pending()} == {card: True, plain: False}


async def test_relays_pending_from_before_the_upgrade_are_never_copied(database: Database) -> None:
    """Rows written before held_card existed hold text masked by the old masker: not known to be safe."""
    from bot.handoff.sql_store import MIGRATIONS
    from bot.storage.db import migrate

    await migrate(database, SQLTicketStore.STORE, MIGRATIONS[:3])
    # rows as that release wrote them (today's store methods need today's columns)
    row = await database.fetchone("INSERT INTO tickets (user_id, chat_id, name, status, context, created_at,"
                                  " updated_at) VALUES (7, 7, 'Alice', 'open', '{}', 0, 0) RETURNING id")
    assert row is not None
    for message, status in ((10, "pending"), (11, "done")):
        await database.execute("INSERT INTO outbox (ticket_id, direction, source_chat, source_message, text, status,"
                               " created_at) VALUES (?, 'to_support', 7, ?, '卡号****0128', ?, 0)",
                               (row[0], message, status))
    store = await SQLTicketStore.open(database)
    [item] = await store.pending()
    assert item.source_message == 10 and item.held_card


async def test_each_relay_to_retry_is_claimed_by_one_worker(backend: Backend, store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    items = [await store.enqueue(ticket.id, "to_support", ALICE.chat_id, n) for n in range(30)]
    assert await store.claim() == []  # just written down: their writers are delivering them
    for item in items:
        await store.attempt_failed(item, "timeout", give_up=False)  # free for any worker's retry
    other = SQLTicketStore(await backend.open())
    claimed = await asyncio.gather(*(s.claim() for s in (store, other, store, other)))
    ids = [item.id for batch in claimed for item in batch]
    assert sorted(ids) == items  # every one, once
    assert all([i.id for i in batch] == sorted(i.id for i in batch) for batch in claimed)  # oldest first
    assert await store.claim() == []
    stale = await store.claim(stale_after=0)  # a claim as old as this one: its worker died
    assert [item.id for item in stale] == items
    await other._db.close()


async def test_everything_survives_a_restart(backend: Backend) -> None:
    db = await backend.open()
    store = await SQLTicketStore.open(db)
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    ticket = await store.set_topic(ticket.id, 100, None)
    ticket = await store.set_status(ticket.id, Status.WAITING_SUPPORT)
    await store.add_transcript(ticket.id, "merchant", "hello")
    await store.link(ticket.id, 7, 10, -1000, 500)
    item = await store.enqueue(ticket.id, "to_merchant", -1000, 501)
    await db.close()

    db = await backend.open()
    reopened = await SQLTicketStore.open(db)
    assert (await reopened.get(ticket.id)) == ticket
    assert (await reopened.get(ticket.id)).context == CONTEXT  # type: ignore[union-attr]
    assert isinstance((await reopened.get(ticket.id)).context.flow_path, tuple)  # type: ignore[union-attr]
    assert (await reopened.open_ticket(ALICE, CONTEXT)) == (ticket, False)
    assert (await reopened.by_topic(100)) == ticket
    assert [e.text for e in (await reopened.transcript(ticket.id))] == ["hello"]
    assert (await reopened.counterpart(-1000, 500)) == (7, 10)
    assert [i.id for i in (await reopened.pending())] == [item]
    await db.close()


async def test_active_lists_tickets_not_closed_oldest_first(store: SQLTicketStore) -> None:
    merchants = [Merchant(n, n, f"m{n}") for n in (30, 10, 20)]
    tickets = [(await store.open_ticket(m, CONTEXT))[0] for m in merchants]
    await store.set_status(tickets[1].id, Status.CLOSED)
    await store.set_status(tickets[2].id, Status.WAITING_MERCHANT)
    assert [t.id for t in (await store.active())] == [tickets[0].id, tickets[2].id]
    reopened, _ = await store.open_ticket(merchants[1], CONTEXT)
    assert [t.id for t in (await store.active())] == [tickets[0].id, tickets[2].id, reopened.id]


async def test_unknown_ids_raise_key_error(store: SQLTicketStore) -> None:
    await store.open_ticket(ALICE, CONTEXT)
    for call in (lambda: store.set_status(999, Status.CLOSED), lambda: store.set_topic(999, 1, None),
                 lambda: store.rate(999, 1), lambda: store.add_transcript(999, "bot", "x"),
                 lambda: store.link(999, 1, 2, 3, 4), lambda: store.enqueue(999, "to_support", 1, 2),
                 lambda: store.delivered(999), lambda: store.attempt_failed(999, "x", give_up=True)):
        with pytest.raises(KeyError):
            await call()


async def test_a_case_is_claimed_by_one_staff_member(backend: Backend, store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    other = SQLTicketStore(await backend.open())
    taken = await asyncio.gather(store.claim_ticket(ticket.id, 1, "小王"), other.claim_ticket(ticket.id, 2, "小李"))
    winner = taken[0].claimed_by
    assert winner in (1, 2) and all(t.claimed_by == winner for t in taken)  # both see the same owner
    loser = 3 - winner
    assert (await store.unclaim_ticket(ticket.id, loser)).claimed_by == winner  # not theirs to give back
    assert (await store.unclaim_ticket(ticket.id, winner)).claimed_by is None
    assert (await store.claim_ticket(ticket.id, loser, "小李")).claimed_name == "小李"


async def test_the_wait_for_staff_is_kept_and_reminded_of_once(store: SQLTicketStore) -> None:
    ticket, _ = await store.open_ticket(ALICE, CONTEXT)
    started = ticket.waiting_since
    assert started is not None
    ticket = await store.set_status(ticket.id, Status.WAITING_SUPPORT)
    assert ticket.waiting_since == started  # still the same wait
    assert [t.id for t in await store.due_reminders(started + 1)] == [ticket.id]
    assert await store.due_reminders(started - 1) == []
    ticket = await store.set_status(ticket.id, Status.WAITING_MERCHANT)  # staff answered
    assert ticket.waiting_since is None and await store.due_reminders(started + 1) == []
    ticket = await store.set_status(ticket.id, Status.WAITING_SUPPORT)
    assert ticket.waiting_since is not None and ticket.waiting_since > started
    assert await store.mark_reminded(ticket.id) and not await store.mark_reminded(ticket.id)
    assert await store.due_reminders(ticket.waiting_since + 1) == []


async def test_bans_are_kept_and_the_merchant_told_once(database: Database) -> None:
    from bot.storage.bans import SQLBans

    bans = await SQLBans.open(database)
    assert await bans.ban(7, by=1, name=f"卡{CARD}", reason="辱骂") and not await bans.ban(7, by=2)
    assert await bans.is_banned(7) and not await bans.is_banned(8)
    assert await bans.first_notice(7) and not await bans.first_notice(7)
    [ban] = await bans.all()
    assert ban.chat_id == 7 and ban.banned_by == 1 and CARD not in ban.name and ban.reason == "辱骂"
    assert await bans.unban(7) and not await bans.unban(7) and not await bans.is_banned(7)


async def test_taps_are_logged_per_merchant(database: Database) -> None:
    from bot.storage.actions import SQLActionLog

    log = await SQLActionLog.open(database)
    for action in ("f:printer_problem", "c:printer_problem:start:0", "h"):
        await log.record(7, action)
    await log.record(8, "x")
    assert [a.action for a in await log.recent(7, since=0)] == ["f:printer_problem", "c:printer_problem:start:0", "h"]
    assert [a.action for a in await log.recent(7, since=0, limit=1)] == ["h"]


async def test_a_worker_reads_the_ban_list_once_in_a_while_and_its_own_bans_at_once(
        database: Database, monkeypatch) -> None:
    """Each merchant message asks whether the chat is banned; the list is read at most every
    BAN_LIST_TTL seconds (a question stays at four statements), and another worker's ban shows once
    that has passed."""
    from bot.storage import bans as bans_module

    here, there = await bans_module.SQLBans.open(database), await bans_module.SQLBans.open(database)
    assert not await here.is_banned(7)  # reads the (empty) list
    assert await there.ban(7, by=1)
    assert await there.is_banned(7), "the worker that banned knows at once"
    assert not await here.is_banned(7), "the other trusts its copy for a few seconds"
    monkeypatch.setattr(bans_module, "BAN_LIST_TTL", 0.0)
    assert await here.is_banned(7)
    assert await here.unban(7) and not await here.is_banned(7)
