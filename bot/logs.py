"""Logging set-up for posbot's commands: one line per record, secrets redacted from all of it."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from urllib.parse import unquote

MASK = "***"
MIN_FRAGMENT = 4
"""Shortest piece of a password redacted on its own: shorter ones would mask ordinary words."""
_URL_DELIMITERS = re.compile(r"[@/:?#%\s]")
"""Where URL parsers cut a malformed password into pieces (and print the pieces in their errors)."""


class Redactor:
    """Replaces every secret in a text, longest first (a password before its fragments)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted record: the message, and the traceback and stack appended to it
    (a failed file download puts the token in the URL inside the exception's text)."""

    def __init__(self, fmt: str, redactor: Redactor) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(super().format(record))


def url_secrets(url: str) -> list[str]:
    """The secrets in a DATABASE_URL or REDIS_URL: the URL itself, and its password as written,
    decoded, and in the pieces a parser cuts a malformed one into (a password holding `@`, `%`, `/`
    or a space is reported by psycopg or redis-py a fragment at a time)."""
    found = [url]
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")  # the last @: a password may hold unencoded ones
    if not at:
        return found
    _, colon, password = userinfo.partition(":")
    if not colon or not password:
        return found
    found += [password, unquote(password)]
    cuts = [0] + [m.start() for m in _URL_DELIMITERS.finditer(password)] + [len(password)]
    for i, start in enumerate(cuts):
        for end in cuts[i + 1:]:
            for piece in (password[start:end], password[start:end].strip("@/:?#% \t")):
                if len(piece) >= MIN_FRAGMENT:
                    found.append(piece)
    return found


def setup_logging(*, secrets: Iterable[str] = (), level: str = "INFO") -> None:
    """One handler on stderr for every logger; LOG_LEVEL overrides `level`."""
    handler = logging.StreamHandler()
    # the process id tells workers apart when several share one log (posbot run --workers N)
    handler.setFormatter(RedactingFormatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
                                            Redactor(secrets)))
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", level).upper(), handlers=[handler], force=True)
