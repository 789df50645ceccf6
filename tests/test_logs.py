"""Secrets never reach a log line: the token anywhere in a record (tracebacks included), and the
password of DATABASE_URL / REDIS_URL even in the fragments a malformed URL is reported in."""

from __future__ import annotations

import logging

import pytest

from bot.logs import Redactor, setup_logging, url_secrets
from bot.storage.db import StoreUnavailable

TOKEN = "123456:ABCDEFGHIJKLMNOP"


def test_a_traceback_carrying_the_token_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(secrets=[TOKEN])
    log = logging.getLogger("posbot.test")
    log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:  # what a failed file download raises: the URL, token and all, in the exception's text
        raise OSError(f"404, message='Not Found', url='https://api.telegram.org/file/bot{TOKEN}/documents/f1'")
    except OSError:
        log.exception("update 7 failed")
    log.error("stack", stack_info=True, extra={"token": TOKEN})
    err = capsys.readouterr().err
    assert TOKEN not in err
    assert "bot***/getMe" in err and "file/bot***/documents/f1" in err and "Traceback" in err


@pytest.mark.parametrize(("url", "fragments"), [
    ("postgresql://posbot:p@ss w%rd@127.0.0.1:1/db", ["ss w%rd", "w%rd", "p@ss w%rd"]),
    ("postgresql://posbot:s3cr%t!pw@db.example:5432/posbot", ["s3cr%t!pw", "t!pw"]),
    ("redis://:hunter2/x@127.0.0.1:6379/0", ["hunter2/x", "hunter2"]),
    ("postgresql://posbot:pass%40word@host/db", ["pass%40word", "pass@word"]),
])
def test_a_url_password_and_its_fragments_are_secrets(url: str, fragments: list[str]) -> None:
    redact = Redactor(url_secrets(url))
    for fragment in fragments:
        assert redact(f'parser said: "{fragment}@127.0.0.1"') == 'parser said: "***@127.0.0.1"', fragment
    assert redact(f"connecting to {url}") == "connecting to ***"
    assert redact("connection refused: address in use") == "connection refused: address in use"


def test_no_password_no_secret_but_the_url() -> None:
    assert url_secrets("redis://127.0.0.1:6379/0") == ["redis://127.0.0.1:6379/0"]


async def test_psycopg_reporting_a_malformed_url_leaks_no_fragment(capsys: pytest.CaptureFixture[str]) -> None:
    """The real driver and pool: each failed attempt is logged with a piece of the password in it."""
    pytest.importorskip("psycopg_pool")
    from bot.storage.postgres import PostgresDatabase

    url = "postgresql://posbot:p@ss w%rd@127.0.0.1:1/db"
    setup_logging(secrets=url_secrets(url))
    with pytest.raises(StoreUnavailable):
        await PostgresDatabase.connect(url, wait=1.5)
    err = capsys.readouterr().err
    assert "error connecting" in err  # the pool did log its attempts
    assert "ss w" not in err and "w%rd" not in err


@pytest.mark.parametrize("url", [
    "postgresql://posbot:pa%40ss%20w%25rd@127.0.0.1:5432/posbot?sslmode=require",
    "postgresql:///posbot?host=/var/run/postgresql",
    "postgresql://posbot:pw@db1:5432,db2:5432/posbot",
    "postgresql://posbot:pw@[::1]:5432/posbot",
    "redis://:pw@127.0.0.1:6379/0",
    "rediss://user:pw@cache.internal:6380/1",
    "unix:///run/redis/redis.sock?db=0",
])
def test_well_formed_store_urls_are_accepted(url: str) -> None:
    from bot.settings.stores import load_store_settings

    name = "redis_url" if url.startswith(("redis", "unix")) else "database_url"
    settings = load_store_settings(_env_file=None, **{name: url})
    assert getattr(settings, name).get_secret_value() == url


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://posbot:Zq7@Kx9@127.0.0.1/db", "holds more than one @"),
    ("postgresql://posbot:Zq7/Kx9@127.0.0.1/db", "holds more than one @"),
    ("postgresql://posbot:Zq7%Kx9@127.0.0.1/db", "holds a % that is not an escape"),
    ("postgresql://posbot:Zq7 Kx9@127.0.0.1/db", "holds a space"),
    ("redis://:Zq7/Kx9@127.0.0.1:6379/0", "holds more than one @"),
    ("postgresql://posbot:Zq7Kx9@127.0.0.1:54x2/db", "not a port number"),
    ("mysql://posbot:Zq7Kx9@127.0.0.1/db", "must start with postgresql://"),
])
def test_malformed_store_urls_are_refused_without_repeating_them(url: str, message: str) -> None:
    from bot.settings.stores import ConfigError, load_store_settings

    name = "redis_url" if url.startswith("redis") else "database_url"
    with pytest.raises(ConfigError) as refused:
        load_store_settings(_env_file=None, **{name: url})
    assert message in str(refused.value)
    assert "Zq7" not in str(refused.value) and "Kx9" not in str(refused.value)
