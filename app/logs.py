"""Structured (key=value) logging, with secrets kept out of every line.

Access logs never carry query strings' tickets, and nothing logs message bodies, tokens or
health data: log calls pass only ids, codes and error types in `extra`.
"""

from __future__ import annotations

import logging
import re

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
_SECRET_QUERY = re.compile(r"(ticket|token|access_token)=[^&\s\"]+", re.IGNORECASE)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            base += " " + " ".join(f"{k}={v!r}" for k, v in sorted(extras.items()))
        return base


class RedactQuery(logging.Filter):
    """Strip single-use tickets (and any token someone put in a URL) from access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1=***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
