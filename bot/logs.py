"""Logging set-up for the long-running bot: one line per record, secrets redacted."""

from __future__ import annotations

import logging
import os
from typing import Iterable


class Redact(logging.Filter):
    """Replaces every secret (the bot token above all) in a record's final message."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def setup_logging(*, secrets: Iterable[str] = ()) -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler()
    # the process id tells workers apart when several share one log (posbot run --workers N)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redact(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
