"""Audio upload at the edge (``multipart/form-data``): capacity check before reading, bounded streaming, form parts.

What happens to the recording then (checks, durable storage, duplicates, queueing) is the application's
:func:`qa_engine.app.call_uploads.accept_recording`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import HTTPException, Request, status
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from qa_engine.app import call_fields, jobs
from qa_engine.app.call_uploads import FILE_FIELD, FORM_SOURCE, too_large
from qa_engine.app.settings import Settings

SOURCE = FORM_SOURCE
FORM_FIELDS = ("agent", "call_id", "team", "started_at", "agent_channel", "language", "pack")
FORM_SLACK_BYTES = 256 * 1024  # room for the metadata fields and part headers around the file
RETRY_AFTER_S = 30


class _TooLarge(Exception):
    pass


def queue_full(queued: int) -> HTTPException:
    return HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                         detail=f"the processing queue is full ({queued} calls waiting); retry later",
                         headers={"Retry-After": str(RETRY_AFTER_S)})


def check_capacity(session: Session, settings: Settings, content_length: str | None) -> None:
    """413 for a declared oversized body and 503 for a full queue, before a byte of the body is read."""
    limit = int(settings.max_upload_mb * 1024 * 1024) + FORM_SLACK_BYTES
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise too_large(settings.max_upload_mb)
    queued = jobs.queued_count(session)
    if queued >= settings.max_queue:
        raise queue_full(queued)


async def read_form(request: Request, settings: Settings) -> FormData:
    """The multipart form, refusing bodies over the upload limit while they stream in (413)."""
    limit = int(settings.max_upload_mb * 1024 * 1024) + FORM_SLACK_BYTES

    async def bounded() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=1, max_fields=len(FORM_FIELDS))
    try:
        return await parser.parse()
    except _TooLarge:
        raise too_large(settings.max_upload_mb) from None
    except MultiPartException as exc:
        raise call_fields.unprocessable(f"{SOURCE}: {exc.message} (expected one part '{FILE_FIELD}' with the "
                                        f"audio and the fields {', '.join(FORM_FIELDS)})") from None


def split_form(form: FormData) -> tuple[dict[str, str], UploadFile]:
    """The metadata fields and the audio part; 422 for a missing file or an unknown field."""
    fields: dict[str, str] = {}
    upload: UploadFile | None = None
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name != FILE_FIELD:
                raise call_fields.unprocessable(f"{SOURCE}: the audio must be sent in the part '{FILE_FIELD}', "
                                                f"not {name!r}")
            upload = value
        elif name == FILE_FIELD:
            raise call_fields.unprocessable(f"{SOURCE}: field '{FILE_FIELD}' must be a file upload (audio), "
                                            "not a text value")
        elif name not in FORM_FIELDS:
            raise call_fields.unprocessable(f"{SOURCE}: unknown field {name!r} (known: {', '.join(FORM_FIELDS)})")
        else:
            fields[name] = value
    if upload is None:
        raise call_fields.unprocessable(f"{SOURCE}: missing file part '{FILE_FIELD}' (the call recording)")
    return fields, upload
