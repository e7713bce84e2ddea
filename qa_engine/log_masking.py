"""PII masking of the log records our code makes, as they are made.

Our log lines quote file names (call centres name recordings after the caller's number), call ids and decoder
messages. The handlers the service and the CLI install mask what they write (``PiiLogFilter`` in
``qa_engine.app.logging_config``), but a record goes to every handler: pytest's, a log configuration's, a log
shipper's, the default one of a spawned batch worker. So a record made by a ``qa_engine`` or ``api`` logger is masked
when it is made (:func:`install`, run when ``qa_engine`` is imported), before any handler sees it.
"""

from __future__ import annotations

import logging
from typing import Any

#: the top-level loggers whose records are masked when made: ours (other libraries' records are left as they are)
OWN_LOGGERS = frozenset({"qa_engine", "api"})

_PLAIN = logging.Formatter()


def mask_record(record: logging.LogRecord) -> None:
    """Mask ``record``'s message (formatted with its arguments, which it then stands without) and exception text."""
    from qa_engine.pii import mask_text  # on the first record: ``import qa_engine`` stays light

    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: logging reports it when a handler formats the record
        return
    masked = mask_text(message)
    if masked != message or record.args:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_text(_PLAIN.formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_text(record.exc_text)


def install() -> None:
    """Make every record of :data:`OWN_LOGGERS` masked (the process's record factory, chained; once)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_pii", False):
        return

    def make_record(name: str, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(name, *args, **kwargs)
        if name.partition(".")[0] in OWN_LOGGERS:
            mask_record(record)
        return record

    make_record.masks_pii = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


__all__ = ["OWN_LOGGERS", "install", "mask_record"]
