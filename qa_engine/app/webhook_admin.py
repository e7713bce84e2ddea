"""Use cases for managing webhook subscriptions (admins only): subscribe, list, remove, read the delivery log.

Kept apart from :mod:`qa_engine.app.webhooks` (the dispatcher) so managing subscriptions does not load the HTTP
client. A removed webhook is deactivated, not erased: its delivery log stays readable and its pending deliveries
are marked failed, so nothing is sent to a URL an admin took away.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qa_engine.app.access import require_role
from qa_engine.app.audit import record
from qa_engine.app.errors import Invalid, NotFound
from qa_engine.app.models import User, Webhook, WebhookDelivery
from qa_engine.app.webhook_targets import AllowList, UnsafeTarget, check_url

SECRET_BYTES = 32


def _get(session: Session, webhook_id: int, *, active: bool = False) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or (active and not hook.active):
        raise NotFound(f"webhook {webhook_id} not found")
    return hook


def create_webhook(session: Session, user: User, url: str, events: Sequence[str],
                   secret: str | None = None, *, allow: AllowList | None = None) -> tuple[Webhook, str]:
    """Subscribe ``url`` to ``events``; returns the webhook and its signing secret (generated when not given).

    The secret is stored for signing and returned only here: the caller shows it once.

    Raises:
        Invalid: the URL's host is, or resolves to, an internal address that ``allow`` does not name (see
            :mod:`qa_engine.app.webhook_targets`; checked again before every delivery).
    """
    require_role(user, "admin")
    try:
        check_url(url, allow or AllowList())
    except UnsafeTarget as exc:
        raise Invalid(f"field 'url': {exc}") from None
    secret = secret or secrets.token_urlsafe(SECRET_BYTES)
    hook = Webhook(url=url, events=list(events), secret=secret, active=True, created_by=user.name)
    session.add(hook)
    session.flush()
    record(session, user.name, "webhook.create", after={"id": hook.id, "url": hook.url, "events": hook.events})
    session.commit()
    return hook, secret


def list_webhooks(session: Session, user: User, *, include_removed: bool = False) -> list[Webhook]:
    """The subscriptions by id (removed ones only when asked)."""
    require_role(user, "admin")
    query = select(Webhook).order_by(Webhook.id)
    if not include_removed:
        query = query.where(Webhook.active.is_(True))
    return list(session.scalars(query))


def get_webhook(session: Session, user: User, webhook_id: int) -> Webhook:
    """One subscription, removed or not; NotFound when there is no such id."""
    require_role(user, "admin")
    return _get(session, webhook_id)


def remove_webhook(session: Session, user: User, webhook_id: int) -> None:
    """Deactivate a webhook and fail its pending deliveries; a webhook removed already is NotFound."""
    require_role(user, "admin")
    hook = _get(session, webhook_id, active=True)
    hook.active = False
    session.execute(update(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id,
                                                  WebhookDelivery.status == "pending")
                    .values(status="failed", last_error="webhook deleted"))
    record(session, user.name, "webhook.delete", before={"id": hook.id, "url": hook.url, "events": hook.events})
    session.commit()


def deliveries(session: Session, user: User, webhook_id: int, *, status: str | None, limit: int,
               offset: int) -> tuple[list[WebhookDelivery], int]:
    """One page of a webhook's delivery log, newest first, and how many entries match in all."""
    require_role(user, "admin")
    hook = _get(session, webhook_id)
    where = [WebhookDelivery.webhook_id == hook.id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.scalars(select(WebhookDelivery).where(*where).order_by(WebhookDelivery.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


__all__ = ["create_webhook", "deliveries", "get_webhook", "list_webhooks", "remove_webhook"]
