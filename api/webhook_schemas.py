"""Pydantic models at the edge of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: the events of :mod:`qa_engine.app.events` (a test checks both lists agree)
EventName = Literal["call.scored", "finding.critical", "review.disputed", "review.resolved", "evaluation.submitted"]


class WebhookCreate(BaseModel):
    """A subscription; without ``secret`` one is generated and shown once in the answer."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048, description="http or https URL that receives the POSTs")
    events: list[EventName] = Field(min_length=1, description="any of call.scored, finding.critical, "
                                    "review.disputed, review.resolved, evaluation.submitted")
    secret: str | None = Field(default=None, min_length=16, max_length=128,
                               description="HMAC key (at least 16 characters); generated when omitted")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"only http and https URLs are accepted, got scheme {parts.scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if parts.username or parts.password:
            raise ValueError("put no credentials in the URL; the signature authenticates the sender")
        return value

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: datetime | None


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="shown only in this answer: keep it to verify X-QA-Signature")


class WebhookList(BaseModel):
    items: list[WebhookPublic]


class DeliveryPublic(BaseModel):
    id: int
    event: str
    call_id: str | None = Field(description="the call's id in this service")
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: dict[str, Any] | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
    total: int
    limit: int
    offset: int
