"""Log lines an operator can follow: one JSON object per line, each carrying the request id it belongs to.

A request id names one piece of work from the API call that began it to the last queue message it caused:
the API takes API Gateway's (or a client's sane `X-Request-Id`), every queue message carries it, and each
worker binds the id of the message it handles, so a CloudWatch Logs Insights query on `request_id` finds
the whole story across functions. A scheduled run makes a fresh one. The id lives in a `ContextVar`, so
concurrent requests of `chalice local` (threads) do not see each other's.

Standard library only: the API's cold start imports this module.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, TextIO

if TYPE_CHECKING:
    from chalicelib.config import Settings

LogFormat = Literal["json", "text"]

_request_id: ContextVar[str] = ContextVar("request_id", default="")
# A client's X-Request-Id is echoed into headers and logs: a short token of safe characters, or ignored.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# What every LogRecord has; anything else on a record came from `extra=` and belongs in the JSON line.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def current_request_id() -> str:
    """The request id of the work this code runs for ("" outside any)."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: object) -> str | None:
    """`value` if it may serve as a request id (a token of 8 to 128 safe characters), else None."""
    return value if isinstance(value, str) and _SANE_REQUEST_ID.fullmatch(value) else None


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    """Run the block as part of `request_id` (a new id if it is empty); restores the previous one after."""
    bound = request_id or new_request_id()
    token = _request_id.set(bound)
    try:
        yield bound
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id, for either format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, request_id, then any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or _request_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and (key == "_aws" or not key.startswith("_")):  # `_aws`: metrics (EMF)
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def log_format_of(settings: Settings) -> LogFormat:
    """`LOG_FORMAT` if set; else JSON on the deployed stages and text on the local one (a console)."""
    if settings.log_format is not None:
        return settings.log_format
    return "text" if settings.stage == "local" else "json"


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Make the root logger write `LOG_FORMAT` lines at `LOG_LEVEL`, replacing the handlers it had.

    Lambda's runtime installs its own handler before our code runs; it is replaced, so there is one line
    per record and it is ours. Called once per process by app.py, which every Lambda, `chalice local` and
    the local stack's pump import; calling again replaces.
    """
    as_json = log_format_of(settings) == "json"
    # JSON to stdout, where Lambda's own lines go; text to stderr, keeping a console command's stdout its own.
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout if as_json else sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for noisy in ("botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
