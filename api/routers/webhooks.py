"""``/api/v1/webhooks`` (admin): subscribe URLs to events, list and remove them, read the delivery log.

A removed webhook is deactivated, not erased: its delivery log stays readable and its pending deliveries stop.
The rules are in :mod:`qa_engine.app.webhook_admin`; here requests are parsed and answers shaped.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from qa_engine.app import webhook_admin
from qa_engine.app.access import as_utc
from qa_engine.app.models import Webhook, WebhookDelivery
from qa_engine.app.webhook_targets import AllowList

from ..deps import CurrentUser, RowId, SessionDep, SettingsDep
from ..webhook_schemas import DeliveryList, DeliveryPublic, WebhookCreate, WebhookCreated, WebhookList, WebhookPublic

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _public(hook: Webhook) -> WebhookPublic:
    return WebhookPublic(id=hook.id, url=hook.url, events=list(hook.events), active=hook.active,
                         created_by=hook.created_by, created_at=as_utc(hook.created_at))


def _delivery(d: WebhookDelivery, payload: bool) -> DeliveryPublic:
    return DeliveryPublic(id=d.id, event=d.event, call_id=d.call_pk, status=d.status, attempts=d.attempts,
                          last_status_code=d.last_status_code, last_error=d.last_error,
                          created_at=as_utc(d.created_at), delivered_at=as_utc(d.delivered_at),
                          next_attempt_at=as_utc(d.next_attempt_at) if d.status == "pending" else None,
                          payload=d.payload if payload else None)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated,
             responses={422: {"description": "a bad URL, or one that reaches an internal address"}})
def create_webhook(body: WebhookCreate, session: SessionDep, user: CurrentUser,
                   settings: SettingsDep) -> WebhookCreated:
    """Subscribe a URL (admin). The answer carries the signing secret; it is not shown again.

    Internal addresses (loopback, private, link-local such as 169.254.169.254...) are refused with 422 unless
    ``QA_ENGINE_WEBHOOK_ALLOW_HOSTS`` names the host or its network."""
    hook, secret = webhook_admin.create_webhook(session, user, body.url, body.events, body.secret,
                                                allow=AllowList.parse(settings.webhook_allow_hosts))
    return WebhookCreated(**_public(hook).model_dump(), secret=secret)


@router.get("", response_model=WebhookList)
def list_webhooks(session: SessionDep, user: CurrentUser, include_removed: bool = False) -> WebhookList:
    """The subscriptions (admin), without their secrets."""
    hooks = webhook_admin.list_webhooks(session, user, include_removed=include_removed)
    return WebhookList(items=[_public(h) for h in hooks])


@router.get("/{webhook_id}", response_model=WebhookPublic)
def read_webhook(webhook_id: RowId, session: SessionDep, user: CurrentUser) -> WebhookPublic:
    return _public(webhook_admin.get_webhook(session, user, webhook_id))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    """Stop sending to this webhook (admin); deliveries still pending are marked failed."""
    webhook_admin.remove_webhook(session, user, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(webhook_id: RowId, session: SessionDep, user: CurrentUser,
                    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query(alias="status")] = None,
                    payload: bool = False,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> DeliveryList:
    """The delivery log of one webhook (admin), newest first; ``payload=true`` includes what was sent."""
    rows, total = webhook_admin.deliveries(session, user, webhook_id, status=state, limit=limit, offset=offset)
    return DeliveryList(items=[_delivery(d, payload) for d in rows], total=total, limit=limit, offset=offset)
