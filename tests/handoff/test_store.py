"""The SQLite ticket store, on a real file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.handoff.models import CaseContext, Merchant, Status
from bot.handoff.sqlite_store import SQLiteTicketStore

CARD = "6222021234567890128"  # passes Luhn
ALICE = Merchant(user_id=7, chat_id=7, name="Alice")
BOB = Merchant(user_id=8, chat_id=8, name="Bob")
CONTEXT = CaseContext(trigger="words", intent="card_declined", code="05", score=0.8,
                      flow_path=("card_declined", "card_declined/retry"), last_messages=("刷卡失败", "还是不行"),
                      detail="错误码05")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "posbot.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteTicketStore]:
    store = SQLiteTicketStore(path)
    yield store
    store.close()


def test_open_returns_the_same_ticket_until_it_is_closed(store: SQLiteTicketStore) -> None:
    first, created = store.open_ticket(ALICE, CONTEXT)
    assert created and first.status is Status.OPEN and first.merchant == ALICE and first.context == CONTEXT
    again, created = store.open_ticket(ALICE, CaseContext(trigger="button"))
    assert not created and again == first
    assert store.open_for(ALICE.user_id) == first
    other, created = store.open_ticket(BOB, CONTEXT)
    assert created and other.id != first.id

    store.set_status(first.id, Status.CLOSED)
    assert store.open_for(ALICE.user_id) is None
    assert store.latest_for(ALICE.user_id) == store.get(first.id)
    new, created = store.open_ticket(ALICE, CaseContext(trigger="button"))
    assert created and new.id not in (first.id, other.id) and new.context == CaseContext(trigger="button")
    assert store.latest_for(ALICE.user_id) == new
    assert store.latest_for(99) is None and store.open_for(99) is None and store.get(12345) is None


def test_concurrent_opens_create_one_ticket(path: Path) -> None:
    """Two threads, each with its own connection (as two processes would be), and one shared store."""
    stores = [SQLiteTicketStore(path), SQLiteTicketStore(path)]
    shared = stores[0]
    results: list[tuple[int, bool]] = []
    start = threading.Barrier(3)

    def opener(store: SQLiteTicketStore) -> None:
        start.wait()
        for _ in range(20):
            ticket, created = store.open_ticket(ALICE, CONTEXT)
            results.append((ticket.id, created))

    threads = [threading.Thread(target=opener, args=(store,)) for store in (*stores, shared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 60
    assert len({ticket_id for ticket_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(shared.active()) == 1
    for store in stores:
        store.close()


def test_the_database_itself_refuses_a_second_open_ticket(store: SQLiteTicketStore, path: Path) -> None:
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute("INSERT INTO tickets (user_id, chat_id, status, created_at, updated_at)"
                    " VALUES (7, 7, 'waiting_support', 0, 0)")
    raw.close()
    store.set_status(ticket.id, Status.CLOSED)
    second, _ = store.open_ticket(ALICE, CONTEXT)
    with pytest.raises(ValueError):  # reopening the old one would make two
        store.set_status(ticket.id, Status.WAITING_MERCHANT)
    assert store.get(ticket.id).status is Status.CLOSED  # type: ignore[union-attr]
    assert [t.id for t in store.active()] == [second.id]


def test_status_topic_and_rating_changes_move_updated_at(store: SQLiteTicketStore) -> None:
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    assert ticket.updated_at == ticket.created_at and ticket.rating is None
    previous = ticket
    for change in (lambda: store.set_status(ticket.id, Status.WAITING_SUPPORT),
                   lambda: store.set_status(ticket.id, Status.WAITING_MERCHANT),
                   lambda: store.set_topic(ticket.id, 42, None),
                   lambda: store.set_status(ticket.id, Status.CLOSED),
                   lambda: store.rate(ticket.id, 1)):
        updated = change()
        assert updated.updated_at > previous.updated_at
        assert updated.created_at == ticket.created_at
        assert store.get(ticket.id) == updated
        previous = updated
    assert previous.status is Status.CLOSED and previous.topic_id == 42 and previous.rating == 1
    assert store.rate(ticket.id, 0).rating == 0
    with pytest.raises(ValueError):
        store.rate(ticket.id, 5)


def test_topic_and_header_lookups(store: SQLiteTicketStore) -> None:
    alice, _ = store.open_ticket(ALICE, CONTEXT)
    bob, _ = store.open_ticket(BOB, CONTEXT)
    alice = store.set_topic(alice.id, 100, None)
    bob = store.set_topic(bob.id, None, 200)
    assert (alice.topic_id, alice.header_message_id) == (100, None)
    assert (bob.topic_id, bob.header_message_id) == (None, 200)
    assert store.by_topic(100) == alice and store.by_topic(200) is None
    assert store.by_header(200) == bob and store.by_header(100) is None
    cleared = store.set_topic(alice.id, None, None)  # the topic was deleted
    assert cleared.topic_id is None and store.by_topic(100) is None


def test_transcript_keeps_order_and_limit(store: SQLiteTicketStore) -> None:
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    other, _ = store.open_ticket(BOB, CONTEXT)
    for n in range(30):
        store.add_transcript(ticket.id, "merchant" if n % 2 else "staff", f"m{n}")
    store.add_transcript(other.id, "merchant", "not alice")
    store.add_transcript(ticket.id, "merchant", "", media="photo")
    assert [e.text for e in store.transcript(ticket.id)] == [f"m{n}" for n in range(11, 30)] + [""]
    assert [e.text for e in store.transcript(ticket.id, 3)] == ["m28", "m29", ""]
    last = store.transcript(ticket.id, 1)[0]
    assert (last.author, last.media) == ("merchant", "photo")
    entries = store.transcript(ticket.id, 100)
    assert len(entries) == 31 and entries[0].author == "staff" and entries[0].media is None
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert store.transcript(ticket.id, 0) == []
    assert store.transcript(12345) == []


def test_card_numbers_never_reach_the_file(store: SQLiteTicketStore, path: Path) -> None:
    spaced = "6222 0212 3456 7890 128"
    context = CaseContext(trigger="words", last_messages=(f"卡号 {CARD}", "刷不了"), detail=f"卡 {spaced} 被拒")
    ticket, _ = store.open_ticket(Merchant(9, 9, f"店 {CARD}"), context)
    assert ticket.context.detail == "卡 ****0128 被拒"
    assert ticket.context.last_messages == ("卡号 ****0128", "刷不了")
    assert ticket.merchant.name == "店 ****0128"
    store.add_transcript(ticket.id, "merchant", f"my card is {CARD}")
    assert store.transcript(ticket.id)[-1].text == "my card is ****0128"
    item = store.enqueue(ticket.id, "to_support", 9, 1)
    store.attempt_failed(item, f"echoed {CARD}", give_up=False)
    assert store.pending()[0].last_error == "echoed ****0128"

    raw = sqlite3.connect(path)
    for table in ("tickets", "transcript", "outbox"):
        for row in raw.execute(f"SELECT * FROM {table}"):
            assert not any(CARD in str(value) or spaced in str(value) for value in row), (table, row)
    raw.close()
    store.close()
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    assert path in files
    for file in files:  # the database and whatever WAL/shm is left
        data = file.read_bytes()
        assert CARD.encode() not in data and spaced.encode() not in data, file


def test_relay_links_are_looked_up_both_ways(store: SQLiteTicketStore) -> None:
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    store.link(ticket.id, ALICE.chat_id, 10, -1000, 500)  # merchant -> support
    store.link(ticket.id, -1000, 501, ALICE.chat_id, 11)  # staff -> merchant
    assert store.counterpart(ALICE.chat_id, 10) == (-1000, 500)
    assert store.counterpart(-1000, 500) == (ALICE.chat_id, 10)
    assert store.counterpart(-1000, 501) == (ALICE.chat_id, 11)
    assert store.counterpart(ALICE.chat_id, 11) == (-1000, 501)
    assert store.counterpart(ALICE.chat_id, 500) is None  # same id, other chat
    assert store.counterpart(-1000, 999) is None


def test_outbox(store: SQLiteTicketStore) -> None:
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    first = store.enqueue(ticket.id, "to_support", ALICE.chat_id, 10)
    second = store.enqueue(ticket.id, "to_merchant", -1000, 20)
    third = store.enqueue(ticket.id, "to_support", ALICE.chat_id, 11)
    assert [(i.id, i.direction, i.source_chat, i.source_message, i.attempts, i.last_error)
            for i in store.pending()] == [(first, "to_support", 7, 10, 0, ""), (second, "to_merchant", -1000, 20, 0, ""),
                                          (third, "to_support", 7, 11, 0, "")]
    store.delivered(first)
    store.attempt_failed(second, "timeout", give_up=False)
    store.attempt_failed(second, "timeout again", give_up=False)
    store.attempt_failed(third, "chat not found", give_up=True)
    pending = store.pending()
    assert [(i.id, i.attempts, i.last_error) for i in pending] == [(second, 2, "timeout again")]
    store.attempt_failed(second, "blocked", give_up=True)
    assert store.pending() == []


def test_everything_survives_a_restart(path: Path) -> None:
    store = SQLiteTicketStore(path)
    ticket, _ = store.open_ticket(ALICE, CONTEXT)
    ticket = store.set_topic(ticket.id, 100, None)
    ticket = store.set_status(ticket.id, Status.WAITING_SUPPORT)
    store.add_transcript(ticket.id, "merchant", "hello")
    store.link(ticket.id, 7, 10, -1000, 500)
    item = store.enqueue(ticket.id, "to_merchant", -1000, 501)
    store.close()

    reopened = SQLiteTicketStore(path)
    assert reopened.get(ticket.id) == ticket
    assert reopened.get(ticket.id).context == CONTEXT  # type: ignore[union-attr]
    assert isinstance(reopened.get(ticket.id).context.flow_path, tuple)  # type: ignore[union-attr]
    assert reopened.open_ticket(ALICE, CONTEXT) == (ticket, False)
    assert reopened.by_topic(100) == ticket
    assert [e.text for e in reopened.transcript(ticket.id)] == ["hello"]
    assert reopened.counterpart(-1000, 500) == (7, 10)
    assert [i.id for i in reopened.pending()] == [item]
    reopened.close()


def test_active_lists_tickets_not_closed_oldest_first(store: SQLiteTicketStore) -> None:
    merchants = [Merchant(n, n, f"m{n}") for n in (30, 10, 20)]
    tickets = [store.open_ticket(m, CONTEXT)[0] for m in merchants]
    store.set_status(tickets[1].id, Status.CLOSED)
    store.set_status(tickets[2].id, Status.WAITING_MERCHANT)
    assert [t.id for t in store.active()] == [tickets[0].id, tickets[2].id]
    reopened, _ = store.open_ticket(merchants[1], CONTEXT)
    assert [t.id for t in store.active()] == [tickets[0].id, tickets[2].id, reopened.id]


def test_unknown_ids_raise_key_error(store: SQLiteTicketStore) -> None:
    store.open_ticket(ALICE, CONTEXT)
    for call in (lambda: store.set_status(999, Status.CLOSED), lambda: store.set_topic(999, 1, None),
                 lambda: store.rate(999, 1), lambda: store.add_transcript(999, "bot", "x"),
                 lambda: store.link(999, 1, 2, 3, 4), lambda: store.enqueue(999, "to_support", 1, 2),
                 lambda: store.delivered(999), lambda: store.attempt_failed(999, "x", give_up=True)):
        with pytest.raises(KeyError):
            call()
