"""Open311 API keys: one per client system, stored as a hash (only the prefix is kept in clear),
created, revoked and rotated with an Open311KeyEvent each; and the check of a key that a POST
presents (cases/open311.py)."""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.db import transaction
from django.utils import timezone

from geogrid.accounts.actors import Actor
from geogrid.cases.models import Open311Key, Open311KeyAction, Open311KeyEvent
from geogrid.core.logs import log_on_commit

logger = logging.getLogger(__name__)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def create_open311_key(*, name: str, actor: Actor | None = None) -> tuple[Open311Key, str]:
    """A new API key for a client system; returns (record, the key). Only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Give the client system a name.")
    if Open311Key.objects.filter(name=name).exists():
        raise ValueError(f"A key named {name!r} exists already; choose another name.")
    key = secrets.token_urlsafe(24)
    record = Open311Key.objects.create(name=name, key_hash=hash_key(key), prefix=key[:6])
    log_on_commit(
        logger, "open311 key created", key_id=record.pk, actor_id=getattr(actor, "pk", None)
    )
    Open311KeyEvent.objects.create(
        key=record, action=Open311KeyAction.CREATED, actor=actor, details={"prefix": record.prefix}
    )
    return record, key


@transaction.atomic
def revoke_open311_key(*, key: Open311Key, actor: Actor | None = None) -> bool:
    """Stop accepting a client system's key (at once, in every worker); the record stays, so
    its cases keep naming their source. Returns False when it was revoked already."""
    updated = Open311Key.objects.filter(pk=key.pk, active=True).update(
        active=False,
        revoked_at=timezone.now(),
        revoked_by=getattr(actor, "username", "") or "manage.py",
    )
    key.refresh_from_db()
    if updated:
        log_on_commit(
            logger, "open311 key revoked", key_id=key.pk, actor_id=getattr(actor, "pk", None)
        )
        Open311KeyEvent.objects.create(
            key=key, action=Open311KeyAction.REVOKED, actor=actor, details={"prefix": key.prefix}
        )
    return bool(updated)


@transaction.atomic
def rotate_open311_key(*, key: Open311Key, actor: Actor | None = None, reason: str = "") -> str:
    """A new secret for the same client system: the old secret stops working at once, the
    record (and the cases that name it as their source) stays, active again if it was revoked.
    Locks the key row; writes an Open311KeyEvent "rotated" with both prefixes and the reason.
    Returns the new key (shown once; only its hash is stored)."""
    record = Open311Key.objects.select_for_update().get(pk=key.pk)
    old_prefix = record.prefix
    secret = secrets.token_urlsafe(24)
    record.key_hash, record.prefix = hash_key(secret), secret[:6]
    record.active, record.revoked_at, record.revoked_by = True, None, ""
    record.save(update_fields=["key_hash", "prefix", "active", "revoked_at", "revoked_by"])
    Open311KeyEvent.objects.create(
        key=record,
        action=Open311KeyAction.ROTATED,
        actor=actor,
        details={"old_prefix": old_prefix, "prefix": record.prefix, "reason": reason},
    )
    key.refresh_from_db()
    return secret


def open311_key_accepts(record: Open311Key, key: str) -> bool:
    """Whether `key` is the secret of this active record (what an Open311 POST would check)."""
    return record.active and record.key_hash == hash_key(key.strip())


def open311_key_for(key: str) -> Open311Key | None:
    if not key:
        return None
    return Open311Key.objects.filter(key_hash=hash_key(key.strip()), active=True).first()
