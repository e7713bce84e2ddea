"""Structured logs for ``serve`` and ``worker``: one JSON object per line (or plain text), extra fields kept.

Every line is PII-masked (:class:`PiiLogFilter`): phone, ID and card numbers in messages, arguments, extra
fields and exceptions never reach a log. Records of our own loggers are masked already when made
(:mod:`qa_engine.log_masking`); the filter covers other libraries' records and extra fields.

``logger.info("job done", extra={"job_id": 7})`` becomes
``{"time": "...Z", "level": "INFO", "logger": "qa_engine.app.worker", "message": "job done", "job_id": 7}``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from qa_engine.log_masking import mask_record
from qa_engine.pii import mask_data

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "qa-engine"
#: Name of the plain stderr handler every CLI command starts with; the service's handler replaces it.
CLI_LOG_HANDLER = "qa-engine-cli"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class PiiLogFilter(logging.Filter):
    """Masks phone, ID and card numbers and e-mail addresses in every record a handler writes (never drops one).

    The message is formatted with its arguments and masked (:func:`qa_engine.pii.mask_text`), then stands alone
    (``args`` emptied); string values of extra fields and the exception's text are masked too. Installed on the
    service's handler (:func:`configure_logging`) and the CLI's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_masked", False):
            return True
        mask_record(record)
        for key, value in _extras(record).items():
            if isinstance(value, (str, dict, list, tuple)):
                setattr(record, key, mask_data(value))
        record._pii_masked = True
        return True


def add_pii_filter(handler: logging.Handler) -> logging.Handler:
    """Install :class:`PiiLogFilter` on ``handler`` (once)."""
    if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
        handler.addFilter(PiiLogFilter())
    return handler


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            doc.setdefault(key, value)
        if record.exc_info:
            doc["exception"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def configure_logging(fmt: Literal["json", "text"] = "json", level: int | str = "INFO",
                      stream: TextIO | None = None) -> logging.Handler:
    """Send every log record (ours, uvicorn's, alembic's) to ``stream`` (stderr) in ``fmt``; idempotent.

    uvicorn's own access log is silenced: the service's middleware writes one richer line per request.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    add_pii_filter(handler)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() in (_HANDLER_NAME, CLI_LOG_HANDLER)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    return handler
