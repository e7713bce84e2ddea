"""``/api/v1/webhooks`` (admin): subscribe URLs to events, list and remove them, read the delivery log.

A removed webhook is deactivated, not erased: its delivery log stays readable and its pending deliveries stop.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import func, select, update

from qa_engine.app.access import as_utc, require_role
from qa_engine.app.audit import record
from qa_engine.app.models import Webhook, WebhookDelivery

from ..deps import CurrentUser, RowId, SessionDep
from ..webhook_schemas import DeliveryList, DeliveryPublic, WebhookCreate, WebhookCreated, WebhookList, WebhookPublic

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _public(hook: Webhook) -> WebhookPublic:
    return WebhookPublic(id=hook.id, url=hook.url, events=list(hook.events), active=hook.active,
                         created_by=hook.created_by, created_at=as_utc(hook.created_at))


def _get(session: SessionDep, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"webhook {webhook_id} not found")
    return hook


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, session: SessionDep, user: CurrentUser) -> WebhookCreated:
    """Subscribe a URL (admin). The answer carries the signing secret; it is not shown again."""
    require_role(user, "admin")
    secret = body.secret or secrets.token_urlsafe(32)
    hook = Webhook(url=body.url, events=list(body.events), secret=secret, active=True, created_by=user.name)
    session.add(hook)
    session.flush()
    record(session, user.name, "webhook.create", after={"id": hook.id, "url": hook.url, "events": hook.events})
    session.commit()
    return WebhookCreated(**_public(hook).model_dump(), secret=secret)


@router.get("", response_model=WebhookList)
def list_webhooks(session: SessionDep, user: CurrentUser, include_removed: bool = False) -> WebhookList:
    """The subscriptions (admin), without their secrets."""
    require_role(user, "admin")
    query = select(Webhook).order_by(Webhook.id)
    if not include_removed:
        query = query.where(Webhook.active.is_(True))
    return WebhookList(items=[_public(h) for h in session.scalars(query)])


@router.get("/{webhook_id}", response_model=WebhookPublic)
def read_webhook(webhook_id: RowId, session: SessionDep, user: CurrentUser) -> WebhookPublic:
    require_role(user, "admin")
    return _public(_get(session, webhook_id))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    """Stop sending to this webhook (admin); deliveries still pending are marked failed."""
    require_role(user, "admin")
    hook = _get(session, webhook_id)
    if not hook.active:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"webhook {webhook_id} not found")
    hook.active = False
    session.execute(update(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id,
                                                  WebhookDelivery.status == "pending")
                    .values(status="failed", last_error="webhook deleted"))
    record(session, user.name, "webhook.delete", before={"id": hook.id, "url": hook.url, "events": hook.events})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(webhook_id: RowId, session: SessionDep, user: CurrentUser,
                    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query(alias="status")] = None,
                    payload: bool = False,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> DeliveryList:
    """The delivery log of one webhook (admin), newest first; ``payload=true`` includes what was sent."""
    require_role(user, "admin")
    hook = _get(session, webhook_id)
    where = [WebhookDelivery.webhook_id == hook.id]
    if state is not None:
        where.append(WebhookDelivery.status == state)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.scalars(select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id.desc())
                           .limit(limit).offset(offset))
    items = [DeliveryPublic(id=d.id, event=d.event, call_id=d.call_pk, status=d.status, attempts=d.attempts,
                            last_status_code=d.last_status_code, last_error=d.last_error,
                            created_at=as_utc(d.created_at), delivered_at=as_utc(d.delivered_at),
                            next_attempt_at=as_utc(d.next_attempt_at) if d.status == "pending" else None,
                            payload=d.payload if payload else None)
             for d in rows]
    return DeliveryList(items=items, total=total, limit=limit, offset=offset)
